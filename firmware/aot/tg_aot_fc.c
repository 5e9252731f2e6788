/* tinygen AOT runtime: FULLY_CONNECTED, int8 (per-tensor or per-channel requantization). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

/* Widened weights: tg_mm_wide_s8. Otherwise one batch row: quad-interleaved (tg_mv_s8); more rows:
 * pair-interleaved (tg_mm_s8). */
void tg_fc_s8(const tg_fc_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  if (p->wide == 2) {
    tg_mm_q8_s8(in, p->batches, p->in_depth, w, p->out_depth, p->in_depth, &p->rq, out, p->out_depth);
  } else if (p->wide) {
    tg_mm_wide_s8(in, p->batches, p->in_depth, (const int32_t *)(const void *)w, p->out_depth, p->in_depth, &p->rq,
                  out, p->out_depth);
  } else if (p->batches == 1) {
    tg_mv_s8(in, w, p->out_depth, p->in_depth, &p->rq, out);
  } else {
    tg_mm_s8(in, p->batches, p->in_depth, w, p->out_depth, p->in_depth, &p->rq, out, p->out_depth);
  }
}
