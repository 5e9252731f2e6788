/* tinygen AOT runtime: the int8 matrix product behind CONV_2D and FULLY_CONNECTED.
 *
 * out[r][c] = requantize(a[r] . w[c] + bias_folded[c]) for r < rows, c < n, with k-long rows.
 * The input zero point is folded into the bias at generation time, so the inner loop is a plain
 * int8 dot product. Weights are stored by tinygen in pair-interleaved order (see
 * tinygen/codegen/aot/ops/nn.py `interleave_pairs`): for channels 2i and 2i+1, four bytes of one,
 * four bytes of the other, ..., then each channel's k % 4 tail; an odd last channel is plain. One
 * pointer walks both channels, and on DSP cores two rows x two channels take eight SMLADs per
 * four k.
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"
#include "tg_aot_simd.h"

/* The requantization constants, copied to locals so stores to `out` cannot alias them. */
typedef struct {
  const tg_rq_ch *ch;
  const int32_t *bias;
  int32_t off, lo, hi, fast, step;
} rq_local;

/* Channel pair (c, c+1) for one or two rows: constants loaded once, the common case unswitched. */
static inline void finish_pair(const rq_local *q, int32_t c, const int32_t *s, int8_t *o0, int8_t *o1) {
  const tg_rq_ch *q0 = q->ch + c * q->step, *q1 = q->ch + (c + 1) * q->step;
  const uint32_t b0 = (uint32_t)q->bias[c], b1 = (uint32_t)q->bias[c + 1];
  if (q->fast) {
    o0[c] = (int8_t)tg_clamp(tg_rq_fast(q0, (int32_t)((uint32_t)s[0] + b0)) + q->off, q->lo, q->hi);
    o0[c + 1] = (int8_t)tg_clamp(tg_rq_fast(q1, (int32_t)((uint32_t)s[1] + b1)) + q->off, q->lo, q->hi);
    if (o1) {
      o1[c] = (int8_t)tg_clamp(tg_rq_fast(q0, (int32_t)((uint32_t)s[2] + b0)) + q->off, q->lo, q->hi);
      o1[c + 1] = (int8_t)tg_clamp(tg_rq_fast(q1, (int32_t)((uint32_t)s[3] + b1)) + q->off, q->lo, q->hi);
    }
  } else {
    o0[c] = (int8_t)tg_clamp(tg_rq_apply(q0, (int32_t)((uint32_t)s[0] + b0)) + q->off, q->lo, q->hi);
    o0[c + 1] = (int8_t)tg_clamp(tg_rq_apply(q1, (int32_t)((uint32_t)s[1] + b1)) + q->off, q->lo, q->hi);
    if (o1) {
      o1[c] = (int8_t)tg_clamp(tg_rq_apply(q0, (int32_t)((uint32_t)s[2] + b0)) + q->off, q->lo, q->hi);
      o1[c + 1] = (int8_t)tg_clamp(tg_rq_apply(q1, (int32_t)((uint32_t)s[3] + b1)) + q->off, q->lo, q->hi);
    }
  }
}

static inline int8_t finish(const rq_local *q, int32_t c, int32_t acc) {
  const tg_rq_ch *ch = q->ch + c * q->step;
  int32_t v;
  acc = (int32_t)((uint32_t)acc + (uint32_t)q->bias[c]);
  v = q->fast ? tg_rq_fast(ch, acc) : tg_rq_apply(ch, acc);
  return (int8_t)tg_clamp(v + q->off, q->lo, q->hi);
}

#if TG_AOT_DSP
/* Four k of two rows against two channels: eight SMLADs. */
#define TG_STEP_2x2(a0, a1, wp)                                                \
  do {                                                                         \
    const uint32_t x0_ = tg_load_u32(a0), x1_ = tg_load_u32(a1);               \
    const int32_t x0e_ = tg_sxtb16_even(x0_), x0o_ = tg_sxtb16_odd(x0_);        \
    const int32_t x1e_ = tg_sxtb16_even(x1_), x1o_ = tg_sxtb16_odd(x1_);        \
    uint32_t y_ = tg_load_u32(wp);                                             \
    int32_t ye_ = tg_sxtb16_even(y_), yo_ = tg_sxtb16_odd(y_);                  \
    s00 = __smlad(x0e_, ye_, s00);                                             \
    s00 = __smlad(x0o_, yo_, s00);                                             \
    s10 = __smlad(x1e_, ye_, s10);                                             \
    s10 = __smlad(x1o_, yo_, s10);                                             \
    y_ = tg_load_u32((wp) + 4);                                                \
    ye_ = tg_sxtb16_even(y_);                                                  \
    yo_ = tg_sxtb16_odd(y_);                                                   \
    s01 = __smlad(x0e_, ye_, s01);                                             \
    s01 = __smlad(x0o_, yo_, s01);                                             \
    s11 = __smlad(x1e_, ye_, s11);                                             \
    s11 = __smlad(x1o_, yo_, s11);                                             \
  } while (0)
#endif

/* Rows a0, a1 (a1 may be NULL) against the channel pair at wp. */
static inline void pair(const int8_t *a0, const int8_t *a1, const int8_t *wp, int32_t k, int32_t *s) {
  int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0, j;
  const int8_t *const a0_end = a0 + (k & ~3);
  const int8_t *t0, *t1;
  if (a1) {
    while (a0 != a0_end) {
#if TG_AOT_DSP
      TG_STEP_2x2(a0, a1, wp);
#else
      for (j = 0; j < 4; ++j) {
        s00 += a0[j] * wp[j];
        s10 += a1[j] * wp[j];
        s01 += a0[j] * wp[4 + j];
        s11 += a1[j] * wp[4 + j];
      }
#endif
      a0 += 4;
      a1 += 4;
      wp += 8;
    }
  } else {
    while (a0 != a0_end) {
#if TG_AOT_DSP
      const uint32_t x0 = tg_load_u32(a0);
      const int32_t x0e = tg_sxtb16_even(x0), x0o = tg_sxtb16_odd(x0);
      const uint32_t y0 = tg_load_u32(wp), y1 = tg_load_u32(wp + 4);
      s00 = __smlad(x0e, tg_sxtb16_even(y0), s00);
      s00 = __smlad(x0o, tg_sxtb16_odd(y0), s00);
      s01 = __smlad(x0e, tg_sxtb16_even(y1), s01);
      s01 = __smlad(x0o, tg_sxtb16_odd(y1), s01);
#else
      for (j = 0; j < 4; ++j) {
        s00 += a0[j] * wp[j];
        s01 += a0[j] * wp[4 + j];
      }
#endif
      a0 += 4;
      wp += 8;
    }
  }
  /* tails: k % 4 bytes of the first channel, then of the second */
  t0 = wp;
  t1 = wp + (k & 3);
  for (j = 0; j < (k & 3); ++j) {
    s00 += a0[j] * t0[j];
    s01 += a0[j] * t1[j];
    if (a1) {
      s10 += a1[j] * t0[j];
      s11 += a1[j] * t1[j];
    }
  }
  s[0] = s00;
  s[1] = s01;
  s[2] = s10;
  s[3] = s11;
}

void tg_mm_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w, int32_t n, int32_t k,
              const tg_requant_ch *q, int8_t *out, int32_t out_stride) {
  int32_t r, c, s[4];
  rq_local ql;
  const rq_local *const qq = &ql;
  ql.ch = q->ch;
  ql.off = q->out_offset;
  ql.lo = q->act_min;
  ql.hi = q->act_max;
  ql.fast = q->fast;
  ql.bias = q->bias;
  ql.step = q->per_channel ? 1 : 0;
  for (r = 0; r < rows; r += 2) {
    const int8_t *a0 = a + r * a_stride;
    const int8_t *a1 = r + 1 < rows ? a0 + a_stride : (const int8_t *)0;
    int8_t *o0 = out + r * out_stride, *o1 = o0 + out_stride;
    const int8_t *wp = w;
    for (c = 0; c + 2 <= n; c += 2) {
      pair(a0, a1, wp, k, s);
      wp += 2 * k;
      finish_pair(qq, c, s, o0, a1 ? o1 : (int8_t *)0);
    }
    if (c < n) {
      o0[c] = finish(qq, c, tg_dot_s8(a0, wp, k));
      if (a1) o1[c] = finish(qq, c, tg_dot_s8(a1, wp, k));
    }
  }
}

/* One row (a vector) against channel quads: weights stored by tinygen in quad-interleaved order
 * (`interleave_quads`: per four channels, four bytes of each in turn, then each channel's k % 4
 * tail; the last n % 4 channels plain). The input word is expanded once for four channels. */
void tg_mv_s8(const int8_t *a, const int8_t *w, int32_t n, int32_t k, const tg_requant_ch *q, int8_t *out) {
  int32_t c, j;
  rq_local ql;
  const int8_t *wp = w;
  ql.ch = q->ch;
  ql.off = q->out_offset;
  ql.lo = q->act_min;
  ql.hi = q->act_max;
  ql.fast = q->fast;
  ql.bias = q->bias;
  ql.step = q->per_channel ? 1 : 0;
  for (c = 0; c + 4 <= n; c += 4) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const int8_t *x = a;
    const int8_t *const x_end = a + (k & ~3);
    while (x != x_end) {
#if TG_AOT_DSP
      const uint32_t xv = tg_load_u32(x);
      const int32_t xe = tg_sxtb16_even(xv), xo = tg_sxtb16_odd(xv);
      uint32_t y = tg_load_u32(wp);
      s0 = __smlad(xe, tg_sxtb16_even(y), s0);
      s0 = __smlad(xo, tg_sxtb16_odd(y), s0);
      y = tg_load_u32(wp + 4);
      s1 = __smlad(xe, tg_sxtb16_even(y), s1);
      s1 = __smlad(xo, tg_sxtb16_odd(y), s1);
      y = tg_load_u32(wp + 8);
      s2 = __smlad(xe, tg_sxtb16_even(y), s2);
      s2 = __smlad(xo, tg_sxtb16_odd(y), s2);
      y = tg_load_u32(wp + 12);
      s3 = __smlad(xe, tg_sxtb16_even(y), s3);
      s3 = __smlad(xo, tg_sxtb16_odd(y), s3);
#else
      for (j = 0; j < 4; ++j) {
        s0 += x[j] * wp[j];
        s1 += x[j] * wp[4 + j];
        s2 += x[j] * wp[8 + j];
        s3 += x[j] * wp[12 + j];
      }
#endif
      x += 4;
      wp += 16;
    }
    for (j = 0; j < (k & 3); ++j) {
      const int32_t t = (k & 3);
      s0 += x[j] * wp[j];
      s1 += x[j] * wp[t + j];
      s2 += x[j] * wp[2 * t + j];
      s3 += x[j] * wp[3 * t + j];
    }
    wp += 4 * (k & 3);
    out[c] = finish(&ql, c, s0);
    out[c + 1] = finish(&ql, c + 1, s1);
    out[c + 2] = finish(&ql, c + 2, s2);
    out[c + 3] = finish(&ql, c + 3, s3);
  }
  for (; c < n; ++c, wp += k) out[c] = finish(&ql, c, tg_dot_s8(a, wp, k));
}
