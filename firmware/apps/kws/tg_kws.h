/* tinygen keyword spotting: the streaming pipeline on the device (docs/kws.md).
 *
 * audio (int16, 16 kHz) -> a 30 ms frame every stride -> audio frontend (tinygen AOT model
 * kws_frontend_*) -> 40 int8 features -> feature window -> classifier (tg_runtime_*) -> integer moving
 * sum of scores -> threshold + suppression -> detection.
 *
 * Board- and transport-independent: the app feeds samples with tg_kws_push() and receives features,
 * scores and detections through the callbacks in tg_kws_sink. The same integers as the host
 * reference (tinygen/kws/pipeline.py), so features, scores and detections match frame for frame.
 * Settings come from the generated kws_config.h.
 */
#ifndef TINYGEN_TG_KWS_H_
#define TINYGEN_TG_KWS_H_

#include <stdint.h>

#include "kws_config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint8_t index;      /* class index into tg_kws_label() */
  int32_t sum;        /* sum of (q - zero_point) over the averaging window */
  uint32_t frame;     /* feature frame at which it fired */
  uint32_t inference; /* inference index */
  uint32_t end_ms;    /* end of that frame's audio, ms since the last reset */
} tg_kws_detection;

/* Callbacks (any may be NULL). Pointers are valid only during the call. */
typedef struct {
  void (*features)(void *ctx, uint32_t frame, const int8_t *features);
  /* Raw classifier output bytes (KWS_NUM_CLASSES, int8 or uint8 per KWS_OUTPUT_UNSIGNED). */
  void (*scores)(void *ctx, uint32_t inference, uint32_t frame, const uint8_t *raw);
  void (*detection)(void *ctx, const tg_kws_detection *d);
  void *ctx;
} tg_kws_sink;

typedef struct {
  uint32_t frames;       /* feature frames since reset */
  uint32_t inferences;   /* classifier runs since reset */
  uint32_t detections;   /* detections since reset */
  uint64_t samples;      /* samples pushed since reset */
  uint64_t cost_frontend;   /* tg_cost units (cycles / instructions) spent in the frontend */
  uint64_t cost_classifier; /* ... and in the classifier */
} tg_kws_counters;

/* Initialise the frontend and the classifier runtime; returns the tg_runtime_init() status. */
int tg_kws_init(void);
/* Back to the start of a stream: frontend + classifier state, buffers, counters, smoothing. */
int tg_kws_reset(void);
/* Consume `n` samples; runs every frame and inference they complete, calling the sink. Returns 0,
 * or the failing tg_runtime_invoke() status. */
int tg_kws_push(const int16_t *samples, uint32_t n, const tg_kws_sink *sink);
const tg_kws_counters *tg_kws_counts(void);
const char *tg_kws_label(uint32_t index);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_KWS_H_ */
