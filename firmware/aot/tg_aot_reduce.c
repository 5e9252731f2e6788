/* tinygen AOT runtime: MEAN of int8 over a contiguous block of axes. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

void tg_mean_s8(const tg_mean_params *p, const int8_t *in, int8_t *out) {
  int32_t o, i, r;
  for (o = 0; o < p->outer; ++o) {
    for (i = 0; i < p->inner; ++i) {
      const int8_t *x = in + o * p->reduce * p->inner + i;
      int32_t sum = 0, v;
      for (r = 0; r < p->reduce; ++r) sum += x[r * p->inner];
      /* the mean's 1/N is folded into the multiplier at generation time */
      v = tg_requant(sum - p->in_zero_point * p->reduce, p->mult, p->shift) + p->out_zero_point;
      out[o * p->inner + i] = (int8_t)tg_clamp(v, -128, 127);
    }
  }
}
