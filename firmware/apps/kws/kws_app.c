/* tinygen keyword-spotting app: audio in (serial KWS_PUSH frames, or the board's microphone),
 * detections out (serial events + LED). Answers the basic HIL commands through tg_hil_poll() and the
 * KWS commands 0x40-0x4F through the tg_hil_app_command() hook (docs/protocol.md, "KWS app"). */
#include <string.h>

#include "kws_mic.h"
#include "tg_app.h"
#include "tg_board.h"
#include "tg_hil.h"
#include "tg_kws.h"
#include "tg_link.h"

enum {
  KWS_CMD_INFO = 0x40,
  KWS_CMD_RESET = 0x41,
  KWS_CMD_PUSH = 0x42,
  KWS_EVENT_DETECTION = 0x48, /* unsolicited, seq TG_LINK_SEQ_NONE (microphone mode) */
};
enum { REC_FEATURES = 1, REC_SCORES = 2, REC_DETECTION = 3 };

#define PUSH_HEADER 36u
#define REC_FEATURES_SIZE (5u + KWS_FEATURES)
#define REC_SCORES_SIZE (9u + KWS_NUM_CLASSES)
#define DETECTION_BYTES 17u /* class u8, sum i32, frame u32, inference u32, end_ms u32 */
#define REC_DETECTION_SIZE (1u + DETECTION_BYTES)
/* Largest push whose reply always fits: n samples complete at most n / stride + 1 frames, each with
 * at most one inference and one detection. */
#define FRAME_RECORDS (REC_FEATURES_SIZE + REC_SCORES_SIZE + REC_DETECTION_SIZE)
#define MAX_FRAMES_PER_PUSH ((TG_LINK_MAX_PAYLOAD - PUSH_HEADER) / FRAME_RECORDS)
#define PUSH_BY_REPLY ((MAX_FRAMES_PER_PUSH - 1u) * KWS_STRIDE_SAMPLES)
#define PUSH_BY_REQUEST (TG_LINK_MAX_PAYLOAD / 2u)
#define MAX_PUSH_SAMPLES (PUSH_BY_REPLY < PUSH_BY_REQUEST ? PUSH_BY_REPLY : PUSH_BY_REQUEST)
#if MAX_FRAMES_PER_PUSH < 2
#error "TG_LINK_MAX_PAYLOAD is too small for the KWS push reply"
#endif
#define LED_ON_US 500000u

static int init_status;
static int mic_on = KWS_MIC; /* KWS_RESET with bit0 set turns the microphone off: serial audio only */
static uint32_t led_since;
static int led_on;

/* A resent PUSH or RESET (same seq) must not run twice: its last reply is replayed. */
static uint8_t cache[TG_LINK_MAX_PAYLOAD];
static uint16_t cache_len;
static int cache_status;

typedef struct {
  uint8_t *out;
  uint16_t len;
  int truncated;
} reply_buf;

static uint8_t *reserve(reply_buf *r, uint16_t n) {
  if ((uint32_t)r->len + n > TG_LINK_MAX_PAYLOAD) {
    r->truncated = 1;
    return NULL;
  }
  uint8_t *p = r->out + r->len;
  r->len = (uint16_t)(r->len + n);
  return p;
}

static void put_detection(uint8_t *p, const tg_kws_detection *d) {
  p[0] = d->index;
  tg_put_u32(p + 1, (uint32_t)d->sum);
  tg_put_u32(p + 5, d->frame);
  tg_put_u32(p + 9, d->inference);
  tg_put_u32(p + 13, d->end_ms);
}

static void on_features(void *ctx, uint32_t frame, const int8_t *features) {
  uint8_t *p = reserve((reply_buf *)ctx, REC_FEATURES_SIZE);
  if (!p) return;
  p[0] = REC_FEATURES;
  tg_put_u32(p + 1, frame);
  memcpy(p + 5, features, KWS_FEATURES);
}

static void on_scores(void *ctx, uint32_t inference, uint32_t frame, const uint8_t *raw) {
  uint8_t *p = reserve((reply_buf *)ctx, REC_SCORES_SIZE);
  if (!p) return;
  p[0] = REC_SCORES;
  tg_put_u32(p + 1, inference);
  tg_put_u32(p + 5, frame);
  memcpy(p + 9, raw, KWS_NUM_CLASSES);
}

static void led_detect(void) {
  tg_led_set(1);
  led_on = 1;
  led_since = tg_micros();
}

static void on_detection(void *ctx, const tg_kws_detection *d) {
  led_detect();
  uint8_t *p = reserve((reply_buf *)ctx, REC_DETECTION_SIZE);
  if (!p) return;
  p[0] = REC_DETECTION;
  put_detection(p + 1, d);
}

static uint16_t put_counts(uint8_t *out) {
  const tg_kws_counters *c = tg_kws_counts();
  tg_put_u32(out + 4, c->frames);
  tg_put_u32(out + 8, c->inferences);
  tg_put_u32(out + 12, c->detections);
  tg_put_u32(out + 16, (uint32_t)c->cost_frontend);
  tg_put_u32(out + 20, (uint32_t)(c->cost_frontend >> 32));
  tg_put_u32(out + 24, (uint32_t)c->cost_classifier);
  tg_put_u32(out + 28, (uint32_t)(c->cost_classifier >> 32));
  out[32] = out[33] = out[34] = out[35] = 0;
  return PUSH_HEADER;
}

static int do_push(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  uint16_t n = f->header.length;
  if ((n & 1u) || n / 2u > MAX_PUSH_SAMPLES) return TG_LINK_BAD_ARGUMENT;
  if (init_status != 0) {
    tg_put_u32(out, (uint32_t)init_status);
    *len = 4;
    return TG_LINK_RUNTIME_ERROR;
  }
  /* The payload is not aligned for int16 access: copy (little-endian samples, as the host sends). */
  static int16_t samples[MAX_PUSH_SAMPLES];
  for (uint16_t i = 0; i < n / 2u; i++) samples[i] = (int16_t)tg_get_u16(f->payload + 2u * i);
  reply_buf r = {out, PUSH_HEADER, 0};
  tg_kws_sink sink = {on_features, on_scores, on_detection, &r};
  int s = tg_kws_push(samples, n / 2u, &sink);
  tg_put_u32(out, (uint32_t)s);
  put_counts(out);
  out[32] = (uint8_t)(r.truncated ? 1u : 0u);
  *len = r.len;
  return s == 0 ? TG_LINK_OK : TG_LINK_RUNTIME_ERROR;
}

static size_t put_str(uint8_t *p, size_t at, const char *s) {
  size_t n = strlen(s);
  if (n > 255) n = 255;
  if (at + 1 + n > TG_LINK_MAX_PAYLOAD) return at;
  p[at] = (uint8_t)n;
  memcpy(p + at + 1, s, n);
  return at + 1 + n;
}

static uint16_t do_info(uint8_t *out) {
  memset(out, 0, 32);
  tg_put_u32(out + 0, KWS_SAMPLE_RATE);
  tg_put_u16(out + 4, KWS_WINDOW_SAMPLES);
  tg_put_u16(out + 6, KWS_STRIDE_SAMPLES);
  out[8] = KWS_FEATURES;
  out[9] = KWS_NUM_CLASSES;
  out[10] = KWS_STREAMING | (KWS_OUTPUT_UNSIGNED << 1) | (KWS_MIC << 2);
  tg_put_u16(out + 12, KWS_WINDOW_FRAMES);
  tg_put_u16(out + 14, KWS_NEW_FRAMES_PER_INFERENCE);
  tg_put_u16(out + 16, KWS_AVERAGE_WINDOW);
  tg_put_u16(out + 18, KWS_SUPPRESSION);
  tg_put_u32(out + 20, (uint32_t)KWS_THRESHOLD_SUM);
  tg_put_u32(out + 24, (uint32_t)KWS_OUTPUT_ZERO_POINT);
  tg_put_u16(out + 28, (uint16_t)MAX_PUSH_SAMPLES);
  size_t at = 32;
  for (uint32_t i = 0; i < KWS_NUM_CLASSES; i++) at = put_str(out, at, tg_kws_label(i));
  return (uint16_t)at;
}

int tg_hil_app_command(const tg_link_frame *f, int repeat, uint8_t *out, uint16_t *len) {
  uint8_t type = f->header.type;
  if (type == KWS_CMD_INFO) {
    *len = do_info(out);
    return TG_LINK_OK;
  }
  if (type != KWS_CMD_PUSH && type != KWS_CMD_RESET) return TG_LINK_UNKNOWN_COMMAND;
  if (repeat) {
    memcpy(out, cache, cache_len);
    *len = cache_len;
    return cache_status;
  }
  int st;
  if (type == KWS_CMD_PUSH) {
    st = do_push(f, out, len);
  } else {
    if (f->header.length >= 1 && (f->payload[0] & 1u)) mic_on = 0;
    int s = init_status != 0 ? init_status : tg_kws_reset();
    tg_put_u32(out, (uint32_t)s);
    *len = put_counts(out);
    st = s == 0 ? TG_LINK_OK : TG_LINK_RUNTIME_ERROR;
  }
  memcpy(cache, out, *len);
  cache_len = *len;
  cache_status = st;
  return st;
}

#if KWS_MIC
/* Microphone mode: detections go out as events (the host may not be asking anything). */
static void mic_detection(void *ctx, const tg_kws_detection *d) {
  (void)ctx;
  led_detect();
  uint8_t *out = tg_link_tx_payload();
  put_detection(out, d);
  tg_put_u32(out + DETECTION_BYTES, (uint32_t)tg_kws_counts()->detections);
  uint16_t len = (uint16_t)put_str(out, DETECTION_BYTES + 4u, tg_kws_label(d->index));
  tg_link_send(KWS_EVENT_DETECTION, TG_LINK_SEQ_NONE, TG_LINK_OK, len);
}
#endif

void tg_app_setup(void) {
  init_status = tg_kws_init();
  tg_hil_start(init_status, "kws");
#if KWS_MIC
  if (init_status == 0) kws_mic_start();
#endif
}

void tg_app_loop(void) {
  tg_hil_poll();
#if KWS_MIC
  static int16_t block[KWS_STRIDE_SAMPLES];
  static const tg_kws_sink sink = {0, 0, mic_detection, 0};
  uint32_t n;
  while (init_status == 0 && (n = kws_mic_read(block, KWS_STRIDE_SAMPLES)) > 0) {
    if (mic_on) tg_kws_push(block, n, &sink); /* else drained and dropped: the host streams instead */
  }
#endif
  if (led_on && tg_micros() - led_since > LED_ON_US) {
    tg_led_set(0);
    led_on = 0;
  }
}
