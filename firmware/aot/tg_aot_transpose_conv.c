/* tinygen AOT runtime: TRANSPOSE_CONV, int8 and 16x8 (TFLM's reference_integer_ops::TransposeConv).
 *
 * Every input pixel scatters (x + in_offset) * w into a k_h x k_w patch of output accumulators
 * (int32 for int8, int64 for 16x8); then bias, per-channel requantization and the clamp. Weights
 * are stored [k_h][k_w][in_c][out_c] (transposed at generation time) so the innermost loop runs
 * over contiguous output channels; integer sums do not depend on the order.
 */
#include <string.h>

#include "tg_aot_seq.h"

/* TFLM's MultiplyByQuantizedMultiplier(int64_t, ...): a 16-bit multiplier and one rounding. */
static int32_t requant64(int64_t x, int32_t multiplier, int32_t shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - (int)shift;
  return (int32_t)((x * (int64_t)reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}

/* The k_h x k_w patch of input pixel (iy, ix): [y0, y1) x [x0, x1) in filter coordinates. */
static void patch(const tg_tconv_params *p, int32_t iy, int32_t ix, int32_t *y0, int32_t *y1,
                  int32_t *x0, int32_t *x1) {
  const int32_t oy = iy * p->stride_h - p->pad_h, ox = ix * p->stride_w - p->pad_w;
  *y0 = oy < 0 ? -oy : 0;
  *y1 = p->out_h - oy < p->k_h ? p->out_h - oy : p->k_h;
  *x0 = ox < 0 ? -ox : 0;
  *x1 = p->out_w - ox < p->k_w ? p->out_w - ox : p->k_w;
}

void tg_tconv_s8(const tg_tconv_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                 int8_t *out, int32_t *scratch) {
  const int32_t n_out = p->out_h * p->out_w * p->out_c;
  int32_t b, iy, ix, fy, fx, ic, oc, i;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *x = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    int8_t *y = out + (size_t)b * n_out;
    memset(scratch, 0, (size_t)n_out * sizeof(int32_t));
    for (iy = 0; iy < p->in_h; ++iy) {
      for (ix = 0; ix < p->in_w; ++ix) {
        const int8_t *px = x + (iy * p->in_w + ix) * p->in_c;
        int32_t y0, y1, x0, x1;
        patch(p, iy, ix, &y0, &y1, &x0, &x1);
        for (fy = y0; fy < y1; ++fy) {
          for (fx = x0; fx < x1; ++fx) {
            const int32_t o = ((iy * p->stride_h - p->pad_h + fy) * p->out_w + ix * p->stride_w - p->pad_w + fx);
            int32_t *acc = scratch + o * p->out_c;
            const int8_t *wk = w + (fy * p->k_w + fx) * p->in_c * p->out_c;
            for (ic = 0; ic < p->in_c; ++ic) {
              const int32_t v = px[ic] + p->in_offset;
              const int8_t *wr = wk + ic * p->out_c;
              for (oc = 0; oc < p->out_c; ++oc) acc[oc] += v * wr[oc];
            }
          }
        }
      }
    }
    for (i = 0; i < n_out; ++i) {
      const int32_t c = i % p->out_c;
      int32_t acc = scratch[i] + (bias ? bias[c] : 0);
      acc = tg_requant(acc, p->mult[c], p->shift[c]) + p->out_offset;
      y[i] = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
    }
  }
}

void tg_tconv_s16(const tg_tconv_params *p, const int16_t *in, const int8_t *w, const int64_t *bias,
                  int16_t *out, int64_t *scratch) {
  const int32_t n_out = p->out_h * p->out_w * p->out_c;
  int32_t b, iy, ix, fy, fx, ic, oc, i;
  for (b = 0; b < p->batches; ++b) {
    const int16_t *x = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    int16_t *y = out + (size_t)b * n_out;
    memset(scratch, 0, (size_t)n_out * sizeof(int64_t));
    for (iy = 0; iy < p->in_h; ++iy) {
      for (ix = 0; ix < p->in_w; ++ix) {
        const int16_t *px = x + (iy * p->in_w + ix) * p->in_c;
        int32_t y0, y1, x0, x1;
        patch(p, iy, ix, &y0, &y1, &x0, &x1);
        for (fy = y0; fy < y1; ++fy) {
          for (fx = x0; fx < x1; ++fx) {
            const int32_t o = ((iy * p->stride_h - p->pad_h + fy) * p->out_w + ix * p->stride_w - p->pad_w + fx);
            int64_t *acc = scratch + o * p->out_c;
            const int8_t *wk = w + (fy * p->k_w + fx) * p->in_c * p->out_c;
            for (ic = 0; ic < p->in_c; ++ic) {
              const int32_t v = px[ic];
              const int8_t *wr = wk + ic * p->out_c;
              /* |v * w| < 2^22: each product fits in int32 before it is widened */
              for (oc = 0; oc < p->out_c; ++oc) acc[oc] += (int32_t)(v * wr[oc]);
            }
          }
        }
      }
    }
    for (i = 0; i < n_out; ++i) {
      const int32_t c = i % p->out_c;
      const int64_t acc = scratch[i] + (bias ? bias[c] : 0);
      y[i] = (int16_t)tg_clamp(requant64(acc, p->mult[c], p->shift[c]), p->act_min, p->act_max);
    }
  }
}
