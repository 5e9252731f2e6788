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
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * oc;
        const int8_t *wg = w;
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
