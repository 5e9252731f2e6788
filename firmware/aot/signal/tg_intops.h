/* tinygen AOT kernels for plain (unquantized) integer tensors: CAST and elementwise
 * ADD / MUL / DIV / MAXIMUM / MINIMUM with broadcasting, as used by signal frontends on their
 * int16 / int32 / uint32 side tensors. Results match the TFLite Micro reference kernels: int32 ADD
 * and MUL wrap modulo 2^32, DIV truncates toward zero, CAST is a C conversion (wraps). */
#ifndef TINYGEN_TG_INTOPS_H_
#define TINYGEN_TG_INTOPS_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types: values of the TFLite schema's TensorType. */
enum tg_int_type {
  TG_INT_T_INT32 = 2,
  TG_INT_T_UINT8 = 3,
  TG_INT_T_INT64 = 4,
  TG_INT_T_BOOL = 6,
  TG_INT_T_INT16 = 7,
  TG_INT_T_INT8 = 9,
  TG_INT_T_UINT64 = 12,
  TG_INT_T_UINT32 = 15,
  TG_INT_T_UINT16 = 16,
};

enum tg_int_op {
  TG_INT_ADD = 0,
  TG_INT_MUL = 1,
  TG_INT_DIV = 2,
  TG_INT_MAX = 3,
  TG_INT_MIN = 4,
};

/* Broadcast loop nest over (up to) 4 output dimensions; a stride of 0 repeats an input. */
typedef struct {
  int32_t dims[4];
  int32_t a_strides[4];
  int32_t b_strides[4];
} tg_bcast4;

/* out = clamp(a OP b, act_min, act_max) on int32 data. */
void tg_int32_binary(int32_t op, const int32_t *a, const int32_t *b, int32_t *out,
                     const tg_bcast4 *shape, int32_t act_min, int32_t act_max);
/* MAXIMUM / MINIMUM on int16 and int8 data (raw values, no requantization). */
void tg_int16_minmax(int32_t op, const int16_t *a, const int16_t *b, int16_t *out,
                     const tg_bcast4 *shape);
void tg_int8_minmax(int32_t op, const int8_t *a, const int8_t *b, int8_t *out,
                    const tg_bcast4 *shape);

/* CAST between integer element types (enum tg_int_type), `n` elements. */
void tg_int_cast(const void *in, int32_t in_type, void *out, int32_t out_type, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_INTOPS_H_ */
