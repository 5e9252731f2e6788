/* tinygen AOT kernels for the TFLM Signal-library ops (audio frontends as models).
 *
 * Each function reproduces the integer arithmetic of the TFLite Micro interpreter's signal kernels
 * bit for bit (including its wrap-around and rounding quirks), so a frontend compiled ahead of time
 * gives exactly the features the interpreter gives. Tables (window, FFT twiddles, filterbank
 * weights, PCAN gain LUT) are generated at code-generation time and passed in as const arrays;
 * streaming state (noise estimates) lives in buffers owned by the generated model.
 *
 * Portable C99. Signed right shifts are assumed to be arithmetic and narrowing conversions to wrap
 * modulo 2^n, as on every compiler tinygen targets (GCC, Clang, arm-none-eabi-gcc).
 */
#ifndef TINYGEN_TG_SIGNAL_H_
#define TINYGEN_TG_SIGNAL_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One complex int16 value, laid out as in the op's output tensor: real, then imaginary. */
typedef struct {
  int16_t re;
  int16_t im;
} tg_cpx16;

/* SignalWindow: out = saturate16((in * window) >> shift), the window repeated over `size`. */
void tg_sig_window(const int16_t *in, int32_t size, const int16_t *window, int32_t window_size,
                   int32_t shift, int16_t *out);

/* SignalFftAutoScale: shift `in` left as far as its peak allows; returns the shift. */
int32_t tg_sig_fft_auto_scale(const int16_t *in, int32_t size, int16_t *out);

/* Fixed-point real FFT plan, all tables generated at code-generation time.
 * A real FFT of length 2N runs as a complex FFT of length N plus a split step. */
typedef struct {
  int32_t half_length;             /* N = fft_length / 2 */
  const int16_t *factors;          /* radix, remaining length pairs, ending with length 1 */
  const tg_cpx16 *twiddles;        /* N twiddles of the complex FFT */
  const tg_cpx16 *split_twiddles;  /* N / 2 twiddles of the real-FFT split step */
} tg_rfft16_plan;

/* SignalRfft (int16): `in` has `in_len` <= 2N samples (zero padded to 2N); `out` gets N + 1 bins.
 * `work` (N complex) and `tmp` (N complex) are scratch. */
void tg_sig_rfft16(const tg_rfft16_plan *plan, const int16_t *in, int32_t in_len, tg_cpx16 *work,
                   tg_cpx16 *tmp, tg_cpx16 *out);

/* SignalEnergy: out[i] = re^2 + im^2 for start <= i < end; other elements are left untouched. */
void tg_sig_energy(const tg_cpx16 *in, int32_t start, int32_t end, uint32_t *out);

/* SignalFilterBank: triangular filters over an energy spectrum. The five tables have the layout of
 * the op's constant inputs (num_channels + 1 entries; the first channel is a scratch channel). */
typedef struct {
  int32_t num_channels;
  const int16_t *weights;
  const int16_t *unweights;
  const int16_t *frequency_starts;
  const int16_t *weight_starts;
  const int16_t *widths;
} tg_filter_bank_cfg;

void tg_sig_filter_bank(const tg_filter_bank_cfg *cfg, const uint32_t *in, uint64_t *out);

/* SignalFilterBankSquareRoot: out[i] = round-ish sqrt(in[i]) >> scale_bits. */
void tg_sig_filter_bank_sqrt(const uint64_t *in, int32_t n, int32_t scale_bits, uint32_t *out);

/* SignalFilterBankSpectralSubtraction: noise-estimate smoothing and subtraction; `noise` is the
 * op's streaming state (zero after reset) and is also copied to `noise_out`. */
typedef struct {
  int32_t num_channels;
  uint32_t smoothing;
  uint32_t one_minus_smoothing;
  uint32_t alternate_smoothing;
  uint32_t alternate_one_minus_smoothing;
  uint32_t min_signal_remaining;
  uint32_t smoothing_bits;
  uint32_t spectral_subtraction_bits;
  int32_t clamping;
} tg_spectral_subtraction_cfg;

void tg_sig_spectral_subtraction(const tg_spectral_subtraction_cfg *cfg, const uint32_t *in,
                                 uint32_t *noise, uint32_t *out, uint32_t *noise_out);

/* SignalPCAN: per-channel automatic gain control from the noise estimate through `gain_lut`. */
void tg_sig_pcan(const uint32_t *in, const uint32_t *noise, const int16_t *gain_lut,
                 int32_t snr_shift, int32_t n, uint32_t *out);

/* SignalFilterBankLog: out[i] = min(ln(in[i] << correction_bits) * output_scale, INT16_MAX). */
void tg_sig_filter_bank_log(const uint32_t *in, int32_t n, int32_t output_scale,
                            int32_t correction_bits, int16_t *out);

/* Helpers shared by the kernels and exposed for tests. */
uint32_t tg_sig_msb32(uint32_t x);  /* bits needed for x; 32 for x == 0 as GCC's TFLM build */
uint32_t tg_sig_msb64(uint64_t x);  /* bits needed for x; 64 for x == 0 */
uint32_t tg_sig_sqrt64(uint64_t x);
uint32_t tg_sig_log32(uint32_t x, uint32_t out_scale);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_SIGNAL_H_ */
