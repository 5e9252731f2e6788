/* tinygen AOT runtime: data movement for any element size (slices, concatenation, padding). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"

void tg_copy_blocks(void *dst, int32_t dst_stride, const void *src, int32_t src_stride,
                    int32_t block, int32_t count) {
  uint8_t *d = (uint8_t *)dst;
  const uint8_t *s = (const uint8_t *)src;
  int32_t i;
  for (i = 0; i < count; ++i) memmove(d + i * dst_stride, s + i * src_stride, (size_t)block);
}

void tg_strided_slice(const tg_slice_params *p, const void *in, void *out) {
  /* odometer over the outer axes; the inner axes tinygen merged are one contiguous run */
  int32_t idx[6] = {0, 0, 0, 0, 0, 0};
  int32_t src = p->base, d, total = 1, i;
  const int32_t eb = p->elem_bytes;
  uint8_t *o = (uint8_t *)out;
  const uint8_t *x = (const uint8_t *)in;
  for (d = 0; d < p->dims; ++d) {
    total *= p->stop_count[d];
    src += p->start[d] * p->in_stride[d];
  }
  for (i = 0; i < total; ++i) {
    memcpy(o, x + src * eb, (size_t)p->run_bytes);
    o += p->run_bytes;
    for (d = p->dims - 1; d >= 0; --d) {
      src += p->step[d] * p->in_stride[d];
      if (++idx[d] < p->stop_count[d]) break;
      src -= p->step[d] * p->in_stride[d] * p->stop_count[d];
      idx[d] = 0;
    }
  }
}

void tg_pad(const tg_pad_params *p, const void *in, void *out) {
  int32_t out_stride[6], in_rows = 1, d, r, total = 1, i;
  const int32_t eb = p->elem_bytes, last = p->dims - 1;
  const int32_t row_bytes = p->in_shape[last] * eb;
  uint8_t *o = (uint8_t *)out;
  const uint8_t *x = (const uint8_t *)in;
  for (d = last; d >= 0; --d) {
    out_stride[d] = total;
    total *= p->out_shape[d];
  }
  for (i = 0; i < total; ++i) memcpy(o + i * eb, p->pad_value, (size_t)eb);
  for (d = 0; d < last; ++d) in_rows *= p->in_shape[d];
  for (r = 0; r < in_rows; ++r) {
    /* destination of input row r: every outer index shifted by its leading pad */
    int32_t rem = r, dst = p->before[last];
    for (d = last - 1; d >= 0; --d) {
      dst += (rem % p->in_shape[d] + p->before[d]) * out_stride[d];
      rem /= p->in_shape[d];
    }
    memcpy(o + dst * eb, x + r * row_bytes, (size_t)row_bytes);
  }
}
