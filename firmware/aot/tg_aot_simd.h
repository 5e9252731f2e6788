/* tinygen AOT runtime: which SIMD path the kernels use, and the few helpers it needs.
 *
 * TG_AOT_DSP is 1 when the compiler targets a core with the DSP extension (Cortex-M4/M7/M33/M55)
 * and TG_AOT_NO_DSP is not defined. The DSP path only reorders exact integer sums, so results are
 * identical to the portable path.
 */
#ifndef TINYGEN_TG_AOT_SIMD_H_
#define TINYGEN_TG_AOT_SIMD_H_

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TG_AOT_NO_DSP)
#define TG_AOT_DSP 1
#include <arm_acle.h>
#else
#define TG_AOT_DSP 0
#endif

/* An unaligned 32-bit load (one LDR on Cortex-M3 and up). */
static inline uint32_t tg_load_u32(const int8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint32_t tg_ror8(uint32_t v) { return (v >> 8) | (v << 24); }

#if TG_AOT_DSP
/* Bytes 0 and 2 / bytes 1 and 3 of v, sign-extended into two halfwords (one instruction each). */
static inline int32_t tg_sxtb16_even(uint32_t v) { return __sxtb16((int32_t)v); }
static inline int32_t tg_sxtb16_odd(uint32_t v) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
#endif

#endif /* TINYGEN_TG_AOT_SIMD_H_ */
