/* tinygen AOT runtime: LOGISTIC int8 -> int8 (output scale 1/256, zero point -128). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

void tg_logistic_s8(const tg_logistic_params *p, const int8_t *in, int8_t *out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t x = (int32_t)in[i] - p->in_zero_point;
    int32_t v;
    if (x <= -p->range_radius) {
      v = -128;
    } else if (x >= p->range_radius) {
      v = 127;
    } else {
      /* input in Q4.27, sigmoid in Q0.31, then down to Q0.8 */
      const int32_t q4 = tg_requant(x, p->in_mult, p->in_left_shift);
      v = tg_clamp(tg_fx_rdiv_pot(tg_fx_logistic(q4, 4), 23) - 128, -128, 127);
    }
    out[i] = (int8_t)v;
  }
}
