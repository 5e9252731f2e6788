/* tinygen AOT runtime: integer fixed-point arithmetic shared by the kernels.
 *
 * These functions reproduce, bit for bit, the rounding rules TFLite Micro's reference kernels use
 * (saturating rounding doubling high multiply, round-half-away division by a power of two, the
 * Q-format exp/reciprocal/logistic approximations). They are written from the arithmetic's
 * definition; every result is checked against the PyPI tflite-micro interpreter in tests/.
 */
#ifndef TINYGEN_TG_AOT_FIXEDPOINT_H_
#define TINYGEN_TG_AOT_FIXEDPOINT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_INT32_MIN ((int32_t)(-2147483647 - 1))
#define TG_INT32_MAX ((int32_t)2147483647)

/* round(a * b / 2^31), ties toward +infinity as TFLM's SaturatingRoundingDoublingHighMul does
 * (its nudge-then-truncate equals adding 2^30 and flooring); the one overflowing case saturates.
 * Relies on >> of a negative int64_t being arithmetic (gcc, clang, armcc). */
static inline int32_t tg_fx_mulhi(int32_t a, int32_t b) {
  if (a == TG_INT32_MIN && b == TG_INT32_MIN) return TG_INT32_MAX;
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero (exponent in 0..31). */
static inline int32_t tg_fx_rdiv_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((1u << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent with saturation (exponent >= 0), or rounding division (exponent < 0). */
static inline int32_t tg_fx_mul_pot(int32_t x, int exponent) {
  if (exponent < 0) return tg_fx_rdiv_pot(x, -exponent);
  if (exponent == 0) return x;
  if (x > (TG_INT32_MAX >> exponent)) return TG_INT32_MAX;
  if (x < (TG_INT32_MIN >> exponent)) return TG_INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* Requantize an accumulator: x * multiplier * 2^shift (multiplier is Q31, shift may be +/-). */
static inline int32_t tg_requant(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return tg_fx_rdiv_pot(tg_fx_mulhi((int32_t)((uint32_t)x << left), multiplier), right);
}

static inline int32_t tg_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* exp(x) for x <= 0 given in Q(int_bits).(31-int_bits); result in Q0.31. int_bits in 1..5. */
int32_t tg_fx_exp_neg(int32_t x, int int_bits);
/* 1 / (1 + x) for x in [0, 1) given in Q0.31; result in Q0.31. */
int32_t tg_fx_one_over_one_plus_x(int32_t x);
/* 1 / x for an accumulator x with `int_bits` integer bits; returns Q0.31 and the extra exponent. */
int32_t tg_fx_reciprocal(int32_t x, int int_bits, int *num_bits_over_unit);
/* The logistic function of x in Q(int_bits).(31-int_bits); result in Q0.31. */
int32_t tg_fx_logistic(int32_t x, int int_bits);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_FIXEDPOINT_H_ */
