/* tinygen AOT runtime: CONV_2D, int8 with per-channel requantization (NHWC input, OHWI filter). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"

/* Sum of the weights of output channel `w` over the filter window rows/cols that are in bounds. */
static int32_t window_weight_sum(const int8_t *w, int32_t k_w, int32_t fic, int32_t y0, int32_t y1,
                                 int32_t x0, int32_t x1) {
  int32_t s = 0, y, i;
  for (y = y0; y < y1; ++y) {
    const int8_t *r = w + (y * k_w + x0) * fic;
    for (i = 0; i < (x1 - x0) * fic; ++i) s += r[i];
  }
  return s;
}

/* Copy the receptive field of output pixel (oy, ox) into `patch` (k_h * k_w * in_c bytes); taps in
 * the padding get the input zero point, which contributes nothing once the offset is folded in. */
void tg_im2col_s8(const tg_conv_params *p, const int8_t *img, int32_t oy, int32_t ox, int8_t *patch) {
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  const int32_t row = p->k_w * p->in_c;
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky, patch += row) {
    const int32_t iy = iy0 + ky * p->dil_h;
    if (iy < 0 || iy >= p->in_h) {
      memset(patch, p->in_zero_point, (size_t)row);
    } else if (p->dil_w == 1) {
      /* the in-bounds taps of a filter row are one contiguous run of the input */
      const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
      const int32_t kx1 = ix0 + p->k_w > p->in_w ? p->in_w - ix0 : p->k_w;
      if (kx0 == 0 && kx1 == p->k_w && row <= 16) {
        /* a short filter row wholly inside: word copies (constant-size memcpy is one LDR and STR),
           not a library call */
        const int8_t *src = img + (iy * p->in_w + ix0) * p->in_c;
        int32_t i = 0;
        for (; i + 4 <= row; i += 4) memcpy(patch + i, src + i, 4);
        for (; i < row; ++i) patch[i] = src[i];
        continue;
      }
      if (kx0 > 0) memset(patch, p->in_zero_point, (size_t)(kx0 * p->in_c));
      if (kx1 > kx0) memcpy(patch + kx0 * p->in_c, img + (iy * p->in_w + ix0 + kx0) * p->in_c, (size_t)((kx1 - kx0) * p->in_c));
      if (kx1 < p->k_w) memset(patch + (kx1 > kx0 ? kx1 : kx0) * p->in_c, p->in_zero_point, (size_t)((p->k_w - (kx1 > kx0 ? kx1 : kx0)) * p->in_c));
    } else {
      for (kx = 0; kx < p->k_w; ++kx) {
        const int32_t ix = ix0 + kx * p->dil_w;
        if (ix < 0 || ix >= p->in_w) {
          memset(patch + kx * p->in_c, p->in_zero_point, (size_t)p->in_c);
        } else {
          memcpy(patch + kx * p->in_c, img + (iy * p->in_w + ix) * p->in_c, (size_t)p->in_c);
        }
      }
    }
  }
}

static void conv_generic(const tg_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out);

/* The matrix product for these weights: int8 pair-interleaved, widened (wide 1, by channel pairs 3), quads (2) or
 * k = 8 streams (4, pointwise only: rows of in_c = 8 bytes, outputs out_c apart). */
static void mm(const tg_conv_params *p, const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w,
               int32_t k, int8_t *out) {
  if (p->wide == 4) {
    (void)a_stride;
    (void)k;
    tg_pw8_s8(a, rows, (const int32_t *)(const void *)w, p->out_c, out);
  } else if (p->wide == 3) {
    tg_mm_wp_s8(a, rows, a_stride, (const int32_t *)(const void *)w, p->out_c, k, &p->rq, out, p->out_c);
  } else if (p->wide == 2) {
    tg_mm_q8_s8(a, rows, a_stride, w, p->out_c, k, &p->rq, out, p->out_c);
  } else if (p->wide) {
    tg_mm_wide_s8(a, rows, a_stride, (const int32_t *)(const void *)w, p->out_c, k, &p->rq, out, p->out_c);
  } else {
    tg_mm_s8(a, rows, a_stride, w, p->out_c, k, &p->rq, out, p->out_c);
  }
}

void tg_conv_s8(const tg_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, int8_t *scratch) {
  const int32_t pixels = p->out_h * p->out_w;
  const int32_t k = p->k_h * p->k_w * p->in_c;
  int32_t n, i;
  if (p->filter_in_c != p->in_c) {
    conv_generic(p, in, w, out);
    return;
  }
  if (p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0) {
    /* pointwise: every pixel is already a row of the matrix product */
    const int32_t rows = p->batches * pixels;
    if ((const void *)in != (const void *)out) {
      mm(p, in, rows, p->in_c, w, p->in_c, out);
      return;
    }
    /* In place (the planner gave output and input the same bytes): inplace_rows pixels at a time
     * (two when 0) are copied to scratch before their outputs overwrite them. Outputs no wider
     * than inputs go front to back, wider ones back to front, so no unread pixel is ever
     * overwritten. */
    const int32_t b = p->inplace_rows > 2 ? p->inplace_rows : 2;
    if (p->out_c <= p->in_c) {
      for (i = 0; i < rows; i += b) {
        const int32_t r = rows - i < b ? rows - i : b;
        memcpy(scratch, in + i * p->in_c, (size_t)(r * p->in_c));
        mm(p, scratch, r, p->in_c, w, p->in_c, out + i * p->out_c);
      }
    } else {
      for (i = rows > 0 ? (rows - 1) / b * b : -1; i >= 0; i -= b) {
        const int32_t r = rows - i < b ? rows - i : b;
        memcpy(scratch, in + i * p->in_c, (size_t)(r * p->in_c));
        mm(p, scratch, r, p->in_c, w, p->in_c, out + i * p->out_c);
      }
    }
    return;
  }
  /* patches padded to k_pad bytes meet zero weights: whatever the pad bytes hold adds nothing */
  const int32_t kp = p->k_pad > 0 ? p->k_pad : k;
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->in_c;
    int8_t *o = out + n * pixels * p->out_c;
    if (p->wide == 5) {
      tg_conv_rgb_s8(p, img, (const int32_t *)(const void *)w, o);
      continue;
    }
    if (p->wide == 3 && tg_conv_wp_s8(p, img, (const int32_t *)(const void *)w, o)) continue;
    for (i = 0; i < pixels; i += 2) {
      const int32_t rows = i + 1 < pixels ? 2 : 1;
      tg_im2col_s8(p, img, i / p->out_w, i % p->out_w, scratch);
      if (rows == 2) tg_im2col_s8(p, img, (i + 1) / p->out_w, (i + 1) % p->out_w, scratch + kp);
      mm(p, scratch, rows, kp, w, kp, o + i * p->out_c);
    }
  }
}

/* Grouped convolutions: one dot product per tap row, offsets applied only to in-bounds taps. */
static void conv_generic(const tg_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  const int32_t filter_size = p->k_h * p->k_w * p->filter_in_c;
  const int32_t per_group = p->out_c / (p->in_c / p->filter_in_c);
  int32_t n, oy, ox, c;
  for (n = 0; n < p->batches; ++n) {
    const int8_t *img = in + n * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t iy0 = oy * p->stride_h - p->pad_h;
      /* filter rows inside the image: ky in [ky0, ky1) */
      int32_t ky0 = 0, ky1 = p->k_h;
      while (ky0 < p->k_h && iy0 + ky0 * p->dil_h < 0) ++ky0;
      while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx0 = 0, kx1 = p->k_w;
        int8_t *o = out + ((n * p->out_h + oy) * p->out_w + ox) * p->out_c;
        int full;
        while (kx0 < p->k_w && ix0 + kx0 * p->dil_w < 0) ++kx0;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
        full = ky0 == 0 && ky1 == p->k_h && kx0 == 0 && kx1 == p->k_w;
        for (c = 0; c < p->out_c; ++c) {
          const int8_t *wc = w + c * filter_size;
          const int32_t cin0 = (c / per_group) * p->filter_in_c;
          uint32_t acc = 0;
          int32_t ky, kx;
          if (p->dil_w == 1 && p->filter_in_c == p->in_c) {
            /* whole filter rows are contiguous in input and weights */
            for (ky = ky0; ky < ky1; ++ky) {
              const int8_t *x = img + ((iy0 + ky * p->dil_h) * p->in_w + ix0 + kx0) * p->in_c;
              acc += (uint32_t)tg_dot_s8(x, wc + (ky * p->k_w + kx0) * p->filter_in_c,
                                         (kx1 - kx0) * p->in_c);
            }
          } else {
            for (ky = ky0; ky < ky1; ++ky) {
              for (kx = kx0; kx < kx1; ++kx) {
                const int8_t *x =
                    img + ((iy0 + ky * p->dil_h) * p->in_w + ix0 + kx * p->dil_w) * p->in_c + cin0;
                acc += (uint32_t)tg_dot_s8(x, wc + (ky * p->k_w + kx) * p->filter_in_c,
                                           p->filter_in_c);
              }
            }
          }
          if (full) {
            acc += (uint32_t)p->bias_folded[c];
          } else {
            /* padded taps contribute nothing: add the offset only for the taps in bounds */
            int32_t ws;
            if (p->dil_w == 1 && p->dil_h == 1) {
              ws = window_weight_sum(wc, p->k_w, p->filter_in_c, ky0, ky1, kx0, kx1);
            } else {
              ws = 0;
              for (ky = ky0; ky < ky1; ++ky)
                for (kx = kx0; kx < kx1; ++kx)
                  ws += window_weight_sum(wc, p->k_w, p->filter_in_c, ky, ky + 1, kx, kx + 1);
            }
            acc += (uint32_t)p->bias[c] + (uint32_t)(p->in_offset * ws);
          }
          o[c] = (int8_t)tg_clamp(tg_requant((int32_t)acc, p->mult[c], p->shift[c]) + p->out_offset,
                                  p->act_min, p->act_max);
        }
      }
    }
  }
}
