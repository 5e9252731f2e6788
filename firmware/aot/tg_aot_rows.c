/* tinygen AOT runtime: row pipelines (see tg_aot_rows.h). The order of row computations here is
 * the one tinygen/codegen/aot/rows.py simulates (`_run_order`) to size the windows and prove the
 * overlaps: keep the two in step. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot_rows.h"
#include "tg_aot_simd.h"

/* Rows [first, first + count) of a stage's window sit at slots (row - base). */
typedef struct {
  int32_t produced, first, count, base;
} rows_state;

static int8_t *row_ptr(uint8_t *A, const tg_rows_stage *g, const rows_state *st, int32_t row) {
  return (int8_t *)(A + g->out + (g->cap ? row - st->base : row) * g->out_row_bytes);
}

/* Rows below `below` of a window are read no more. */
static void drop(rows_state *st, int32_t below) {
  if (below > st->first) {
    const int32_t d = below - st->first < st->count ? below - st->first : st->count;
    st->first += d;
    st->count -= d;
  }
}

/* Make stage k produce its rows up to j. */
static void pull(uint8_t *A, const tg_rows_stage *s, rows_state *st, int32_t k, int32_t j) {
  const tg_rows_stage *g = s + k;
  rows_state *me = st + k;
  while (me->produced <= j && me->produced < g->out_rows) {
    const int32_t i = me->produced;
    const int32_t top = i * g->stride - g->pad;
    const int32_t lo = top < 0 ? 0 : top;
    const int32_t hi = top + g->extent - 1 < g->in_rows - 1 ? top + g->extent - 1 : g->in_rows - 1;
    const int8_t *src, *side = (const int8_t *)0;
    int8_t *dst;
    if (g->src < 0) {
      src = (const int8_t *)(A + g->in + lo * g->in_row_bytes);
    } else {
      drop(st + g->src, lo);
      pull(A, s, st, g->src, hi);
      src = row_ptr(A, s + g->src, st + g->src, lo);
    }
    if (g->side_src >= 0) { /* every stage but the last has one reader: the windows are disjoint */
      drop(st + g->side_src, i);
      pull(A, s, st, g->side_src, i);
      side = row_ptr(A, s + g->side_src, st + g->side_src, i);
    } else if (g->side >= 0) {
      side = (const int8_t *)(A + g->side + i * g->out_row_bytes);
    }
    if (g->cap) {
      if (me->count == 0) {
        me->first = i;
        me->base = i;
      } else if (i - me->base >= g->cap) { /* compact: the window's rows to its start */
        memmove(A + g->out, A + g->out + (me->first - me->base) * g->out_row_bytes,
                (size_t)(me->count * g->out_row_bytes));
        me->base = me->first;
      }
      dst = row_ptr(A, g, me, i);
      me->count++;
    } else {
      dst = g->kind == TG_ROWS_FC ? (int8_t *)0 : row_ptr(A, g, me, i);
    }
    g->row(A, g, i, lo, hi, top, src, side, dst);
    me->produced++;
  }
}

/* Four outputs' sums over one row: every input word loaded once (integer sums, any order: the
 * same bits as one dot product per output). */
static void dot4(const int8_t *x, const int8_t *w0, int32_t stride, int32_t n, int32_t *acc) {
  const int8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
#if TG_AOT_DSP
  for (; k + 4 <= n; k += 4) {
    const uint32_t v = tg_load_u32(x + k);
    const int32_t ve = tg_sxtb16_even(v), vo = tg_sxtb16_odd(v);
    uint32_t u = tg_load_u32(w0 + k);
    s0 = __smlad(ve, tg_sxtb16_even(u), __smlad(vo, tg_sxtb16_odd(u), s0));
    u = tg_load_u32(w1 + k);
    s1 = __smlad(ve, tg_sxtb16_even(u), __smlad(vo, tg_sxtb16_odd(u), s1));
    u = tg_load_u32(w2 + k);
    s2 = __smlad(ve, tg_sxtb16_even(u), __smlad(vo, tg_sxtb16_odd(u), s2));
    u = tg_load_u32(w3 + k);
    s3 = __smlad(ve, tg_sxtb16_even(u), __smlad(vo, tg_sxtb16_odd(u), s3));
  }
#endif
  for (; k < n; ++k) {
    const int32_t v = x[k];
    s0 += v * w0[k];
    s1 += v * w1[k];
    s2 += v * w2[k];
    s3 += v * w3[k];
  }
  acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)s0);
  acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)s1);
  acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)s2);
  acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)s3);
}

/* TG_ROWS_FC: input row i meets columns [i * row, (i + 1) * row) of every output */
void tg_rows_fc(uint8_t *A, const tg_rows_stage *g, int32_t i, int32_t lo, int32_t hi, int32_t top,
                const int8_t *src, const int8_t *side, int8_t *dst) {
  const tg_fc_params *p = (const tg_fc_params *)g->params;
  int32_t *acc = (int32_t *)(void *)(A + g->acc);
  const int8_t *w = g->w + i * g->in_row_bytes;
  int32_t o = 0;
  (void)lo;
  (void)hi;
  (void)top;
  (void)side;
  (void)dst;
  for (; o + 4 <= p->out_depth; o += 4) dot4(src, w + o * p->in_depth, p->in_depth, g->in_row_bytes, acc + o);
  for (; o < p->out_depth; ++o) {
    acc[o] = (int32_t)((uint32_t)acc[o] + (uint32_t)tg_dot_s8(src, w + o * p->in_depth, g->in_row_bytes));
  }
}

void tg_rows_run(uint8_t *A, const tg_rows_stage *s, int32_t n) {
  rows_state st[TG_ROWS_MAX_STAGES];
  const tg_rows_stage *last = s + n - 1;
  memset(st, 0, sizeof st);
  if (last->kind == TG_ROWS_FC) {
    memset(A + last->acc, 0, (size_t)(((const tg_fc_params *)last->params)->out_depth * 4));
  }
  pull(A, s, st, n - 1, last->out_rows - 1);
  if (last->kind == TG_ROWS_FC) { /* requantize exactly as tg_fc_s8 does */
    const tg_fc_params *p = (const tg_fc_params *)last->params;
    const tg_requant_ch *q = &p->rq;
    const int32_t *acc = (const int32_t *)(const void *)(A + last->acc);
    int8_t *out = (int8_t *)(A + last->out);
    int32_t o;
    for (o = 0; o < p->out_depth; ++o) {
      const tg_rq_ch *ch = q->ch + (q->per_channel ? o : 0);
      const int32_t v = (int32_t)((uint32_t)acc[o] + (uint32_t)q->bias[o]);
      const int32_t r = q->fast ? tg_rq_fast(ch, v) : tg_rq_apply(ch, v);
      out[o] = (int8_t)tg_clamp(r + q->out_offset, q->act_min, q->act_max);
    }
  }
}
