/* tinygen AOT runtime: AVERAGE_POOL_2D and MAX_POOL_2D on int8 (window clipped at the borders). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"
#include "tg_aot_simd.h"

typedef struct {
  int32_t y0, y1, x0, x1, iy0, ix0;
} window;

static window clip(const tg_pool_params *p, int32_t oy, int32_t ox) {
  window w;
  w.iy0 = oy * p->stride_h - p->pad_h;
  w.ix0 = ox * p->stride_w - p->pad_w;
  w.y0 = w.iy0 < 0 ? -w.iy0 : 0;
  w.x0 = w.ix0 < 0 ? -w.ix0 : 0;
  w.y1 = p->k_h < p->in_h - w.iy0 ? p->k_h : p->in_h - w.iy0;
  w.x1 = p->k_w < p->in_w - w.ix0 ? p->k_w : p->in_w - w.ix0;
  return w;
}

/* Round half away from zero, as TFLM's reference average pool; count <= 0 gives 0. */
static inline int8_t average(int32_t acc, int32_t count, const tg_pool_params *p) {
  if (count <= 0) {
    acc = 0;
  } else {
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
  }
  return (int8_t)tg_clamp(acc, p->act_min, p->act_max);
}

#if TG_AOT_DSP
/* sxtab16 of v rotated by 8: bytes 1 and 3 added to the two halfword lanes */
static inline int32_t sxtab16_odd(int32_t acc, uint32_t v) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(v));
  return r;
}
#endif

void tg_avgpool_s8(const tg_pool_params *p, const int8_t *in, int8_t *out) {
  int32_t n, oy, ox, c, y, x;
#if TG_AOT_DSP
  /* windows of at most 255 taps: four channels' sums fit two words of int16 lanes (|sum| <= 255 *
     128), one load and two SXTAB16 per pixel and four channels */
  if (p->k_h * p->k_w <= 255) {
    const int32_t C = p->channels, c4 = C & ~3;
    for (n = 0; n < p->batches; ++n) {
      const int8_t *img = in + n * p->in_h * p->in_w * C;
      for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox) {
          const window w = clip(p, oy, ox);
          const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
          const int8_t *base = img + ((w.iy0 + w.y0) * p->in_w + w.ix0 + w.x0) * C;
          int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * C;
          for (c = 0; c < c4; c += 4) {
            int32_t e = 0, d = 0;
            const int8_t *row = base + c;
            for (y = w.y0; y < w.y1; ++y, row += p->in_w * C) {
              const int8_t *px = row;
              for (x = w.x0; x < w.x1; ++x, px += C) {
                const uint32_t v = tg_load_u32(px);
                e = __sxtab16(e, (int32_t)v);
                d = sxtab16_odd(d, v);
              }
            }
            o[c] = average((int16_t)(e & 0xFFFF), count, p);
            o[c + 1] = average((int16_t)(d & 0xFFFF), count, p);
            o[c + 2] = average(e >> 16, count, p);
            o[c + 3] = average(d >> 16, count, p);
          }
          for (; c < C; ++c) {
            int32_t acc = 0;
            for (y = w.y0; y < w.y1; ++y)
              for (x = w.x0; x < w.x1; ++x) acc += img[((w.iy0 + y) * p->in_w + w.ix0 + x) * C + c];
            o[c] = average(acc, count, p);
          }
        }
      }
    }
    return;
  }
#endif
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->channels;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        const window w = clip(p, oy, ox);
        const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * p->channels;
        for (c = 0; c < p->channels; ++c) {
          int32_t acc = 0;
          for (y = w.y0; y < w.y1; ++y)
            for (x = w.x0; x < w.x1; ++x) acc += img[((w.iy0 + y) * p->in_w + w.ix0 + x) * p->channels + c];
          o[c] = average(acc, count, p);
        }
      }
    }
  }
}

void tg_maxpool_s8(const tg_pool_params *p, const int8_t *in, int8_t *out) {
  int32_t n, oy, ox, c, y, x;
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->channels;
    for (oy = 0; oy < p->out_h; ++oy) {
      for (ox = 0; ox < p->out_w; ++ox) {
        const window w = clip(p, oy, ox);
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * p->channels;
        for (c = 0; c < p->channels; ++c) {
          int32_t m = -128;
          for (y = w.y0; y < w.y1; ++y)
            for (x = w.x0; x < w.x1; ++x) {
              const int32_t v = img[((w.iy0 + y) * p->in_w + w.ix0 + x) * p->channels + c];
              if (v > m) m = v;
            }
          o[c] = (int8_t)tg_clamp(m, p->act_min, p->act_max);
        }
      }
    }
  }
}
