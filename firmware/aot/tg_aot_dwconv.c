/* tinygen AOT runtime: DEPTHWISE_CONV_2D, int8 with per-channel requantization.
 *
 * Accumulates a whole output pixel at once (all channels, one filter tap at a time) into an
 * int32 scratch row, so input and weights are read sequentially.
 */
#include "tg_aot.h"

void tg_dwconv_s8(const tg_dwconv_params *p, const int8_t *in, const int8_t *w, int8_t *out,
                  int32_t *acc) {
  const int32_t oc = p->out_c, mult = p->depth_mult;
  int32_t n, oy, ox, c, ky, kx, m;
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * oc;
        int full = 1;
        for (c = 0; c < oc; ++c) acc[c] = 0;
        for (ky = 0; ky < p->k_h; ++ky) {
          const int32_t iy = iy0 + ky * p->dil_h;
          if (iy < 0 || iy >= p->in_h) {
            full = 0;
            continue;
          }
          for (kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            const int8_t *x;
            const int8_t *wt;
            if (ix < 0 || ix >= p->in_w) {
              full = 0;
              continue;
            }
            x = img + (iy * p->in_w + ix) * p->in_c;
            wt = w + (ky * p->k_w + kx) * oc;
            if (mult == 1) {
              for (c = 0; c < oc; ++c) acc[c] += (int32_t)x[c] * (int32_t)wt[c];
            } else {
              for (c = 0; c < p->in_c; ++c)
                for (m = 0; m < mult; ++m) acc[c * mult + m] += (int32_t)x[c] * (int32_t)wt[c * mult + m];
            }
          }
        }
        if (full) {
          for (c = 0; c < oc; ++c) acc[c] = (int32_t)((uint32_t)acc[c] + (uint32_t)p->bias_folded[c]);
        } else {
          /* the offset only applies to taps inside the image */
          for (ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = ix0 + kx * p->dil_w;
              const int8_t *wt = w + (ky * p->k_w + kx) * oc;
              if (ix < 0 || ix >= p->in_w) continue;
              for (c = 0; c < oc; ++c) acc[c] += p->in_offset * (int32_t)wt[c];
            }
          }
          for (c = 0; c < oc; ++c) acc[c] = (int32_t)((uint32_t)acc[c] + (uint32_t)p->bias[c]);
        }
        for (c = 0; c < oc; ++c) {
          o[c] = (int8_t)tg_clamp(tg_requant(acc[c], p->mult[c], p->shift[c]) + p->out_offset,
                                  p->act_min, p->act_max);
        }
      }
    }
  }
}
