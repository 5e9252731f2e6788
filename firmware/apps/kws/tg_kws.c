/* tinygen keyword spotting pipeline (see tg_kws.h and docs/kws.md). */
#include "tg_kws.h"

#include <string.h>

#include "kws_frontend_model.h"
#include "tg_board.h"
#include "tg_runtime.h"

#define FRAME_BYTES (KWS_WINDOW_FRAMES * KWS_FEATURES)

#if KWS_STRIDE_SAMPLES > KWS_WINDOW_SAMPLES || KWS_STRIDE_SAMPLES < 1
#error "the frame stride must be between 1 and the frame length"
#endif
#if KWS_FRONTEND_INPUT0_ELEMENTS != KWS_WINDOW_SAMPLES || KWS_FRONTEND_OUTPUT0_BYTES != KWS_FEATURES
#error "kws_config.h does not match the frontend model"
#endif

static const char *const labels[KWS_NUM_CLASSES] = KWS_LABELS;
static const uint8_t ignored[KWS_NUM_CLASSES] = KWS_IGNORED;

static int16_t audio[KWS_WINDOW_SAMPLES]; /* the frame being filled; `have` samples valid */
static uint32_t have;
static int8_t window[FRAME_BYTES];        /* feature ring, `head` = oldest frame */
static uint32_t head, filled, since_inference;
static int32_t recent[KWS_AVERAGE_WINDOW][KWS_NUM_CLASSES]; /* ring of (q - zero_point) */
static uint32_t recent_next, recent_count, suppress;
static tg_kws_counters counts;

const char *tg_kws_label(uint32_t index) { return index < KWS_NUM_CLASSES ? labels[index] : ""; }

const tg_kws_counters *tg_kws_counts(void) { return &counts; }

int tg_kws_init(void) {
  kws_frontend_init();
  tg_status s = tg_runtime_init();
  if (s != TG_OK) return (int)s;
  const tg_tensor_info *in = tg_runtime_input_info(0);
  const tg_tensor_info *out = tg_runtime_output_info(0);
  /* The generator checked these; a mismatch here means a stale or foreign model was linked. */
  if (!in || !out || in->bytes != FRAME_BYTES || out->bytes < KWS_NUM_CLASSES) return (int)TG_ERROR;
  return tg_kws_reset();
}

int tg_kws_reset(void) {
  kws_frontend_reset();
  tg_status s = tg_runtime_reset();
  have = head = filled = since_inference = 0;
  recent_next = recent_count = suppress = 0;
  memset(&counts, 0, sizeof counts);
  return (int)s;
}

static int32_t score_at(const void *out, uint32_t i) {
#if KWS_OUTPUT_UNSIGNED
  return (int32_t)((const uint8_t *)out)[i] - KWS_OUTPUT_ZERO_POINT;
#else
  return (int32_t)((const int8_t *)out)[i] - KWS_OUTPUT_ZERO_POINT;
#endif
}

/* Moving sum over the last KWS_AVERAGE_WINDOW inferences, threshold, suppression (pipeline.py). */
static void smooth(const void *out, uint32_t frame, const tg_kws_sink *sink) {
  for (uint32_t c = 0; c < KWS_NUM_CLASSES; c++) recent[recent_next][c] = score_at(out, c);
  recent_next = (recent_next + 1) % KWS_AVERAGE_WINDOW;
  if (recent_count < KWS_AVERAGE_WINDOW) recent_count++;
  if (suppress > 0) {
    suppress--;
    return;
  }
  if (recent_count < KWS_AVERAGE_WINDOW) return;
  int best = -1;
  int32_t best_sum = -1;
  for (uint32_t c = 0; c < KWS_NUM_CLASSES; c++) {
    int32_t sum = 0;
    for (uint32_t k = 0; k < KWS_AVERAGE_WINDOW; k++) sum += recent[k][c];
    if (!ignored[c] && sum >= KWS_THRESHOLD_SUM && sum > best_sum) {
      best = (int)c;
      best_sum = sum;
    }
  }
  if (best < 0) return;
  suppress = KWS_SUPPRESSION;
  tg_kws_detection d;
  d.index = (uint8_t)best;
  d.sum = best_sum;
  d.frame = frame;
  d.inference = counts.inferences - 1u;
  d.end_ms = (uint32_t)(((uint64_t)frame * KWS_STRIDE_SAMPLES + KWS_WINDOW_SAMPLES) * 1000u / KWS_SAMPLE_RATE);
  counts.detections++;
  if (sink && sink->detection) sink->detection(sink->ctx, &d);
}

static int frame_done(const tg_kws_sink *sink) {
  int8_t *slot = window + ((head + filled) % KWS_WINDOW_FRAMES) * KWS_FEATURES;
  if (filled == KWS_WINDOW_FRAMES) { /* full: overwrite the oldest */
    slot = window + head * KWS_FEATURES;
    head = (head + 1) % KWS_WINDOW_FRAMES;
  } else {
    filled++;
  }
  tg_cost_start();
  kws_frontend_invoke(audio, slot);
  counts.cost_frontend += tg_cost_read();
  uint32_t frame = counts.frames++;
  if (sink && sink->features) sink->features(sink->ctx, frame, slot);
  since_inference++;
  if (filled < KWS_WINDOW_FRAMES || since_inference < KWS_NEW_FRAMES_PER_INFERENCE) return 0;
  since_inference = 0;
  /* Oldest frame first, as the model was trained. */
  int8_t *in = (int8_t *)tg_runtime_input(0);
  uint32_t first = (KWS_WINDOW_FRAMES - head) * KWS_FEATURES;
  memcpy(in, window + head * KWS_FEATURES, first);
  memcpy(in + first, window, (size_t)head * KWS_FEATURES);
  tg_cost_start();
  tg_status s = tg_runtime_invoke();
  counts.cost_classifier += tg_cost_read();
  if (s != TG_OK) return (int)s;
  const void *out = tg_runtime_output(0);
  uint32_t inference = counts.inferences++;
  if (sink && sink->scores) sink->scores(sink->ctx, inference, frame, (const uint8_t *)out);
  smooth(out, frame, sink);
  return 0;
}

int tg_kws_push(const int16_t *samples, uint32_t n, const tg_kws_sink *sink) {
  counts.samples += n;
  while (n > 0) {
    uint32_t take = KWS_WINDOW_SAMPLES - have;
    if (take > n) take = n;
    memcpy(audio + have, samples, take * sizeof(int16_t));
    have += take;
    samples += take;
    n -= take;
    if (have < KWS_WINDOW_SAMPLES) break;
    int s = frame_done(sink);
    /* Keep the overlap: the next frame starts one stride later. */
    memmove(audio, audio + KWS_STRIDE_SAMPLES, (KWS_WINDOW_SAMPLES - KWS_STRIDE_SAMPLES) * sizeof(int16_t));
    have = KWS_WINDOW_SAMPLES - KWS_STRIDE_SAMPLES;
    if (s != 0) return s;
  }
  return 0;
}
