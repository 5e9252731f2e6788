/* tinygen AOT runtime: incremental (sliding-window) inference helpers.
 *
 * A model whose leading layers work on rows of a time axis (convolutions, depthwise convolutions,
 * per-row elementwise ops) can reuse, for a window that moved on by one frame, the rows of those
 * layers' outputs an earlier window already computed. The generated model
 * (tinygen/codegen/aot/incremental.py) keeps one cache per layer and phase; these helpers detect
 * the shift by comparing the new input with the previous one (so the result never depends on the
 * caller: any other input recomputes everything) and build the padded input rows of the edge
 * rows that padding makes depend on the window position. docs/aot.md, "Incremental inference".
 */
#ifndef TINYGEN_TG_AOT_INCREMENTAL_H_
#define TINYGEN_TG_AOT_INCREMENTAL_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint32_t seq;  /* frames the window advanced since the last discontinuity */
  uint32_t have; /* 1 once `hist` holds a window */
} tg_inc_stream;

/* Compare the new window `in` (bytes, frames of frame_bytes) with the previous one in `hist`.
 * Returns k (1..max_shift) when `in` is the previous window moved on by k frames, and advances
 * s->seq by k; returns 0 for anything else (first window, other data), and sets s->seq = 0.
 * `hist` holds `in` afterwards. */
uint32_t tg_inc_advance(tg_inc_stream *s, const uint8_t *in, uint8_t *hist, uint32_t bytes,
                        uint32_t frame_bytes, uint32_t max_shift);

/* Rows first_row .. first_row + rows - 1 of an [in_rows][row_elems] int8 image as a padded block:
 * rows outside the image and pad_left/pad_right bytes on each side hold the zero point. */
typedef struct {
  int32_t in_rows, row_bytes;   /* source image */
  int32_t first_row, rows;      /* rows to copy (first_row may be negative) */
  int32_t pad_left, pad_right;  /* bytes of zero point before / after each row */
  int32_t zero_point;
} tg_inc_rows;

void tg_inc_pad_rows(const tg_inc_rows *p, const int8_t *src, int8_t *dst);

/* Rows 1 .. rows-1 of buf move to 0 .. rows-2 (the window moved on by one output row). */
void tg_inc_shift_up(uint8_t *buf, uint32_t rows, uint32_t row_bytes);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_INCREMENTAL_H_ */
