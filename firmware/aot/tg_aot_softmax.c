/* tinygen AOT runtime: SOFTMAX int8 -> int8 (output scale 1/256, zero point -128) and
 * int8 -> int16 (scale 1/65536, zero point -32768), as TFLM's reference Softmax<int8_t, OutputT>. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

/* input_diff * beta in Q5.26, the fixed-point format the exp approximation takes */
static int32_t scaled_diff(const tg_softmax_params *p, int32_t diff) {
  return tg_fx_mulhi((int32_t)((uint32_t)diff << p->beta_left_shift), p->beta_mult);
}

/* One row into int8 (out8) or int16 (out16) outputs of `out_bits` bits. */
static void softmax_row(const tg_softmax_params *p, const int8_t *x, int out_bits, int8_t *out8,
                        int16_t *out16) {
  const int32_t out_min = -((int32_t)1 << (out_bits - 1));
  const int32_t out_max = ((int32_t)1 << (out_bits - 1)) - 1;
  int32_t c, max = -128, sum = 0, recip, exponent;
  int bits_over_unit;
  for (c = 0; c < p->depth; ++c)
    if (x[c] > max) max = x[c];
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = x[c] - max;
    /* exp in Q0.31, accumulated in Q12.19 */
    if (diff >= p->diff_min) sum += tg_fx_rdiv_pot(tg_fx_exp_neg(scaled_diff(p, diff), 5), 12);
  }
  recip = tg_fx_reciprocal(sum, 12, &bits_over_unit);
  exponent = bits_over_unit + 31 - out_bits;
  for (c = 0; c < p->depth; ++c) {
    const int32_t diff = x[c] - max;
    int32_t v = out_min;
    if (diff >= p->diff_min) {
      const int32_t e = tg_fx_exp_neg(scaled_diff(p, diff), 5);
      v = tg_clamp(tg_fx_rdiv_pot(tg_fx_mulhi(recip, e), exponent) + out_min, out_min, out_max);
    }
    if (out8) out8[c] = (int8_t)v;
    else out16[c] = (int16_t)v;
  }
}

void tg_softmax_s8(const tg_softmax_params *p, const int8_t *in, int8_t *out) {
  int32_t r;
  for (r = 0; r < p->rows; ++r) softmax_row(p, in + r * p->depth, 8, out + r * p->depth, NULL);
}

void tg_softmax_s8_s16(const tg_softmax_params *p, const int8_t *in, int16_t *out) {
  int32_t r;
  for (r = 0; r < p->rows; ++r) softmax_row(p, in + r * p->depth, 16, NULL, out + r * p->depth);
}
