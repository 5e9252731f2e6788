/* tinygen AOT runtime: SVDF, int8 (TFLM's EvalIntegerSvdfReference for int8 and int16 state).
 *
 * Per invoke: shift the state one step left, write the newest column (input x weights_feature,
 * requantized to the state scale), then weights_time x state per filter, sum `rank` filters per
 * unit with the bias, requantize to int8. The integer kernel applies no fused activation (TFLM's
 * reference does not either); the output is only clamped to int8.
 */
#include <string.h>

#include "tg_aot_seq.h"

#define TG_SVDF_BODY(T, T_MIN, T_MAX)                                                         \
  const int32_t n_state = p->batches * p->filters * p->memory;                                \
  int32_t b, f, u, j;                                                                         \
  if (n_state > 1) memmove(state, state + 1, (size_t)(n_state - 1) * sizeof(T));              \
  for (b = 0; b < p->batches; ++b) {                                                          \
    const int8_t *x = in + b * p->input_size;                                                 \
    T *column = state + (size_t)b * p->filters * p->memory + (p->memory - 1);                 \
    for (f = 0; f < p->filters; ++f) {                                                        \
      const int8_t *w = weights_feature + f * p->input_size;                                  \
      int32_t acc = 0;                                                                        \
      for (j = 0; j < p->input_size; ++j) acc += w[j] * (x[j] - p->in_zero_point);            \
      acc = tg_clamp(tg_requant(acc, p->mult1, p->shift1), T_MIN, T_MAX);                     \
      column[f * p->memory] = (T)(p->state_zero_point + acc);                                 \
    }                                                                                         \
  }                                                                                           \
  for (b = 0; b < p->batches; ++b) {                                                          \
    const T *s = state + (size_t)b * p->filters * p->memory;                                  \
    for (f = 0; f < p->filters; ++f) {                                                        \
      const T *w = weights_time + f * p->memory;                                              \
      int32_t acc = 0;                                                                        \
      for (j = 0; j < p->memory; ++j) acc += w[j] * (s[f * p->memory + j] - p->state_zero_point); \
      scratch[b * p->filters + f] = acc;                                                      \
    }                                                                                         \
  }                                                                                           \
  for (b = 0; b < p->batches; ++b) {                                                          \
    const int32_t *s = scratch + b * p->filters;                                              \
    for (u = 0; u < p->units; ++u) {                                                          \
      int32_t acc = p->bias ? p->bias[u] : 0;                                                 \
      for (j = 0; j < p->rank; ++j) acc += s[u * p->rank + j];                                \
      acc = tg_requant(acc, p->mult2, p->shift2) + p->out_zero_point;                         \
      out[b * p->units + u] = (int8_t)tg_clamp(acc, -128, 127);                               \
    }                                                                                         \
  }

void tg_svdf_s8(const tg_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
                const int8_t *weights_time, int8_t *state, int32_t *scratch, int8_t *out) {
  TG_SVDF_BODY(int8_t, -128, 127)
}

void tg_svdf_s8_s16(const tg_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
                    const int16_t *weights_time, int16_t *state, int32_t *scratch, int8_t *out) {
  TG_SVDF_BODY(int16_t, -32768, 32767)
}
