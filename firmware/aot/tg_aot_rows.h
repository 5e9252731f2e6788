/* tinygen AOT runtime: row pipelines (tg_aot_rows.c).
 *
 * A chain of ops runs row by row, demand-driven from its last op: an intermediate tensor never
 * exists whole, only the window of rows its consumer still reads (tinygen/codegen/aot/rows.py
 * plans the chains, sizes the windows and proves where the last op's output may overlap the
 * chain's input). Each row is one call of the op's own kernel on a row slice: the slice's in_h and
 * pad_h say which input rows exist, so the kernels need nothing new.
 */
#ifndef TINYGEN_TG_AOT_ROWS_H_
#define TINYGEN_TG_AOT_ROWS_H_

#include <stdint.h>

#include "tg_aot.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_ROWS_CONV 0   /* params: tg_conv_params */
#define TG_ROWS_DWCONV 1 /* params: tg_dwconv_params */
#define TG_ROWS_ADD 2    /* params: tg_add_params (no broadcasting) */
#define TG_ROWS_FC 3     /* params: tg_fc_params (last stage only; weights [out_depth][in_depth]) */
#define TG_ROWS_ADD_LUT 4 /* params: tg_add_lut_params */
#define TG_ROWS_MAX_STAGES 8  /* tinygen/codegen/aot/rows.py MAX_STAGES */

typedef struct tg_rows_stage tg_rows_stage;

/* Computes output row i of a stage from input rows [lo, hi] at src (top: the unclipped first
 * input row, lo - top rows of padding above) and, for an ADD, row i of its other input at side,
 * into dst. */
typedef void (*tg_rows_fn)(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                           const int8_t *src, const int8_t *side, int8_t *dst);

struct tg_rows_stage {
  int32_t kind;
  tg_rows_fn row;          /* tg_rows_conv, tg_rows_dwconv, tg_rows_add (both ADD kinds), tg_rows_fc */
  const void *params;      /* the op's own kernel parameters */
  const int8_t *w;         /* weights (NULL for ADD) */
  int32_t scratch;         /* arena offset of the kernel's scratch, -1: none */
  /* row input: the rows of stage `src`, or (src < 0) the whole tensor at arena offset `in` */
  int32_t src, in;
  int32_t in_rows, in_row_bytes;
  int32_t out_rows, out_row_bytes;
  /* output row r reads input rows [r * stride - pad, r * stride - pad + extent), clipped */
  int32_t stride, pad, extent;
  int32_t side_src;        /* ADD: the stage whose rows are the other input, -1: `side` */
  int32_t side;            /* ADD: arena offset of the other input (whole), -1: none */
  int32_t side_first;      /* ADD: the other input is the kernel's first operand */
  int32_t out;             /* arena offset of the output: a window of `cap` rows, or the whole tensor */
  int32_t cap;             /* window rows; 0: the whole output (the last stage) */
  int32_t acc;             /* FC: arena offset of out_depth int32 accumulators */
};

/* One file each (tg_aot_rows_conv.c, ..._dwconv.c, ..._add.c; tg_rows_fc in tg_aot_rows.c), so a
 * model links only the kernels it uses. */
void tg_rows_conv(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                  const int8_t *src, const int8_t *side, int8_t *dst);
void tg_rows_dwconv(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                    const int8_t *src, const int8_t *side, int8_t *dst);
void tg_rows_add(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                 const int8_t *src, const int8_t *side, int8_t *dst);
void tg_rows_fc(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                const int8_t *src, const int8_t *side, int8_t *dst);

/* Run the chain `s[0..n)`: stages in dependency order, every stage but the last read by exactly
 * one later stage, the last one's output whole in memory. */
void tg_rows_run(uint8_t *A, const tg_rows_stage *s, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_ROWS_H_ */
