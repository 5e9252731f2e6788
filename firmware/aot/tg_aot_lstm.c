/* tinygen AOT runtime: UNIDIRECTIONAL_SEQUENCE_LSTM, int8 input and hidden state, int16 cell state
 * (TFLM's lstm_eval.h integer path: LstmStep with ActivationType int8, CellType int16).
 *
 * Per time step and batch row: four gates, each an int8 x int8 FULLY_CONNECTED of the input and
 * of the previous hidden state into int16 (Q3.12) added with saturation, then sigmoid (or tanh
 * for the cell gate) in Q0.15; cell = forget * cell + input * cell_gate (saturated, clipped);
 * hidden = output_gate * tanh(cell) requantized to int8; the hidden state is the output row.
 * Sigmoid and tanh use TFLM's 256-entry table with linear interpolation, as its int16 kernels do.
 */
#include <string.h>

#include "tg_aot_seq.h"

/* sigmoid(i / 24) in Q0.16 (TFLM's sigmoid_table_uint16; tanh(x) = 2 sigmoid(2x) - 1) */
static const uint16_t kSigmoidTable[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
};

static int16_t sat16(int32_t x) { return (int16_t)tg_clamp(x, -32768, 32767); }

/* reference_integer_ops::Logistic(0, 0, ...): Q3.12 in, Q0.15 out */
static int16_t sigmoid16(int16_t x) {
  const int32_t v = x * 3;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t h = a >> 9;
  uint32_t r;
  if (h >= 255) {
    r = 0x7FFFu << 10;
  } else {
    const uint32_t ua = kSigmoidTable[h], ub = kSigmoidTable[h + 1];
    r = (ua << 9) + (a & 0x1FFu) * (ub - ua);
  }
  r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
  return (int16_t)(r >> 10);
}

/* reference_integer_ops::Tanh(mult, shift, ...) with the power-of-two case already resolved */
static int16_t tanh16(int16_t x, int32_t mult, int32_t shift) {
  const int32_t round = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
  const int32_t v = (x * mult + round) >> shift;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t h = a >> 8;
  int32_t r;
  if (h >= 255) {
    r = (int32_t)(0xFFFFu << 8);
  } else {
    const uint32_t ua = kSigmoidTable[h], ub = kSigmoidTable[h + 1];
    r = (int32_t)((ua << 8) + (a & 0xFFu) * (ub - ua));
  }
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return (int16_t)(r >> 8);
}

static int32_t dot(const int8_t *w, const int8_t *x, int32_t n, int32_t acc) {
  int32_t i;
  for (i = 0; i < n; ++i) acc += w[i] * x[i];
  return acc;
}

/* One gate for one row: int16 pre-activation, then sigmoid, or tanh with TFLM's gate scaling. */
static void gate(const tg_lstm_params *p, const tg_lstm_gate *g, const int8_t *x, const int8_t *h, int is_tanh,
                 int16_t *out) {
  int32_t u;
  for (u = 0; u < p->state_size; ++u) {
    const int32_t a = dot(g->in_w + u * p->input_size, x, p->input_size, g->in_bias[u]);
    const int32_t r = dot(g->rec_w + u * p->state_size, h, p->state_size, g->rec_bias[u]);
    const int16_t pre = sat16(sat16(tg_requant(a, g->in_mult, g->in_shift)) +
                              sat16(tg_requant(r, g->rec_mult, g->rec_shift)));
    out[u] = is_tanh ? tanh16(pre, 3, 0) : sigmoid16(pre);
  }
}

static void step(const tg_lstm_params *p, const int8_t *x, int8_t *h, int16_t *c, int8_t *y, int16_t *scratch) {
  const int32_t n = p->state_size;
  int16_t *forget = scratch, *input = scratch + n, *cell_gate = scratch + 2 * n, *output = scratch + 3 * n;
  int32_t u;
  gate(p, &p->forget, x, h, 0, forget);
  gate(p, &p->input, x, h, 0, input);
  gate(p, &p->cell, x, h, 1, cell_gate);
  gate(p, &p->output, x, h, 0, output);
  for (u = 0; u < n; ++u) {
    const int16_t kept = sat16(tg_requant(forget[u] * c[u], p->forget_cell_mult, p->forget_cell_shift));
    const int16_t added = sat16(tg_requant(input[u] * cell_gate[u], p->input_cell_mult, p->input_cell_shift));
    int16_t v = sat16(kept + added);
    if (p->cell_clip >= 0) v = (int16_t)tg_clamp(v, -p->cell_clip, p->cell_clip);
    c[u] = v;
  }
  for (u = 0; u < n; ++u) {
    const int32_t t = tanh16(c[u], p->cell_tanh_mult, p->cell_tanh_shift);
    const int32_t v = tg_requant(t * output[u], p->hidden_mult, p->hidden_shift) + p->hidden_zero_point;
    h[u] = (int8_t)tg_clamp(v, -128, 127);
  }
  memcpy(y, h, (size_t)n);
}

void tg_lstm_s8(const tg_lstm_params *p, const int8_t *in, int8_t *hidden, int16_t *cell, int8_t *out,
                int16_t *scratch) {
  int32_t b, t;
  for (b = 0; b < p->batches; ++b) {
    for (t = 0; t < p->steps; ++t) {
      /* rows of [batch][time] (or [time][batch] when time major); state rows per batch */
      const int32_t row = p->time_major ? t * p->batches + b : b * p->steps + t;
      step(p, in + row * p->input_size, hidden + b * p->state_size, cell + b * p->state_size,
           out + row * p->state_size, scratch);
    }
  }
}
