/* tinygen AOT runtime: FULLY_CONNECTED, int8 (per-tensor or per-channel requantization). */
#include "tg_aot.h"

void tg_fc_s8(const tg_fc_params *p, const int8_t *in, const int8_t *w, int8_t *out) {
  int32_t b, c;
  for (b = 0; b < p->batches; ++b) {
    const int8_t *row = in + b * p->in_depth;
    for (c = 0; c < p->out_depth; ++c) {
      const int k = p->per_channel ? c : 0;
      /* (x + in_offset) . w + bias == x . w + bias_folded */
      int32_t acc = (int32_t)((uint32_t)tg_dot_s8(row, w + c * p->in_depth, p->in_depth) +
                              (uint32_t)p->bias_folded[c]);
      acc = tg_requant(acc, p->mult[k], p->shift[k]) + p->out_offset;
      out[b * p->out_depth + c] = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
    }
  }
}
