/* tinygen AOT runtime: one output row of an int8 ADD in a row pipeline (tg_aot_rows.h). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot_rows.h"

void tg_rows_add(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                 const int8_t *src, const int8_t *side, int8_t *dst) {
  const int8_t *a = g->side_first ? side : src, *b = g->side_first ? src : side;
  (void)A;
  (void)i;
  (void)lo;
  (void)hi;
  (void)top;
  if (g->kind == TG_ROWS_ADD_LUT) {
    tg_add_lut_params p = *(const tg_add_lut_params *)g->params;
    p.size = g->out_row_bytes;
    tg_add_lut_s8(&p, a, b, dst);
  } else {
    tg_add_params p = *(const tg_add_params *)g->params;
    p.size = g->out_row_bytes;
    tg_add_s8(&p, a, b, dst);
  }
}
