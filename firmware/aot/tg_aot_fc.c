/* tinygen AOT runtime: FULLY_CONNECTED, int8 (per-tensor or per-channel requantization). */
#include "tg_aot.h"

void tg_fc_s8(const tg_fc_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  tg_mm_s8(in, p->batches, p->in_depth, w, p->out_depth, p->in_depth, &p->rq, out, p->out_depth);
}
