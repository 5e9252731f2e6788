/* tinygen AOT runtime: SOFTMAX int8 -> int8 (output scale 1/256, zero point -128). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

/* input_diff * beta in Q5.26, the fixed-point format the exp approximation takes */
static int32_t scaled_diff(const tg_softmax_params *p, int32_t diff) {
  return tg_fx_mulhi((int32_t)((uint32_t)diff << p->beta_left_shift), p->beta_mult);
}

void tg_softmax_s8(const tg_softmax_params *p, const int8_t *in, int8_t *out) {
  int32_t r, c;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *x = in + r * p->depth;
    int8_t *y = out + r * p->depth;
    int32_t max = -128, sum = 0, recip, exponent;
    int bits_over_unit;
    for (c = 0; c < p->depth; ++c)
      if (x[c] > max) max = x[c];
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = x[c] - max;
      /* exp in Q0.31, accumulated in Q12.19 */
      if (diff >= p->diff_min) sum += tg_fx_rdiv_pot(tg_fx_exp_neg(scaled_diff(p, diff), 5), 12);
    }
    recip = tg_fx_reciprocal(sum, 12, &bits_over_unit);
    exponent = bits_over_unit + 31 - 8;
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = x[c] - max;
      if (diff >= p->diff_min) {
        const int32_t e = tg_fx_exp_neg(scaled_diff(p, diff), 5);
        const int32_t v = tg_fx_rdiv_pot(tg_fx_mulhi(recip, e), exponent) - 128;
        y[c] = (int8_t)tg_clamp(v, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}
