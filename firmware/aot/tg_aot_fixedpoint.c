/* tinygen AOT runtime: Q-format exp, reciprocal and logistic (see tg_aot_fixedpoint.h). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot_fixedpoint.h"

/* exp(k) for k = -1/4, -1/2, -1, -2, -4, -8, -16 in Q0.31: one factor per bit of the input. */
static const int32_t kExpOfPowersOfTwo[7] = {
    1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
};

/* exp(x) for x in [-1/4, 0) in Q0.31: a Taylor expansion around -1/8. */
static int32_t exp_quarter_interval(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668;
  const int32_t one_third = 715827883;
  const int32_t x = a + (1 << 28);
  const int32_t x2 = tg_fx_mulhi(x, x);
  const int32_t x3 = tg_fx_mulhi(x2, x);
  const int32_t x4 = tg_fx_mulhi(x2, x2);
  const int32_t x4_over_4 = tg_fx_rdiv_pot(x4, 2);
  const int32_t poly =
      tg_fx_rdiv_pot(tg_fx_mulhi(x4_over_4 + x3, one_third) + x2, 1);
  return exp_minus_one_eighth + tg_fx_mulhi(exp_minus_one_eighth, x + poly);
}

int32_t tg_fx_exp_neg(int32_t a, int int_bits) {
  const int frac_bits = 31 - int_bits;
  const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
  int32_t result = exp_quarter_interval(tg_fx_mul_pot(a_mod_quarter_minus_quarter, int_bits));
  const int32_t remainder = a_mod_quarter_minus_quarter - a;
  int e;
  /* Multiply in exp(-2^e) for every set bit of the remainder, e = -2 .. int_bits-1 (max 4). */
  for (e = -2; e <= 4 && e < int_bits; ++e) {
    const int bit = frac_bits + e;
    if (bit >= 0 && bit < 31 && (remainder & ((int32_t)1 << bit))) {
      result = tg_fx_mulhi(result, kExpOfPowersOfTwo[e + 2]);
    }
  }
  if (a == 0) result = TG_INT32_MAX;
  return result;
}

int32_t tg_fx_one_over_one_plus_x(int32_t a) {
  /* Newton-Raphson on the half denominator (1 + a) / 2, in Q2.29. */
  const int64_t sum = (int64_t)a + (int64_t)TG_INT32_MAX;
  const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  const int32_t c48_over_17 = 1515870810;
  const int32_t cneg32_over_17 = -1010580540;
  const int32_t one_q2 = (int32_t)1 << 29;
  int32_t x = c48_over_17 + tg_fx_mulhi(half_den, cneg32_over_17);
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t half_den_times_x = tg_fx_mulhi(half_den, x);
    const int32_t one_minus = one_q2 - half_den_times_x;
    x = x + tg_fx_mul_pot(tg_fx_mulhi(x, one_minus), 2);
  }
  return tg_fx_mul_pot(x, 1);
}

int32_t tg_fx_reciprocal(int32_t x, int int_bits, int *num_bits_over_unit) {
  uint32_t ux = (uint32_t)x;
  int headroom_plus_one = 0;
  int32_t shifted_minus_one;
  while (headroom_plus_one < 32 && !(ux & 0x80000000u)) {
    ux <<= 1;
    ++headroom_plus_one;
  }
  *num_bits_over_unit = int_bits - headroom_plus_one;
  shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - 0x80000000u);
  return tg_fx_one_over_one_plus_x(shifted_minus_one);
}

int32_t tg_fx_logistic(int32_t a, int int_bits) {
  int32_t positive;
  if (a == 0) return (int32_t)1 << 30;
  positive = tg_fx_one_over_one_plus_x(tg_fx_exp_neg(a > 0 ? -a : a, int_bits));
  return a > 0 ? positive : TG_INT32_MAX - positive;
}
