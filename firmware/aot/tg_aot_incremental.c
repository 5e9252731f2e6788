/* tinygen AOT runtime: incremental (sliding-window) inference helpers (tg_aot_incremental.h). */
#include "tg_aot_incremental.h"

#include <string.h>

/* 1 when a[0..n) == b[0..n); word loads through memcpy (any alignment, one LDR on Cortex-M). */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n) {
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint32_t x0, x1, y0, y1;
    memcpy(&x0, a + i, 4);
    memcpy(&y0, b + i, 4);
    memcpy(&x1, a + i + 4, 4);
    memcpy(&y1, b + i + 4, 4);
    if ((x0 ^ y0) | (x1 ^ y1)) return 0;
  }
  for (; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

uint32_t tg_inc_advance(tg_inc_stream *s, const uint8_t *in, uint8_t *hist, uint32_t bytes,
                        uint32_t frame_bytes, uint32_t max_shift) {
  uint32_t k, found = 0;
  if (s->have) {
    for (k = 1; k <= max_shift && k * frame_bytes < bytes; ++k) {
      if (same_bytes(in, hist + k * frame_bytes, bytes - k * frame_bytes)) {
        found = k;
        break;
      }
    }
  }
  s->seq = found ? s->seq + found : 0;
  s->have = 1;
  memcpy(hist, in, bytes);
  return found;
}

void tg_inc_pad_rows(const tg_inc_rows *p, const int8_t *src, int8_t *dst) {
  const int32_t width = p->pad_left + p->row_bytes + p->pad_right;
  int32_t r;
  for (r = 0; r < p->rows; ++r, dst += width) {
    const int32_t y = p->first_row + r;
    if (y < 0 || y >= p->in_rows) {
      memset(dst, p->zero_point, (size_t)width);
      continue;
    }
    if (p->pad_left) memset(dst, p->zero_point, (size_t)p->pad_left);
    memcpy(dst + p->pad_left, src + y * p->row_bytes, (size_t)p->row_bytes);
    if (p->pad_right) memset(dst + p->pad_left + p->row_bytes, p->zero_point, (size_t)p->pad_right);
  }
}

void tg_inc_shift_up(uint8_t *buf, uint32_t rows, uint32_t row_bytes) {
  if (rows > 1) memmove(buf, buf + row_bytes, (size_t)(rows - 1) * row_bytes);
}
