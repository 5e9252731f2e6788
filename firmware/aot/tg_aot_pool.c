/* tinygen AOT runtime: AVERAGE_POOL_2D and MAX_POOL_2D on int8 (window clipped at the borders). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

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

void tg_avgpool_s8(const tg_pool_params *p, const int8_t *in, int8_t *out) {
  int32_t n, oy, ox, c, y, x;
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
          if (count <= 0) {
            acc = 0;
          } else {
            /* round half away from zero */
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          }
          o[c] = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
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
