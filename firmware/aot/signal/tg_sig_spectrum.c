/* Time-domain and spectrum kernels: SignalWindow, SignalFftAutoScale, SignalEnergy. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_signal.h"

uint32_t tg_sig_msb32(uint32_t x) {
  /* The interpreter is built with GCC, whose path returns 32 for zero; keep that on every
   * compiler because FftAutoScale of an all-zero frame depends on it. */
  if (x == 0u) {
    return 32u;
  }
#if defined(__GNUC__)
  return 32u - (uint32_t)__builtin_clz(x);
#else
  {
    uint32_t bits = 0u;
    while (x != 0u) {
      x >>= 1;
      ++bits;
    }
    return bits;
  }
#endif
}

uint32_t tg_sig_msb64(uint64_t x) {
  uint32_t high = (uint32_t)(x >> 32);
  if (x == 0u) {
    return 64u;
  }
  return high != 0u ? 32u + tg_sig_msb32(high) : tg_sig_msb32((uint32_t)x);
}

void tg_sig_window(const int16_t *in, int32_t size, const int16_t *window, int32_t window_size,
                   int32_t shift, int16_t *out) {
  int32_t base;
  for (base = 0; base < size; base += window_size) {
    int32_t i;
    for (i = 0; i < window_size; ++i) {
      int32_t v = ((int32_t)in[base + i] * (int32_t)window[i]) >> shift;
      out[base + i] = (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
    }
  }
}

int32_t tg_sig_fft_auto_scale(const int16_t *in, int32_t size, int16_t *out) {
  /* Peak magnitude kept in int16 like the interpreter: a -32768 sample wraps the peak negative,
   * which then reads as "no headroom" below. */
  int16_t peak = 0;
  int32_t shift;
  int32_t i;
  for (i = 0; i < size; ++i) {
    int16_t v = in[i];
    if (v > peak) {
      peak = v;
    } else if (-(int32_t)v > peak) {
      peak = (int16_t)(-(int32_t)v);
    }
  }
  shift = 15 - (int32_t)tg_sig_msb32((uint32_t)(int32_t)peak);
  if (shift < 0) {
    shift = 0;
  }
  for (i = 0; i < size; ++i) {
    out[i] = (int16_t)((int32_t)in[i] * ((int32_t)1 << shift));
  }
  return shift;
}

void tg_sig_energy(const tg_cpx16 *in, int32_t start, int32_t end, uint32_t *out) {
  int32_t i;
  for (i = start; i < end; ++i) {
    /* Computed modulo 2^32: (-32768)^2 * 2 wraps exactly as the interpreter's int32 sum does. */
    uint32_t re2 = (uint32_t)((int32_t)in[i].re * (int32_t)in[i].re);
    uint32_t im2 = (uint32_t)((int32_t)in[i].im * (int32_t)in[i].im);
    out[i] = re2 + im2;
  }
}
