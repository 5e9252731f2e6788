/* tinygen AOT runtime: DEPTHWISE_CONV_2D, int8 with per-channel requantization.
 *
 * Every filter tap is a pointer: to the input pixel, or for taps in the padding to a row filled
 * with the input zero point, which contributes nothing once the input offset is folded into the
 * bias at generation time. With depth multiplier 1 the weights are stored by tinygen grouped by
 * four channels ([c/4][tap][4], then the remaining channels [tap][rest]); channels are processed
 * four at a time with the accumulators in registers (SMLABB/SMLATT on DSP cores).
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"
#include "tg_aot_simd.h"

/* Four outputs at once; the requantization constants of channels c..c+3 are adjacent. */
static inline void finish4(const tg_dwconv_params *p, int32_t c, int32_t a0, int32_t a1, int32_t a2,
                           int32_t a3, int8_t *o) {
  const int32_t *b = p->bias + c;
  const tg_rq_ch *q = p->rq + c;
  const int32_t off = p->out_offset, lo = p->act_min, hi = p->act_max;
  if (p->rq_fast) {
    o[c] = (int8_t)tg_clamp(tg_rq_fast(q, (int32_t)((uint32_t)a0 + (uint32_t)b[0])) + off, lo, hi);
    o[c + 1] = (int8_t)tg_clamp(tg_rq_fast(q + 1, (int32_t)((uint32_t)a1 + (uint32_t)b[1])) + off, lo, hi);
    o[c + 2] = (int8_t)tg_clamp(tg_rq_fast(q + 2, (int32_t)((uint32_t)a2 + (uint32_t)b[2])) + off, lo, hi);
    o[c + 3] = (int8_t)tg_clamp(tg_rq_fast(q + 3, (int32_t)((uint32_t)a3 + (uint32_t)b[3])) + off, lo, hi);
  } else {
    o[c] = (int8_t)tg_clamp(tg_rq_apply(q, (int32_t)((uint32_t)a0 + (uint32_t)b[0])) + off, lo, hi);
    o[c + 1] = (int8_t)tg_clamp(tg_rq_apply(q + 1, (int32_t)((uint32_t)a1 + (uint32_t)b[1])) + off, lo, hi);
    o[c + 2] = (int8_t)tg_clamp(tg_rq_apply(q + 2, (int32_t)((uint32_t)a2 + (uint32_t)b[2])) + off, lo, hi);
    o[c + 3] = (int8_t)tg_clamp(tg_rq_apply(q + 3, (int32_t)((uint32_t)a3 + (uint32_t)b[3])) + off, lo, hi);
  }
}

static inline int8_t finish(const tg_dwconv_params *p, int32_t c, int32_t acc) {
  int32_t v;
  acc = (int32_t)((uint32_t)acc + (uint32_t)p->bias[c]);
  v = p->rq_fast ? tg_rq_fast(&p->rq[c], acc) : tg_rq_apply(&p->rq[c], acc);
  return (int8_t)tg_clamp(v + p->out_offset, p->act_min, p->act_max);
}

/* Depth multiplier 1, out_c % 4 == 0, weights widened by tinygen (`widen_dw`): per four channels and
 * tap, words (w_c0 | w_c2 << 16) and (w_c1 | w_c3 << 16), so a tap costs one input load, two SXTB16,
 * one LDRD and four SMLAxy. 3x3 filters are unrolled. */
#if TG_AOT_DSP
/* One tap as one asm block, so the compiler neither hoists the loads of all taps (and spills
 * them) nor splits the LDRD. Volatile: ordered after the barrier that follows the tap setup. */
#define TG_DW_TAP(t) TG_DW_TAP_AT(taps, t)
#define TG_DW_TAP_AT(tp, t)                                                    \
  do {                                                                         \
    int32_t x_, e_, we_, wo_;                                                  \
    __asm__ volatile(                                                          \
        "ldr %[x], [%[taps], %[to]]\n\t"                                       \
        "ldr %[x], [%[base], %[x]]\n\t"                                        \
        "ldrd %[we], %[wo], [%[wp]], #8\n\t"                                   \
        "sxtb16 %[e], %[x]\n\t"                                                \
        "sxtb16 %[x], %[x], ror #8\n\t"                                        \
        "smlabb %[a0], %[e], %[we], %[a0]\n\t"                                 \
        "smlatt %[a2], %[e], %[we], %[a2]\n\t"                                 \
        "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                 \
        "smlatt %[a3], %[x], %[wo], %[a3]"                                     \
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),          \
          [wp] "+r"(wp), [x] "=&r"(x_), [e] "=&r"(e_), [we] "=&r"(we_),        \
          [wo] "=&r"(wo_)                                                      \
        : [taps] "r"(tp), [base] "r"(base), [to] "n"(4 * (t)));              \
  } while (0)
#else
#define TG_DW_LO(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_DW_TAP(t) TG_DW_TAP_AT(taps, t)
#define TG_DW_TAP_AT(tp, t)                                                    \
  do {                                                                         \
    const int8_t *x_ = base + (tp)[t];                                         \
    a0 += x_[0] * TG_DW_LO(wp[0]);                                             \
    a2 += x_[2] * (wp[0] >> 16);                                               \
    a1 += x_[1] * TG_DW_LO(wp[1]);                                             \
    a3 += x_[3] * (wp[1] >> 16);                                               \
    wp += 2;                                                                   \
  } while (0)
#endif

#if defined(__GNUC__)
#define TG_DW_INLINE static inline __attribute__((always_inline))
#else
#define TG_DW_INLINE static inline
#endif

TG_DW_INLINE int8_t finish_wide(const tg_rq_ch *q, int32_t acc, int32_t off, int32_t lo, int32_t hi, const int fast,
                                const int sat8) {
  const int32_t v = (fast ? tg_rq_fast(q, acc) : tg_rq_apply(q, acc)) + off;
#if TG_AOT_DSP
  if (sat8) return (int8_t)__ssat(v, 8);
#else
  (void)sat8;
#endif
  return (int8_t)tg_clamp(v, lo, hi);
}

TG_DW_INLINE void pixel_wide(const tg_dwconv_params *p, const int8_t *img, const int32_t *taps, const int32_t *w,
                             int8_t *o, const int fast, const int sat8) {
  const int32_t oc = p->out_c, ntaps = p->k_h * p->k_w;
  const int32_t off = sat8 ? 0 : p->out_offset, lo = p->act_min, hi = p->act_max;
  const int32_t *const bias = p->bias;
  const tg_rq_ch *q = p->rq;
  const int32_t *wp = w;
  const int8_t *base = img;
  int32_t c, t;
#if defined(__GNUC__)
  __asm__ volatile("" ::: "memory");  /* the tap offsets are stored before the taps read them */
#endif
  for (c = 0; c < oc; c += 4, base += 4, q += 4) {
    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
    if (ntaps == 9) {
      TG_DW_TAP(0);
      TG_DW_TAP(1);
      TG_DW_TAP(2);
      TG_DW_TAP(3);
      TG_DW_TAP(4);
      TG_DW_TAP(5);
      TG_DW_TAP(6);
      TG_DW_TAP(7);
      TG_DW_TAP(8);
    } else {
      /* four taps per loop step (immediate tap offsets), then the rest */
      for (t = 0; t + 4 <= ntaps; t += 4) {
        TG_DW_TAP_AT(taps + t, 0);
        TG_DW_TAP_AT(taps + t, 1);
        TG_DW_TAP_AT(taps + t, 2);
        TG_DW_TAP_AT(taps + t, 3);
      }
      for (; t < ntaps; ++t) TG_DW_TAP_AT(taps + t, 0);
    }
    o[c] = finish_wide(q, a0, off, lo, hi, fast, sat8);
    o[c + 1] = finish_wide(q + 1, a1, off, lo, hi, fast, sat8);
    o[c + 2] = finish_wide(q + 2, a2, off, lo, hi, fast, sat8);
    o[c + 3] = finish_wide(q + 3, a3, off, lo, hi, fast, sat8);
  }
}

#if TG_AOT_DSP
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#else
static inline int32_t mulhi_r(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32); }
#endif

/* m3 = the channel's (Q31 multiplier, right shift e, 2^(e-1) [+ out_offset * 2^e]): SMMULR of the
 * doubled sum is TFLM's doubling high multiply (tinygen checked |2 * acc| < 2^31), then its
 * rounding division by 2^e. */
TG_DW_INLINE int8_t finish_mh(const int32_t *m3, int32_t acc, int32_t off, int32_t lo, int32_t hi, const int sat8) {
  const int32_t x = mulhi_r((int32_t)((uint32_t)acc << 1), m3[0]);
  const int32_t v = ((x + m3[2] + (x >> 31)) >> m3[1]) + off;
#if TG_AOT_DSP
  if (sat8) return (int8_t)__ssat(v, 8);
#else
  (void)sat8;
#endif
  return (int8_t)tg_clamp(v, lo, hi);
}

/* pixel_wide with the requantization from p->mh (tinygen/codegen/aot/ops/nn.py). */
TG_DW_INLINE void pixel_wide_mh(const tg_dwconv_params *p, const int8_t *img, const int32_t *taps, const int32_t *w,
                                int8_t *o, const int sat8) {
  const int32_t oc = p->out_c, ntaps = p->k_h * p->k_w;
  const int32_t off = sat8 ? 0 : p->out_offset, lo = p->act_min, hi = p->act_max;
  const int32_t *const bias = p->bias;
  const int32_t *m3 = p->mh;
  const int32_t *wp = w;
  const int8_t *base = img;
  int32_t c, t;
#if defined(__GNUC__)
  __asm__ volatile("" ::: "memory");  /* the tap offsets are stored before the taps read them */
#endif
  for (c = 0; c < oc; c += 4, base += 4, m3 += 12) {
    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
    if (ntaps == 9) {
      TG_DW_TAP(0);
      TG_DW_TAP(1);
      TG_DW_TAP(2);
      TG_DW_TAP(3);
      TG_DW_TAP(4);
      TG_DW_TAP(5);
      TG_DW_TAP(6);
      TG_DW_TAP(7);
      TG_DW_TAP(8);
    } else {
      /* four taps per loop step (immediate tap offsets), then the rest */
      for (t = 0; t + 4 <= ntaps; t += 4) {
        TG_DW_TAP_AT(taps + t, 0);
        TG_DW_TAP_AT(taps + t, 1);
        TG_DW_TAP_AT(taps + t, 2);
        TG_DW_TAP_AT(taps + t, 3);
      }
      for (; t < ntaps; ++t) TG_DW_TAP_AT(taps + t, 0);
    }
    o[c] = finish_mh(m3, a0, off, lo, hi, sat8);
    o[c + 1] = finish_mh(m3 + 3, a1, off, lo, hi, sat8);
    o[c + 2] = finish_mh(m3 + 6, a2, off, lo, hi, sat8);
    o[c + 3] = finish_mh(m3 + 9, a3, off, lo, hi, sat8);
  }
}

static void pixel_mh_any(const tg_dwconv_params *p, const int8_t *img, const int32_t *taps, const int32_t *w,
                         int8_t *o) {
  if (p->act_min == -128 && p->act_max == 127 && p->out_offset == 0) {
    pixel_wide_mh(p, img, taps, w, o, 1);
  } else {
    pixel_wide_mh(p, img, taps, w, o, 0);
  }
}

static void pixel_wide_any(const tg_dwconv_params *p, const int8_t *img, const int32_t *taps, const int32_t *w,
                           int8_t *o) {
  /* the common case: one-step requantization, output zero point folded into its constants
   * (out_offset 0), the whole int8 range */
  if (p->rq_fast && p->act_min == -128 && p->act_max == 127 && p->out_offset == 0) {
    pixel_wide(p, img, taps, w, o, 1, 1);
  } else if (p->rq_fast) {
    pixel_wide(p, img, taps, w, o, 1, 0);
  } else {
    pixel_wide(p, img, taps, w, o, p->rq_fast, 0);
  }
}

void tg_dwconv_s8(const tg_dwconv_params *p, const int8_t *in, const int8_t *w, int8_t *out,
                  int32_t *scratch) {
  const int32_t oc = p->out_c, mult = p->depth_mult, ntaps = p->k_h * p->k_w;
  /* four output channels share a weight word: with multiplier 1 they read four input channels,
   * with a multiplier divisible by 4 they all read one input channel */
  const int32_t groups = (mult == 1 || mult % 4 == 0) ? oc / 4 : 0;
  /* scratch: tap offsets (from the image base), one row of zero points (in_c bytes), then (in
   * place) a cache of cache_rows input rows; all of it inside the arena, so offsets fit int32 */
  int32_t *taps = scratch;
  int8_t *zp_row = (int8_t *)(void *)(taps + ntaps);
  int8_t *cache = zp_row + p->in_c;
  /* wide path: tap offsets of an output row's pixels whose taps are all inside the image, for
   * the pixel at ix0 = 0 (others add ix0 * in_c), after the cache */
  int32_t *row_taps = (int32_t *)(void *)(cache + p->cache_rows * p->in_w * p->in_c +
                                          ((4 - (p->in_c + p->cache_rows * p->in_w * p->in_c) % 4) % 4));
  const int32_t row_bytes = p->in_w * p->in_c;
  const int inplace = (const void *)in == (const void *)out && p->cache_rows > 0;
  int32_t n, oy, ox, c, ky, kx, m, t, g, next_row = 0;
  memset(zp_row, p->in_zero_point, (size_t)p->in_c);
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      if (inplace) {
        /* In place: input rows are copied into a ring of cache_rows rows the first time a
         * output row needs them, before output rows overwrite them (tinygen checked at
         * generation time that every row is cached before it is overwritten). */
        const int32_t last = iy0 + (p->k_h - 1) * p->dil_h;
        for (; next_row <= last && next_row < p->in_h; ++next_row) {
          memcpy(cache + (next_row % p->cache_rows) * row_bytes, img + next_row * row_bytes, (size_t)row_bytes);
        }
      }
      int rows_in = p->wide;
      for (ky = 0; ky < p->k_h && rows_in; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) rows_in = 0;
        for (kx = 0; kx < p->k_w && rows_in; ++kx) {
          row_taps[ky * p->k_w + kx] =
              (inplace ? (int32_t)(cache + (iy % p->cache_rows) * row_bytes - img) : iy * row_bytes) +
              kx * p->dil_w * p->in_c;
        }
      }
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * oc;
        const int8_t *wg = w;
        if (rows_in && ix0 >= 0 && ix0 + (p->k_w - 1) * p->dil_w < p->in_w) {
          if (p->mh) pixel_mh_any(p, img + ix0 * p->in_c, row_taps, (const int32_t *)(const void *)w, o);
          else pixel_wide_any(p, img + ix0 * p->in_c, row_taps, (const int32_t *)(const void *)w, o);
          continue;
        }
        for (ky = 0, t = 0; ky < p->k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dil_h;
          for (kx = 0; kx < p->k_w; ++kx, ++t) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
              taps[t] = (int32_t)(zp_row - img);
            } else if (inplace) {
              taps[t] = (int32_t)(cache + (iy % p->cache_rows) * row_bytes + ix * p->in_c - img);
            } else {
              taps[t] = (iy * p->in_w + ix) * p->in_c;
            }
          }
        }
        if (p->wide) {
          if (p->mh) pixel_mh_any(p, img, taps, (const int32_t *)(const void *)w, o);
          else pixel_wide_any(p, img, taps, (const int32_t *)(const void *)w, o);
          continue;
        }
        for (g = 0; g < groups && mult != 1; ++g) {
          const int32_t c0 = 4 * g;
          int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          const int8_t *base = img + c0 / mult;
          for (t = 0; t < ntaps; ++t, wg += 4) {
            const int32_t x = base[taps[t]];
#if TG_AOT_DSP
            const uint32_t wv = tg_load_u32(wg);
            const int32_t xx = (int32_t)(((uint32_t)x & 0xFFFFu) | ((uint32_t)x << 16));
            const int32_t we = tg_sxtb16_even(wv), wo = tg_sxtb16_odd(wv);
            a0 = __smlabb(xx, we, a0);
            a2 = __smlatt(xx, we, a2);
            a1 = __smlabb(xx, wo, a1);
            a3 = __smlatt(xx, wo, a3);
#else
            a0 += x * wg[0];
            a1 += x * wg[1];
            a2 += x * wg[2];
            a3 += x * wg[3];
#endif
          }
          finish4(p, c0, a0, a1, a2, a3, o);
        }
        for (g = 0; g < groups && mult == 1; ++g) {
          const int32_t c0 = 4 * g;
          int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
          const int8_t *base = img + c0;
          for (t = 0; t < ntaps; ++t, wg += 4) {
            const int8_t *xi = base + taps[t];
#if TG_AOT_DSP
            const uint32_t xv = tg_load_u32(xi), wv = tg_load_u32(wg);
            const int32_t xe = tg_sxtb16_even(xv), we = tg_sxtb16_even(wv);
            const int32_t xo = tg_sxtb16_odd(xv), wo = tg_sxtb16_odd(wv);
            a0 = __smlabb(xe, we, a0);
            a2 = __smlatt(xe, we, a2);
            a1 = __smlabb(xo, wo, a1);
            a3 = __smlatt(xo, wo, a3);
#else
            a0 += xi[0] * wg[0];
            a1 += xi[1] * wg[1];
            a2 += xi[2] * wg[2];
            a3 += xi[3] * wg[3];
#endif
          }
          finish4(p, c0, a0, a1, a2, a3, o);
        }
        if (groups > 0 || mult == 1) {
          /* remaining channels (only with multiplier 1): weights [tap][rest] after the groups */
          const int32_t rest = oc - 4 * groups;
          for (c = 4 * groups; c < oc; ++c) {
            int32_t a = 0;
            for (t = 0; t < ntaps; ++t) a += img[taps[t] + c] * wg[t * rest + (c - 4 * groups)];
            o[c] = finish(p, c, a);
          }
        } else {
          /* other depth multipliers: weights in the model's [tap][out_c] layout */
          for (c = 0; c < p->in_c; ++c) {
            for (m = 0; m < mult; ++m) {
              int32_t a = 0;
              for (t = 0; t < ntaps; ++t) a += img[taps[t] + c] * w[t * oc + c * mult + m];
              o[c * mult + m] = finish(p, c * mult + m, a);
            }
          }
        }
      }
    }
  }
}
