/* SignalFilterBankLog and SignalPCAN: fixed-point natural log and PCAN gain control. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_signal.h"

/* Correction from the linear interpolation of log2(1 + f) over 128 segments, in 1/65536:
 * round(65536 * (log2(1 + i/128) - i/128)) for i = 0..128, plus one padding entry. */
static const uint16_t kLog2Correction[130] = {
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817,
    1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358,
    3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460,
    4549, 4633, 4714, 4791, 4864, 4934, 5001, 5063, 5123, 5178,
    5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557,
    5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633,
    5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439,
    5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000,
    4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341,
    4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481,
    3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437,
    2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
    1094, 963, 830, 695, 559, 421, 282, 142, 0, 0,
};

#define LOG_SCALE_BITS 16
#define LOG_SEGMENT_BITS 7
#define LN2_Q16 45426u /* round(65536 * ln 2) */

/* Fractional part of log2(x) in Q16, given its integer part. */
static uint32_t log2_fraction(uint32_t x, uint32_t int_part) {
  int32_t frac = (int32_t)(x - ((uint32_t)1u << int_part));
  uint32_t seg;
  int32_t c0;
  int32_t c1;
  int32_t seg_start;
  int32_t interp;
  if (int_part < LOG_SCALE_BITS) {
    frac = (int32_t)((uint32_t)frac << (LOG_SCALE_BITS - int_part));
  } else {
    frac >>= (int_part - LOG_SCALE_BITS);
  }
  seg = (uint32_t)frac >> (LOG_SCALE_BITS - LOG_SEGMENT_BITS);
  c0 = kLog2Correction[seg];
  c1 = kLog2Correction[seg + 1u];
  seg_start = (int32_t)(seg << (LOG_SCALE_BITS - LOG_SEGMENT_BITS));
  /* arithmetic shift of a possibly negative product, as in the interpreter */
  interp = ((c1 - c0) * (frac - seg_start)) >> LOG_SCALE_BITS;
  return (uint32_t)(frac + c0 + interp);
}

uint32_t tg_sig_log32(uint32_t x, uint32_t out_scale) {
  const uint32_t int_part = tg_sig_msb32(x) - 1u;
  const uint32_t log2_q16 = (int_part << LOG_SCALE_BITS) + log2_fraction(x, int_part);
  const uint32_t half = 1u << (LOG_SCALE_BITS - 1);
  const uint32_t ln_q16 = (uint32_t)(((uint64_t)LN2_Q16 * log2_q16 + half) >> LOG_SCALE_BITS);
  return (out_scale * ln_q16 + half) >> LOG_SCALE_BITS;
}

void tg_sig_filter_bank_log(const uint32_t *in, int32_t n, int32_t output_scale,
                            int32_t correction_bits, int16_t *out) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    const uint32_t scaled = in[i] << correction_bits;
    if (scaled > 1u) {
      const uint32_t v = tg_sig_log32(scaled, (uint32_t)output_scale);
      out[i] = (int16_t)(v < (uint32_t)INT16_MAX ? v : (uint32_t)INT16_MAX);
    } else {
      out[i] = 0;
    }
  }
}

#define PCAN_SNR_BITS 12
#define PCAN_OUTPUT_BITS 6

/* Gain for a noise level: piecewise quadratic through `lut` (3 coefficients per octave, the
 * first three entries are the gains for 0, 1 and 2). */
static int16_t pcan_gain(uint32_t x, const int16_t *lut) {
  int32_t octave;
  int32_t frac;
  int32_t acc;
  const int16_t *coef;
  if (x <= 2u) {
    return lut[x];
  }
  octave = (int32_t)tg_sig_msb32(x);
  coef = lut + 4 * octave - 6;
  frac = (int32_t)(((octave < 11) ? (x << (11 - octave)) : (x >> (octave - 11))) & 0x3FFu);
  acc = ((int32_t)coef[2] * frac) >> 5;
  acc += (int32_t)((uint32_t)coef[1] << 5);
  acc *= frac;
  acc = (acc + (1 << 14)) >> 15;
  acc += coef[0];
  return (int16_t)acc;
}

/* shrink(s) = s^2 / 4 below 2, s - 1 above; SNR in Q12 in, Q6 out. */
static uint32_t pcan_shrink(uint32_t snr) {
  if (snr < (2u << PCAN_SNR_BITS)) {
    return (snr * snr) >> (2 + 2 * PCAN_SNR_BITS - PCAN_OUTPUT_BITS);
  }
  return (snr >> (PCAN_SNR_BITS - PCAN_OUTPUT_BITS)) - (1u << PCAN_OUTPUT_BITS);
}

void tg_sig_pcan(const uint32_t *in, const uint32_t *noise, const int16_t *gain_lut,
                 int32_t snr_shift, int32_t n, uint32_t *out) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    /* a negative gain from the table is used as its 32-bit two's complement, as in the
     * interpreter */
    const uint32_t gain = (uint32_t)(int32_t)pcan_gain(noise[i], gain_lut);
    const uint32_t snr = (uint32_t)(((uint64_t)in[i] * gain) >> snr_shift);
    out[i] = pcan_shrink(snr);
  }
}
