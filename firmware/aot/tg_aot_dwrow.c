/* tinygen AOT runtime: 3x3 DEPTHWISE_CONV_2D (multiplier 1, dilation 1, stride 1 along the row)
 * one channel at a time over rows of int16.
 *
 * For each channel, the input rows the filter needs are copied once into a ring of 3 rows of
 * int16 (the padding columns hold the input zero point, which adds nothing once the input offset
 * is folded into the bias; rows outside the image read a row of zero points). Along a row two
 * adjacent inputs are one word, so one SMLAD takes two taps: (x[j], x[j+1]) . (w[t], w[t+1]). The
 * weights are stored by tinygen per channel and filter row in groups of four taps as bytes
 * (w0, w2, w1, w3) (`dw_row_weights` in ops/nn.py), so SXTB16 of a group word gives (w0, w1) and
 * of the word rotated by 8 (w2, w3); they are doubled (SADD16) once per channel, so the sums are
 * 2 * acc. Two outputs at a time from two input words per filter row (3x3, stride 1 along the row):
 *   o[j]   = (x[j], x[j+1]) . (w0, w1) + x[j+2] * w2
 *   o[j+1] = (x[j+2], x[j+3]) . (w1, w2) + x[j+1] * w0
 * The sums of an output row go to a row of int32, then are requantized with the channel's
 * constants in registers: TFLM's doubling high multiply of acc is exactly the rounded high word
 * of 2 * acc * mult (SMMULR), and its rounding division by 2^e is (x + 2^(e-1) - (x < 0)) >> e,
 * with the output zero point folded into the rounding constant (tinygen checks at generation time
 * that |2 * acc| and the constants stay inside int32).
 * In place (out == in): a channel's input rows are in the ring before that channel's output rows
 * overwrite them (tinygen checks the row order at generation time, `dw_cache_rows`).
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"
#include "tg_aot_simd.h"

#if defined(__GNUC__)
#define TG_DR_INLINE static inline __attribute__((always_inline))
#else
#define TG_DR_INLINE static inline
#endif

/* The row loops are functions of their own: a clean register context, so the weights and
 * constants stay in registers (inlined into the channel loop, GCC spills them). */
#if defined(__GNUC__)
#define TG_DR_NOINLINE static __attribute__((noinline))
#else
#define TG_DR_NOINLINE static
#endif

static inline int32_t ld2(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

#if TG_AOT_DSP
#define TG_SMUAD(x, y) __smuad((x), (y))
#define TG_SMLAD(x, y, a) __smlad((x), (y), (a))
#define TG_SMULTB(x, y) smultb_((x), (y))
#define TG_SMLATB(x, y, a) __smlatb((x), (y), (a))
#define TG_SMLABT(x, y, a) __smlabt((x), (y), (a))
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline int32_t smultb_(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smultb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#else
#define TG_LO16(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_HI16(v) ((int32_t)(v) >> 16)
#define TG_SMUAD(x, y) ((int32_t)((uint32_t)(TG_LO16(x) * TG_LO16(y)) + (uint32_t)(TG_HI16(x) * TG_HI16(y))))
#define TG_SMLAD(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)TG_SMUAD(x, y)))
#define TG_SMULTB(x, y) (TG_HI16(x) * TG_LO16(y))
#define TG_SMLATB(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)(TG_HI16(x) * TG_LO16(y))))
#define TG_SMLABT(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)(TG_LO16(x) * TG_HI16(y))))
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/* 2 * (w[t], w[t+1]) and 2 * (w[t+2], w[t+3]) from a group word of bytes (w0, w2, w1, w3). */
static inline int32_t pair2(uint32_t g) {
  const int32_t lo = (int32_t)(int8_t)(g & 0xFFu), hi = (int32_t)(int8_t)((g >> 16) & 0xFFu);
  return (int32_t)(((uint32_t)(2 * lo) & 0xFFFFu) | ((uint32_t)(2 * hi) << 16));
}

/* 3x3 at stride 1: the doubled sums of one output row (two outputs per step). */
TG_DR_NOINLINE void sums3s1(const int16_t *r0, const int16_t *r1, const int16_t *r2, const int32_t *pw, int32_t *acc,
                          int32_t ow) {
  const int32_t a01 = pw[0], b01 = pw[2], c01 = pw[4];
  const int32_t a12 = (int32_t)(((uint32_t)a01 >> 16) | ((uint32_t)pw[1] << 16)); /* (w1, w2) */
  const int32_t b12 = (int32_t)(((uint32_t)b01 >> 16) | ((uint32_t)pw[3] << 16));
  const int32_t c12 = (int32_t)(((uint32_t)c01 >> 16) | ((uint32_t)pw[5] << 16));
  int32_t *const end = acc + (ow & ~1);
  for (; acc < end; acc += 2, r0 += 2, r1 += 2, r2 += 2) {
    int32_t x = ld2(r0), s0, s1;
    s0 = TG_SMUAD(x, a01);
    s1 = TG_SMULTB(x, a01);
    x = ld2(r0 + 2);
    s0 = TG_SMLABT(x, a12, s0);
    s1 = TG_SMLAD(x, a12, s1);
    x = ld2(r1);
    s0 = TG_SMLAD(x, b01, s0);
    s1 = TG_SMLATB(x, b01, s1);
    x = ld2(r1 + 2);
    s0 = TG_SMLABT(x, b12, s0);
    s1 = TG_SMLAD(x, b12, s1);
    x = ld2(r2);
    s0 = TG_SMLAD(x, c01, s0);
    s1 = TG_SMLATB(x, c01, s1);
    x = ld2(r2 + 2);
    s0 = TG_SMLABT(x, c12, s0);
    s1 = TG_SMLAD(x, c12, s1);
    acc[0] = s0;
    acc[1] = s1;
  }
  if (ow & 1) {
    int32_t s0 = TG_SMUAD(ld2(r0), a01);
    s0 = TG_SMLABT(ld2(r0 + 2), a12, s0);
    s0 = TG_SMLAD(ld2(r1), b01, s0);
    s0 = TG_SMLABT(ld2(r1 + 2), b12, s0);
    s0 = TG_SMLAD(ld2(r2), c01, s0);
    s0 = TG_SMLABT(ld2(r2 + 2), c12, s0);
    acc[0] = s0;
  }
}

/* The requantized output row. ch: mult, shift e >= 1, rounding constant 2^(e-1) (+ out_offset * 2^e
 * when folded), 2 * bias. kind 2: the whole int8 range (one SSAT); 1: only a lower bound (RELU);
 * 0: any range. */
TG_DR_INLINE void store_row(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o,
                            const int kind) {
  const int32_t m = ch[0], e = ch[1], h = ch[2], b2 = ch[3];
  const int32_t off = p->out_offset, lo = p->act_min, hi = p->act_max, step = p->out_step;
  int32_t n = p->out_w;
  for (; n > 0; --n, ++acc, o += step) {
    const int32_t x = mulhi_r((int32_t)((uint32_t)*acc + (uint32_t)b2), m);
    int32_t v = (x + h + (x >> 31)) >> e;
#if TG_AOT_DSP
    if (kind) {
      v = __ssat(v, 8);
      if (kind == 1 && v < lo) v = lo;
      *o = (int8_t)v;
      continue;
    }
#else
    (void)kind;
#endif
    *o = (int8_t)tg_clamp(v + off, lo, hi);
  }
}

TG_DR_NOINLINE void store_sat8(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o) {
  store_row(p, ch, acc, o, 2);
}
TG_DR_NOINLINE void store_relu(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o) {
  store_row(p, ch, acc, o, 1);
}
TG_DR_NOINLINE void store_any(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o) {
  store_row(p, ch, acc, o, 0);
}

void tg_dwconv_rows_s8(const tg_dwrow_params *p, const int8_t *in, int8_t *out, int16_t *scratch) {
  const int32_t C = p->c, ih = p->in_h, iw = p->in_w, len = p->row_len, ow = p->out_w;
  const int32_t es = p->in_step, rs = p->in_row_step;
  /* which requantization tail: the output zero point folded in and the whole int8 range, or only
     a lower bound (RELU), or anything */
  const int kind = p->out_offset != 0 || p->act_max != 127 ? 0 : p->act_min == -128 ? 2 : 1;
  int16_t *const zrow = scratch + 3 * len;
  int32_t *const acc = (int32_t *)(void *)(zrow + len);
  const int16_t *rows[3];
  int32_t pw[6];
  int32_t c, i, oy, r;
  /* every ring row starts as zero points: the padding columns are never written again */
  for (i = 0; i < 4 * len; ++i) scratch[i] = (int16_t)p->in_zero_point;
  for (c = 0; c < C; ++c) {
    const uint32_t *wg = (const uint32_t *)(const void *)p->w + 3 * c;
    const int32_t *const ch = p->ch + 4 * c;
    int32_t next_row = 0;
    for (r = 0; r < 3; ++r) {
      pw[2 * r] = pair2(wg[r]);
      pw[2 * r + 1] = pair2((wg[r] >> 8) | (wg[r] << 24));
    }
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      int8_t *const o = out + oy * p->out_row_step + c;
      if (next_row < iy0) next_row = iy0; /* rows above the window are never needed again */
      for (r = 0; r < 3; ++r) {
        const int32_t iy = iy0 + r;
        if (iy < 0 || iy >= ih) {
          rows[r] = zrow;
          continue;
        }
        for (; next_row <= iy; ++next_row) {
          /* this channel's input row next_row into its ring slot, as int16 */
          const int8_t *src = in + next_row * rs + c;
          int16_t *dst = scratch + (next_row % 3) * len + p->pad_w;
          int16_t *const dend = dst + (iw & ~3);
          for (; dst < dend; dst += 4, src += 4 * es) {
            dst[0] = src[0];
            dst[1] = src[es];
            dst[2] = src[2 * es];
            dst[3] = src[3 * es];
          }
          for (i = 0; i < (iw & 3); ++i, src += es) dst[i] = src[0];
        }
        rows[r] = scratch + (iy % 3) * len;
      }
      sums3s1(rows[0], rows[1], rows[2], pw, acc, ow);
      if (kind == 2) store_sat8(p, ch, acc, o);
      else if (kind == 1) store_relu(p, ch, acc, o);
      else store_any(p, ch, acc, o);
    }
  }
}
