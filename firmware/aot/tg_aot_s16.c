/* tinygen AOT runtime: int16x8 kernels (see tg_aot_s16.h), portable and Cortex-M DSP versions. */
#include "tg_aot_opt.h"

#include <string.h>

#include "tg_aot_s16.h"
#include "tg_aot_simd.h"

/* Products per 32-bit partial sum: 511 * 2^22 < 2^31. */
#define TG_S16_CHUNK 511

int32_t tg_dot_s16x8(const int16_t *a, const int8_t *w, int32_t n) {
  int32_t acc = 0;
#if TG_AOT_DSP
  /* Four products per step: weights w0..w3 split into (w0, w2) and (w1, w3), the activations
     re-paired to match (PKHBT/PKHTB). SMLAD's sums stay exact below TG_S16_CHUNK products. */
  while (n >= 4) {
    uint32_t a01, a23;
    memcpy(&a01, a, 4);
    memcpy(&a23, a + 2, 4);
    const uint32_t vw = tg_load_u32(w);
    const int32_t a02 = (int32_t)((a01 & 0xFFFFu) | (a23 << 16));
    const int32_t a13 = (int32_t)((a01 >> 16) | (a23 & 0xFFFF0000u));
    acc = __smlad(a02, tg_sxtb16_even(vw), acc);
    acc = __smlad(a13, tg_sxtb16_odd(vw), acc);
    a += 4;
    w += 4;
    n -= 4;
  }
#endif
  while (n-- > 0) acc += (int32_t)(*a++) * (int32_t)(*w++);
  return acc;
}

/* a . w over n elements into a 64-bit or a wrapping 32-bit accumulator. */
static int64_t dot64(const int16_t *a, const int8_t *w, int32_t n) {
  int64_t acc = 0;
  while (n > TG_S16_CHUNK) {
    acc += tg_dot_s16x8(a, w, TG_S16_CHUNK);
    a += TG_S16_CHUNK;
    w += TG_S16_CHUNK;
    n -= TG_S16_CHUNK;
  }
  return acc + tg_dot_s16x8(a, w, n);
}

/* Two channels' sums over the same n <= TG_S16_CHUNK activations (loaded and re-paired once). */
static void dot2_s16x8(const int16_t *a, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *s0, int32_t *s1) {
  int32_t acc0 = 0, acc1 = 0;
#if TG_AOT_DSP
  while (n >= 4) {
    uint32_t a01, a23;
    memcpy(&a01, a, 4);
    memcpy(&a23, a + 2, 4);
    const uint32_t v0 = tg_load_u32(w0);
    const uint32_t v1 = tg_load_u32(w1);
    const int32_t a02 = (int32_t)((a01 & 0xFFFFu) | (a23 << 16));
    const int32_t a13 = (int32_t)((a01 >> 16) | (a23 & 0xFFFF0000u));
    acc0 = __smlad(a02, tg_sxtb16_even(v0), acc0);
    acc0 = __smlad(a13, tg_sxtb16_odd(v0), acc0);
    acc1 = __smlad(a02, tg_sxtb16_even(v1), acc1);
    acc1 = __smlad(a13, tg_sxtb16_odd(v1), acc1);
    a += 4;
    w0 += 4;
    w1 += 4;
    n -= 4;
  }
#endif
  while (n-- > 0) {
    const int32_t x = *a++;
    acc0 += x * (int32_t)(*w0++);
    acc1 += x * (int32_t)(*w1++);
  }
  *s0 = acc0;
  *s1 = acc1;
}

static void dot64x2(const int16_t *a, const int8_t *w0, const int8_t *w1, int32_t n, int64_t *s0, int64_t *s1) {
  while (n > 0) {
    const int32_t k = n < TG_S16_CHUNK ? n : TG_S16_CHUNK;
    int32_t p0, p1;
    dot2_s16x8(a, w0, w1, k, &p0, &p1);
    *s0 += p0;
    *s1 += p1;
    a += k;
    w0 += k;
    w1 += k;
    n -= k;
  }
}

/* TFLM's MultiplyByQuantizedMultiplier(int64_t, ...) with the multiplier already reduced to Q15
 * and the shift turned into the total right shift. Relies on >> of a negative int64_t being
 * arithmetic (gcc, clang, armcc). */
static inline int32_t rq64(int64_t acc, int32_t mult15, int32_t total_shift) {
  return (int32_t)((acc * mult15 + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}

/* Requantize channel c's accumulator (64-bit sum, or its low 32 bits for the int32 path). */
static inline int16_t requant_s16(const tg_rq_s16 *q, int32_t c, int64_t sum) {
  const int32_t k = q->per_channel ? c : 0;
  int32_t r;
  if (q->acc64) {
    if (q->bias64) sum += q->bias64[c];
    r = rq64(sum, q->mult[k], q->shift[k]);
  } else {
    uint32_t acc = (uint32_t)sum;
    if (q->bias32) acc += (uint32_t)q->bias32[c];
    r = tg_requant((int32_t)acc, q->mult[k], q->shift[k]);
  }
  return (int16_t)tg_clamp(r + q->out_offset, q->act_min, q->act_max);
}

/* Grouped convolutions: output channel oc's accumulator at one pixel, tap by tap over its group. */
static int64_t conv_pixel(const tg_conv_s16_params *p, const int16_t *img, int32_t y0, int32_t x0, int32_t group_c,
                          const int8_t *wc) {
  const int32_t fic = p->filter_in_c;
  int64_t acc = 0;
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t y = y0 + ky * p->dil_h;
    if (y < 0 || y >= p->in_h) continue;
    for (kx = 0; kx < p->k_w; ++kx) {
      const int32_t x = x0 + kx * p->dil_w;
      if (x < 0 || x >= p->in_w) continue;
      acc += dot64(img + ((size_t)y * p->in_w + x) * p->in_c + group_c, wc + ((size_t)ky * p->k_w + kx) * fic, fic);
    }
  }
  return acc;
}

/* The input window of one output pixel as one contiguous run (kernel rows, then columns, then
 * channels: the filter's order); taps outside the image are 0, which adds exactly nothing because
 * int16x8 activations have zero point 0. */
static void im2col_s16(const tg_conv_s16_params *p, const int16_t *img, int32_t y0, int32_t x0, int16_t *col) {
  const size_t row = (size_t)p->in_c * sizeof(int16_t);
  int32_t ky, kx;
  for (ky = 0; ky < p->k_h; ++ky) {
    const int32_t y = y0 + ky * p->dil_h;
    for (kx = 0; kx < p->k_w; ++kx) {
      const int32_t x = x0 + kx * p->dil_w;
      if (y < 0 || y >= p->in_h || x < 0 || x >= p->in_w) {
        memset(col, 0, row);
      } else {
        memcpy(col, img + ((size_t)y * p->in_w + x) * p->in_c, row);
      }
      col += p->in_c;
    }
  }
}

void tg_conv_s16(const tg_conv_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out, int16_t *scratch) {
  const int32_t fic = p->filter_in_c;
  const int32_t per_group = p->out_c / (p->in_c / fic);
  const int32_t k = p->k_h * p->k_w * fic;
  int32_t b, oy, ox, oc;
  for (b = 0; b < p->batches; ++b) {
    const int16_t *img = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        if (scratch) {
          /* not grouped: one window, then two output channels per pass over it */
          im2col_s16(p, img, y0, x0, scratch);
          for (oc = 0; oc + 1 < p->out_c; oc += 2) {
            int64_t s0 = 0, s1 = 0;
            dot64x2(scratch, w + (size_t)oc * k, w + (size_t)(oc + 1) * k, k, &s0, &s1);
            *out++ = requant_s16(&p->rq, oc, s0);
            *out++ = requant_s16(&p->rq, oc + 1, s1);
          }
          if (oc < p->out_c) *out++ = requant_s16(&p->rq, oc, dot64(scratch, w + (size_t)oc * k, k));
          continue;
        }
        for (oc = 0; oc < p->out_c; ++oc)
          *out++ = requant_s16(&p->rq, oc, conv_pixel(p, img, y0, x0, (oc / per_group) * fic, w + (size_t)oc * k));
      }
    }
  }
}

void tg_dwconv_s16(const tg_dwconv_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out) {
  int32_t b, oy, ox, ic, m, ky, kx;
  for (b = 0; b < p->batches; ++b) {
    const int16_t *img = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    for (oy = 0; oy < p->out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < p->out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        for (ic = 0; ic < p->in_c; ++ic) {
          for (m = 0; m < p->depth_mult; ++m) {
            const int32_t oc = m + ic * p->depth_mult;
            int64_t acc = 0;
            for (ky = 0; ky < p->k_h; ++ky) {
              const int32_t y = y0 + ky * p->dil_h;
              if (y < 0 || y >= p->in_h) continue;
              for (kx = 0; kx < p->k_w; ++kx) {
                const int32_t x = x0 + kx * p->dil_w;
                if (x < 0 || x >= p->in_w) continue;
                acc += (int32_t)img[((size_t)y * p->in_w + x) * p->in_c + ic] *
                       (int32_t)w[((size_t)ky * p->k_w + kx) * p->out_c + oc];
              }
            }
            out[oc] = requant_s16(&p->rq, oc, acc);
          }
        }
        out += p->out_c;
      }
    }
  }
}

void tg_fc_s16(const tg_fc_s16_params *p, const int16_t *in, const int8_t *w, int16_t *out) {
  int32_t b, c, d;
  for (b = 0; b < p->batches; ++b) {
    const int16_t *row = in + (size_t)b * p->in_depth;
    for (c = 0; c < p->out_depth; ++c) {
      const int8_t *wc = w + (size_t)c * p->in_depth;
      int64_t acc;
      if (p->in_offset == 0 && p->w_offset == 0) {
        acc = dot64(row, wc, p->in_depth);
      } else {
        acc = 0;
        for (d = 0; d < p->in_depth; ++d)
          acc += (int64_t)((int32_t)wc[d] + p->w_offset) * ((int32_t)row[d] + p->in_offset);
      }
      *out++ = requant_s16(&p->rq, c, acc);
    }
  }
}

static inline int32_t add_sub_one(const tg_add_params *p, int32_t x, int32_t y, int subtract) {
  const int32_t a = tg_requant((int32_t)((uint32_t)(x + p->in1_offset) << p->left_shift), p->in1_mult, p->in1_shift);
  const int32_t b = tg_requant((int32_t)((uint32_t)(y + p->in2_offset) << p->left_shift), p->in2_mult, p->in2_shift);
  const int32_t r = tg_requant(subtract ? a - b : a + b, p->out_mult, p->out_shift) + p->out_offset;
  return tg_clamp(r, p->act_min, p->act_max);
}

/* out[i] = ONE(p, a[..], b[..]) over the output in order; with broadcasting the input indices
 * advance by the per-axis strides (0 along broadcast axes) like an odometer. */
#define TG_S16_BINARY(p, a, b, out, ONE)                                                          \
  do {                                                                                          \
    int32_t i_, d_, i1_ = 0, i2_ = 0, idx_[6] = {0, 0, 0, 0, 0, 0};                             \
    if (!(p)->broadcast) {                                                                      \
      for (i_ = 0; i_ < (p)->size; ++i_) (out)[i_] = ONE((p), (a)[i_], (b)[i_]);               \
      break;                                                                                    \
    }                                                                                           \
    for (i_ = 0; i_ < (p)->size; ++i_) {                                                        \
      (out)[i_] = ONE((p), (a)[i1_], (b)[i2_]);                                                 \
      for (d_ = (p)->dims - 1; d_ >= 0; --d_) {                                                 \
        i1_ += (p)->in1_stride[d_];                                                             \
        i2_ += (p)->in2_stride[d_];                                                             \
        if (++idx_[d_] < (p)->out_shape[d_]) break;                                             \
        i1_ -= (p)->in1_stride[d_] * (p)->out_shape[d_];                                        \
        i2_ -= (p)->in2_stride[d_] * (p)->out_shape[d_];                                        \
        idx_[d_] = 0;                                                                           \
      }                                                                                         \
    }                                                                                           \
  } while (0)

#define TG_ADD16(p, x, y) ((int16_t)add_sub_one((p), (x), (y), 0))
#define TG_SUB16(p, x, y) ((int16_t)add_sub_one((p), (x), (y), 1))
#define TG_SUB8(p, x, y) ((int8_t)add_sub_one((p), (x), (y), 1))

void tg_add_s16(const tg_add_params *p, const int16_t *a, const int16_t *b, int16_t *out) {
  TG_S16_BINARY(p, a, b, out, TG_ADD16);
}

void tg_sub_s16(const tg_add_params *p, const int16_t *a, const int16_t *b, int16_t *out) {
  TG_S16_BINARY(p, a, b, out, TG_SUB16);
}

void tg_sub_s8(const tg_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  TG_S16_BINARY(p, a, b, out, TG_SUB8);
}

static inline int16_t mul_one16(const tg_mul_params *p, int32_t x, int32_t y) {
  const int32_t prod = (x + p->in1_offset) * (y + p->in2_offset);
  const int32_t r = tg_requant(prod, p->out_mult, p->out_shift) + p->out_offset;
  return (int16_t)tg_clamp(r, p->act_min, p->act_max);
}

void tg_mul_s16(const tg_mul_params *p, const int16_t *a, const int16_t *b, int16_t *out) {
  TG_S16_BINARY(p, a, b, out, mul_one16);
}

void tg_leaky_relu(const tg_leaky_relu_params *p, const void *in, void *out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t x = (p->elem_bytes == 2 ? ((const int16_t *)in)[i] : ((const int8_t *)in)[i]) - p->in_zero_point;
    int32_t r = p->out_zero_point;
    if (x >= 0) {
      r += tg_requant(x, p->mult_identity, p->shift_identity);
    } else {
      const int32_t s = tg_requant(x, p->mult_alpha, p->shift_alpha);
      r += p->alpha_negative ? -s : s;
    }
    r = tg_clamp(r, p->q_min, p->q_max);
    if (p->elem_bytes == 2) {
      ((int16_t *)out)[i] = (int16_t)r;
    } else {
      ((int8_t *)out)[i] = (int8_t)r;
    }
  }
}
