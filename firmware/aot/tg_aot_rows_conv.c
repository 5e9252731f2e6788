/* tinygen AOT runtime: one output row of a CONV_2D in a row pipeline (tg_aot_rows.h). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot_rows.h"

void tg_rows_conv(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                  const int8_t *src, const int8_t *side, int8_t *dst) {
  tg_conv_params p = *(const tg_conv_params *)g->params;
  (void)i;
  (void)side;
  p.batches = 1;
  p.in_h = hi - lo + 1;
  p.pad_h = lo - top;
  p.out_h = 1;
  tg_conv_s8(&p, src, g->w, dst, g->scratch >= 0 ? (int8_t *)(A + g->scratch) : (int8_t *)0);
}
