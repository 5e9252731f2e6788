/* Filterbank kernels: SignalFilterBank, SignalFilterBankSquareRoot,
 * SignalFilterBankSpectralSubtraction. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_signal.h"

void tg_sig_filter_bank(const tg_filter_bank_cfg *cfg, const uint32_t *in, uint64_t *out) {
  /* Each spectrum bin feeds two neighbouring triangles: `weights` for channel c, `unweights`
   * (1 - weight) carried into channel c + 1. Channel 0 of the tables only collects the carry for
   * the first real channel, so its own sum is dropped. Weights are signed and are widened to
   * 64 bits with sign extension, as the interpreter does. */
  uint64_t acc = 0u;
  uint64_t carry = 0u;
  int32_t c;
  for (c = 0; c <= cfg->num_channels; ++c) {
    const int32_t freq = cfg->frequency_starts[c];
    const int32_t first = cfg->weight_starts[c];
    const int32_t width = cfg->widths[c];
    int32_t j;
    for (j = 0; j < width; ++j) {
      const uint64_t bin = in[freq + j];
      acc += (uint64_t)(int64_t)cfg->weights[first + j] * bin;
      carry += (uint64_t)(int64_t)cfg->unweights[first + j] * bin;
    }
    if (c > 0) {
      out[c - 1] = acc;
    }
    acc = carry;
    carry = 0u;
  }
}

/* Bitwise integer square root with round-to-nearest-ish correction (digit-by-digit method). */
static uint32_t sqrt_bits32(uint32_t num) {
  uint32_t root = 0u;
  uint32_t bit;
  int32_t steps;
  int32_t lead;
  if (num == 0u) {
    return 0u;
  }
  lead = (int32_t)(32u - tg_sig_msb32(num)) | 1;
  bit = 1u << (31 - lead);
  for (steps = (31 - lead) / 2 + 1; steps > 0; --steps) {
    if (num >= root + bit) {
      num -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  if (num > root && root != 0xFFFFu) {
    ++root;
  }
  return root & 0xFFFFu;
}

uint32_t tg_sig_sqrt64(uint64_t num) {
  uint64_t root = 0u;
  uint64_t bit;
  int32_t steps;
  int32_t lead;
  /* Small values take the 32-bit path; the interpreter does the same (its off-by-one near 2^32
   * included). */
  if ((num >> 32) == 0u) {
    return sqrt_bits32((uint32_t)num);
  }
  lead = (int32_t)(64u - tg_sig_msb64(num)) | 1;
  bit = (uint64_t)1u << (63 - lead);
  for (steps = (63 - lead) / 2 + 1; steps > 0; --steps) {
    if (num >= root + bit) {
      num -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  if (num > root && root != 0xFFFFFFFFu) {
    ++root;
  }
  return (uint32_t)root;
}

void tg_sig_filter_bank_sqrt(const uint64_t *in, int32_t n, int32_t scale_bits, uint32_t *out) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    out[i] = tg_sig_sqrt64(in[i]) >> scale_bits;
  }
}

void tg_sig_spectral_subtraction(const tg_spectral_subtraction_cfg *cfg, const uint32_t *in,
                                 uint32_t *noise, uint32_t *out, uint32_t *noise_out) {
  const uint32_t up = cfg->smoothing_bits;
  const uint32_t ss_bits = cfg->spectral_subtraction_bits;
  int32_t i;
  for (i = 0; i < cfg->num_channels; ++i) {
    /* odd channels use the alternate smoothing pair */
    const uint32_t s = (i & 1) ? cfg->alternate_smoothing : cfg->smoothing;
    const uint32_t oms = (i & 1) ? cfg->alternate_one_minus_smoothing : cfg->one_minus_smoothing;
    const uint32_t signal = in[i] << up;
    uint32_t estimate;
    uint32_t floor_value;
    uint32_t subtracted;
    noise[i] = (uint32_t)(((uint64_t)signal * s + (uint64_t)noise[i] * oms) >> ss_bits);
    estimate = noise[i];
    if (estimate > signal) {
      estimate = signal;
      if (cfg->clamping) {
        noise[i] = estimate;
      }
    }
    floor_value = (uint32_t)(((uint64_t)in[i] * cfg->min_signal_remaining) >> ss_bits);
    subtracted = (signal - estimate) >> up;
    out[i] = subtracted > floor_value ? subtracted : floor_value;
  }
  for (i = 0; i < cfg->num_channels; ++i) {
    noise_out[i] = noise[i];
  }
}
