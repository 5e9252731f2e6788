/* tinygen AOT runtime: int16x8 kernels (int16 activations, int8 weights, int64 or int32 bias).
 *
 * Bit-exact with TFLite Micro's reference kernels for the 16x8 quantization scheme: convolutions
 * and fully connected layers accumulate in 64 bits when the bias is int64 (or absent) and
 * requantize with TFLM's single-multiply MultiplyByQuantizedMultiplier(int64_t) (the multiplier
 * reduced to Q15, one rounding shift); with an int32 bias they accumulate in 32 bits and use the
 * usual double rounding. ADD/SUB/MUL/LEAKY_RELU follow the int8 formulas with int16 storage
 * (ADD/SUB shift inputs left by 15 instead of 20). Generation fills every constant in.
 */
#ifndef TINYGEN_TG_AOT_S16_H_
#define TINYGEN_TG_AOT_S16_H_

#include <stddef.h>
#include <stdint.h>

#include "tg_aot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Requantization of int16x8 accumulators to int16, one entry per output channel or one for all.
 * acc64 = 1: mult is the Q15 multiplier (Q31 multiplier + 2^15) >> 16 and shift the total right
 * shift 15 - shift (>= 1); acc64 = 0: mult and shift are the Q31 multiplier and shift. */
typedef struct {
  const int32_t *mult;
  const int32_t *shift;
  const int64_t *bias64;          /* acc64 = 1: bias per channel, or NULL */
  const int32_t *bias32;          /* acc64 = 0: bias per channel, or NULL */
  int32_t per_channel, acc64;
  int32_t out_offset, act_min, act_max;
} tg_rq_s16;

typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, filter_in_c;  /* filter_in_c < in_c: grouped convolution */
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  tg_rq_s16 rq;
} tg_conv_s16_params;

typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c, depth_mult;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  tg_rq_s16 rq;
} tg_dwconv_s16_params;

typedef struct {
  int32_t batches, in_depth, out_depth;
  int32_t in_offset, w_offset;
  tg_rq_s16 rq;
} tg_fc_s16_params;

/* Weights: conv OHWI, depthwise 1HWO, fully connected [out_depth][in_depth], as in the model. */
void tg_conv_s16(const tg_conv_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out);
void tg_dwconv_s16(const tg_dwconv_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out);
void tg_fc_s16(const tg_fc_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out);

/* Sum of a[i] * w[i] for n <= 511 (exact in 32 bits: |a[i] * w[i]| <= 2^22). */
int32_t tg_dot_s16x8(const int16_t *a, const int8_t *w, int32_t n);

/* Elementwise on int16 (out may equal an input). ADD with left_shift 15; SUB is ADD's formula
 * with the scaled second input subtracted. */
void tg_add_s16(const tg_add_params *p, const int16_t *a, const int16_t *b, int16_t *out);
void tg_sub_s16(const tg_add_params *p, const int16_t *a, const int16_t *b, int16_t *out);
void tg_sub_s8(const tg_add_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void tg_mul_s16(const tg_mul_params *p, const int16_t *a, const int16_t *b, int16_t *out);

typedef struct {
  int32_t size, elem_bytes;       /* elem_bytes: 1 (int8) or 2 (int16) */
  int32_t in_zero_point, out_zero_point;
  int32_t mult_identity, shift_identity;
  int32_t mult_alpha, shift_alpha, alpha_negative;  /* mult_alpha >= 0, sign in alpha_negative */
  int32_t q_min, q_max;
} tg_leaky_relu_params;

void tg_leaky_relu(const tg_leaky_relu_params *p, const void *in, void *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_S16_H_ */
