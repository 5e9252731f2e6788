/* SignalRfft, int16: a fixed-point mixed-radix FFT with the rounding of the interpreter's kernel.
 *
 * The real input of length 2N is read as N complex values, transformed by a recursive
 * decimation-in-time complex FFT (radix 4 and 2 stages, each dividing by its radix first so
 * nothing overflows), then split into the N + 1 bins of the real spectrum. Every intermediate is
 * rounded to Q15 and wrapped to int16 exactly where the interpreter does it.
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_signal.h"

/* Cortex-M4/M7/M33 DSP path: complex values as packed halfword pairs. SMUSD/SMUADX give the exact
 * 32-bit product sums (wrapping like the portable code), SADD16/SSUB16 add and subtract with the
 * same int16 wrap-around, so both paths produce identical bits. Off with TG_AOT_NO_DSP. */
#if defined(__ARM_FEATURE_DSP) && !defined(TG_AOT_NO_DSP) && !defined(__ARM_BIG_ENDIAN)
#define TG_SIG_DSP 1
#include <arm_acle.h>
#include <string.h>
#else
#define TG_SIG_DSP 0
#endif

/* Q15 rounding of a 32-bit product sum, computed modulo 2^32 to stay defined on overflow. */
static int16_t q15_round(uint32_t acc) {
  return (int16_t)((int32_t)(acc + (1u << 14)) >> 15);
}

static uint32_t prod(int16_t a, int16_t b) {
  return (uint32_t)((int32_t)a * (int32_t)b);
}

static int16_t wrap16(int32_t v) {
  return (int16_t)v;
}

#if TG_SIG_DSP
static uint32_t pack(tg_cpx16 a) {
  uint32_t v;
  memcpy(&v, &a, sizeof v);
  return v;
}

static tg_cpx16 unpack(uint32_t v) {
  tg_cpx16 a;
  memcpy(&a, &v, sizeof a);
  return a;
}

static tg_cpx16 cmul(tg_cpx16 a, tg_cpx16 b) {
  const int16x2_t pa = (int16x2_t)pack(a);
  const int16x2_t pb = (int16x2_t)pack(b);
  tg_cpx16 r;
  r.re = q15_round((uint32_t)__smusd(pa, pb));
  r.im = q15_round((uint32_t)__smuadx(pa, pb));
  return r;
}
#else
static tg_cpx16 cmul(tg_cpx16 a, tg_cpx16 b) {
  tg_cpx16 r;
  r.re = q15_round(prod(a.re, b.re) - prod(a.im, b.im));
  r.im = q15_round(prod(a.re, b.im) + prod(a.im, b.re));
  return r;
}
#endif

/* Scale by 1/radix as Q15 multiplication by floor(32767 / radix). */
static tg_cpx16 cdiv(tg_cpx16 a, int16_t radix) {
  int16_t k = (int16_t)(32767 / radix);
  tg_cpx16 r;
  r.re = q15_round(prod(a.re, k));
  r.im = q15_round(prod(a.im, k));
  return r;
}

#if TG_SIG_DSP
static tg_cpx16 cadd(tg_cpx16 a, tg_cpx16 b) {
  return unpack((uint32_t)__sadd16((int16x2_t)pack(a), (int16x2_t)pack(b)));
}

static tg_cpx16 csub(tg_cpx16 a, tg_cpx16 b) {
  return unpack((uint32_t)__ssub16((int16x2_t)pack(a), (int16x2_t)pack(b)));
}
#else
static tg_cpx16 cadd(tg_cpx16 a, tg_cpx16 b) {
  tg_cpx16 r;
  r.re = wrap16((int32_t)a.re + b.re);
  r.im = wrap16((int32_t)a.im + b.im);
  return r;
}

static tg_cpx16 csub(tg_cpx16 a, tg_cpx16 b) {
  tg_cpx16 r;
  r.re = wrap16((int32_t)a.re - b.re);
  r.im = wrap16((int32_t)a.im - b.im);
  return r;
}
#endif

static void radix2(tg_cpx16 *x, int32_t stride, const tg_cpx16 *tw, int32_t m) {
  int32_t u;
  for (u = 0; u < m; ++u) {
    tg_cpx16 a = cdiv(x[u], 2);
    tg_cpx16 t = cmul(cdiv(x[u + m], 2), tw[u * stride]);
    x[u + m] = csub(a, t);
    x[u] = cadd(a, t);
  }
}

static void radix4(tg_cpx16 *x, int32_t stride, const tg_cpx16 *tw, int32_t m) {
  int32_t u;
  for (u = 0; u < m; ++u) {
    tg_cpx16 a = cdiv(x[u], 4);
    tg_cpx16 b = cmul(cdiv(x[u + m], 4), tw[u * stride]);
    tg_cpx16 c = cmul(cdiv(x[u + 2 * m], 4), tw[2 * u * stride]);
    tg_cpx16 d = cmul(cdiv(x[u + 3 * m], 4), tw[3 * u * stride]);
    tg_cpx16 a_minus_c = csub(a, c);
    tg_cpx16 a_plus_c = cadd(a, c);
    tg_cpx16 bd_sum = cadd(b, d);
    tg_cpx16 bd_diff = csub(b, d);
    x[u + 2 * m] = csub(a_plus_c, bd_sum);
    x[u] = cadd(a_plus_c, bd_sum);
    /* forward transform: multiply the odd difference by -j */
    x[u + m].re = wrap16((int32_t)a_minus_c.re + bd_diff.im);
    x[u + m].im = wrap16((int32_t)a_minus_c.im - bd_diff.re);
    x[u + 3 * m].re = wrap16((int32_t)a_minus_c.re - bd_diff.im);
    x[u + 3 * m].im = wrap16((int32_t)a_minus_c.im + bd_diff.re);
  }
}

/* One decimation level: `factors` = radix p, sub-length m, then the rest. Depth is the number of
 * stages (log4 N + 1 at most), so the recursion is shallow and bounded. */
static void fft_level(tg_cpx16 *out, const tg_cpx16 *in, int32_t stride, const int16_t *factors,
                      const tg_cpx16 *tw) {
  const int32_t p = factors[0];
  const int32_t m = factors[1];
  int32_t k;
  if (m == 1) {
    for (k = 0; k < p; ++k) {
      out[k] = in[k * stride];
    }
  } else {
    for (k = 0; k < p; ++k) {
      fft_level(out + k * m, in + k * stride, stride * p, factors + 2, tw);
    }
  }
  if (p == 4) {
    radix4(out, stride, tw, m);
  } else {
    radix2(out, stride, tw, m);
  }
}

void tg_sig_rfft16(const tg_rfft16_plan *plan, const int16_t *in, int32_t in_len, tg_cpx16 *work,
                   tg_cpx16 *tmp, tg_cpx16 *out) {
  const int32_t n = plan->half_length;
  int32_t k;
  tg_cpx16 dc;
  for (k = 0; k < n; ++k) {
    work[k].re = (2 * k < in_len) ? in[2 * k] : 0;
    work[k].im = (2 * k + 1 < in_len) ? in[2 * k + 1] : 0;
  }
  fft_level(tmp, work, 1, plan->factors, plan->twiddles);

  /* Bins 0 and N: even and odd sums packed in the DC value. */
  dc = cdiv(tmp[0], 2);
  out[0].re = wrap16((int32_t)dc.re + dc.im);
  out[0].im = 0;
  out[n].re = wrap16((int32_t)dc.re - dc.im);
  out[n].im = 0;
  for (k = 1; k <= n / 2; ++k) {
    tg_cpx16 conj;
    tg_cpx16 pk;
    tg_cpx16 pnk;
    tg_cpx16 sum;
    tg_cpx16 tw;
    conj.re = tmp[n - k].re;
    conj.im = wrap16(-(int32_t)tmp[n - k].im);
    pk = cdiv(tmp[k], 2);
    pnk = cdiv(conj, 2);
    sum = cadd(pk, pnk);
    tw = cmul(csub(pk, pnk), plan->split_twiddles[k - 1]);
    out[k].re = wrap16(((int32_t)sum.re + tw.re) >> 1);
    out[k].im = wrap16(((int32_t)sum.im + tw.im) >> 1);
    /* for k == N/2 this overwrites out[k], as in the interpreter */
    out[n - k].re = wrap16(((int32_t)sum.re - tw.re) >> 1);
    out[n - k].im = wrap16(((int32_t)tw.im - sum.im) >> 1);
  }
}
