/* tinygen AOT runtime: the int8 inner product, portable and Cortex-M DSP (SMLAD) versions. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"
#include "tg_aot_simd.h"

int32_t tg_dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
  int32_t acc = 0;
#if TG_AOT_DSP
  /* Four products per step: each word splits into two pairs of sign-extended halves. */
  int32_t acc2 = 0;
  while (n >= 4) {
    const uint32_t va = tg_load_u32(a);
    const uint32_t vb = tg_load_u32(b);
    acc = __smlad(tg_sxtb16_even(va), tg_sxtb16_even(vb), acc);
    acc2 = __smlad(tg_sxtb16_odd(va), tg_sxtb16_odd(vb), acc2);
    a += 4;
    b += 4;
    n -= 4;
  }
  acc = (int32_t)((uint32_t)acc + (uint32_t)acc2);
#endif
  while (n-- > 0) acc += (int32_t)(*a++) * (int32_t)(*b++);
  return acc;
}
