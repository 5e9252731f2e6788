/* tinygen AOT runtime: one output row of a DEPTHWISE_CONV_2D in a row pipeline (tg_aot_rows.h). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot_rows.h"

void tg_rows_dwconv(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                    const int8_t *src, const int8_t *side, int8_t *dst) {
  tg_dwconv_params p = *(const tg_dwconv_params *)g->params;
  (void)i;
  (void)side;
  p.batches = 1;
  p.in_h = hi - lo + 1;
  p.pad_h = lo - top;
  p.out_h = 1;
  p.cache_rows = 0; /* never in place: the row's input and output are different bytes */
  tg_dwconv_s8(&p, src, g->w, dst, (int32_t *)(void *)(A + g->scratch));
}
