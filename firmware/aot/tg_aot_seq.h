/* tinygen AOT runtime: sequence and upsampling kernels (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM,
 * TRANSPOSE_CONV), bit-exact with TFLite Micro's reference kernels.
 *
 * Like every tinygen kernel they take a const parameter block filled in at generation time.
 * Recurrent state (the SVDF activation state, the LSTM hidden and cell states) lives in
 * persistent buffers outside the arena that the model's init()/reset() fill as TFLM's
 * ResetVariableTensors does.
 */
#ifndef TINYGEN_TG_AOT_SEQ_H_
#define TINYGEN_TG_AOT_SEQ_H_

#include "tg_aot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- SVDF: int8 input/weights_feature/output, int8 or int16 weights_time and state --- */

typedef struct {
  int32_t batches, input_size, filters, units, rank, memory;
  int32_t in_zero_point, state_zero_point, out_zero_point;
  int32_t mult1, shift1; /* input * weights_feature -> state scale */
  int32_t mult2, shift2; /* state * weights_time -> output scale */
  const int32_t *bias;   /* [units] or NULL */
} tg_svdf_params;

/* `scratch`: batches * filters int32 */
void tg_svdf_s8(const tg_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
                const int8_t *weights_time, int8_t *state, int32_t *scratch, int8_t *out);
void tg_svdf_s8_s16(const tg_svdf_params *p, const int8_t *in, const int8_t *weights_feature,
                    const int16_t *weights_time, int16_t *state, int32_t *scratch, int8_t *out);

/* --- TRANSPOSE_CONV: int8 (int32 bias) and 16x8 (int16 activations, int8 weights, int64 bias) --- */

typedef struct {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t in_offset, out_offset, act_min, act_max;
  const int32_t *mult, *shift; /* per output channel */
} tg_tconv_params;

/* `scratch`: out_h * out_w * out_c accumulators per batch (int32 for int8, int64 for 16x8) */
void tg_tconv_s8(const tg_tconv_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                 int8_t *out, int32_t *scratch);
void tg_tconv_s16(const tg_tconv_params *p, const int16_t *in, const int8_t *w, const int64_t *bias,
                  int16_t *out, int64_t *scratch);

/* --- UNIDIRECTIONAL_SEQUENCE_LSTM: int8 input/hidden state, int16 cell state, int8 weights --- */

/* One gate: input and recurrent FULLY_CONNECTED into int16 (scale 2^-12), added with saturation. */
typedef struct {
  int32_t in_mult, in_shift, rec_mult, rec_shift;
  const int32_t *in_bias;  /* [state]: bias + input_offset * sum(row) */
  const int32_t *rec_bias; /* [state]: hidden_offset * sum(row) */
  const int8_t *in_w;      /* [state][input] */
  const int8_t *rec_w;     /* [state][state] */
} tg_lstm_gate;

typedef struct {
  int32_t time_major, batches, steps, input_size, state_size;
  tg_lstm_gate forget, input, cell, output;
  int32_t forget_cell_mult, forget_cell_shift; /* forget (Q0.15) x cell -> cell */
  int32_t input_cell_mult, input_cell_shift;   /* input (Q0.15) x cell gate (Q0.15) -> cell */
  int32_t hidden_mult, hidden_shift, hidden_zero_point; /* output x tanh(cell) -> int8 hidden */
  int32_t cell_clip;                   /* quantized clip, -1 for none */
  int32_t cell_tanh_mult, cell_tanh_shift; /* tanh(cell) input scaling (TFLM's Tanh helper) */
} tg_lstm_params;

/* `scratch`: 4 * state_size int16. `hidden` and `cell` are the persistent state tensors. */
void tg_lstm_s8(const tg_lstm_params *p, const int8_t *in, int8_t *hidden, int16_t *cell, int8_t *out,
                int16_t *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_SEQ_H_ */
