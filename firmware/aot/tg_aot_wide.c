/* tinygen AOT runtime: the int8 matrix product with weights widened to int16 at generation time.
 *
 * out[r][c] = requantize(a[r] . w[c] + bias_folded[c]). tinygen stores the weights of the layers
 * where it pays (many rows per weight byte, see tinygen/codegen/aot/ops/nn.py `widen_quads`) as
 * sign-extended int16 pairs in the order SMLAD consumes them: per four channels and four k, each
 * channel's words (w0 | w2 << 16) and (w1 | w3 << 16), matching SXTB16 of the input word and of
 * the input word rotated by 8. Per four k one input word feeds four channels: one load and two
 * SXTB16 for the input, two double-word loads for the weights, eight SMLADs. The accumulators start
 * at the folded bias (int32 sums wrap identically in any order), so nothing is added afterwards.
 * After the quads: the k % 4 tail of a quad as one word per weight, [tail][4 channels]; the last
 * n % 4 channels on their own (k / 4 word pairs, then k % 4 words each).
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"
#include "tg_aot_simd.h"

#if TG_AOT_DSP
/* Two weight words and wp += 2 in one LDRD (GCC does not pair the loads itself). */
#define TG_LD2(wp, e, o) __asm__("ldrd %0, %1, [%2], #8" : "=r"(e), "=r"(o), "+r"(wp))

/* Four k of one input word against four channels; wp advances by 8 words. */
#define TG_WIDE_STEP(x, wp, s0, s1, s2, s3)                                    \
  do {                                                                         \
    const int32_t xe_ = tg_sxtb16_even(x), xo_ = tg_sxtb16_odd(x);             \
    int32_t e_, o_;                                                            \
    TG_LD2(wp, e_, o_);                                                        \
    s0 = __smlad(xe_, e_, s0);                                                 \
    s0 = __smlad(xo_, o_, s0);                                                 \
    TG_LD2(wp, e_, o_);                                                        \
    s1 = __smlad(xe_, e_, s1);                                                 \
    s1 = __smlad(xo_, o_, s1);                                                 \
    TG_LD2(wp, e_, o_);                                                        \
    s2 = __smlad(xe_, e_, s2);                                                 \
    s2 = __smlad(xo_, o_, s2);                                                 \
    TG_LD2(wp, e_, o_);                                                        \
    s3 = __smlad(xe_, e_, s3);                                                 \
    s3 = __smlad(xo_, o_, s3);                                                 \
  } while (0)
#else
/* Portable: the same sums from the same layout (halfword h of word i). */
#define TG_LO(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_HI(v) ((int32_t)(v) >> 16)
#define TG_PAIR(xp, e, o) \
  (xp[0] * TG_LO(e) + xp[2] * TG_HI(e) + xp[1] * TG_LO(o) + xp[3] * TG_HI(o))
#define TG_WIDE_STEP(xp, wp, s0, s1, s2, s3)                                   \
  do {                                                                         \
    s0 += TG_PAIR(xp, (wp)[0], (wp)[1]);                                       \
    s1 += TG_PAIR(xp, (wp)[2], (wp)[3]);                                       \
    s2 += TG_PAIR(xp, (wp)[4], (wp)[5]);                                       \
    s3 += TG_PAIR(xp, (wp)[6], (wp)[7]);                                       \
    wp += 8;                                                                   \
  } while (0)
#endif

#if defined(__GNUC__)
#define TG_INLINE static inline __attribute__((always_inline))
#else
#define TG_INLINE static inline
#endif

/* The output range as locals: stores to `out` may alias anything, so nothing is re-read per
 * output. sat8: the range is the whole int8 range (one SSAT). */
typedef struct {
  int32_t off, lo, hi;
} range_local;

#if TG_AOT_DSP
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#else
static inline int32_t mulhi_r(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32); }
#endif

/* Output channel ci of acc. fast 2: mh (per channel or one: Q31 multiplier, right shift e,
 * 2^(e-1) [+ out_offset * 2^e]): TFLM's doubling high multiply of acc is exactly the rounded high
 * word of 2 * acc * mult (tinygen checked |2 * acc| < 2^31), its rounding division
 * (x + 2^(e-1) - (x < 0)) >> e. fast 1: the tg_rq_ch row, tg_rq_fast; 0: tg_rq_apply. */
TG_INLINE int8_t finish(const int32_t *mh, const tg_rq_ch *chq, int32_t ci, int32_t acc, const range_local *r,
                        const int per_channel, const int fast, const int sat8) {
  int32_t v;
  if (fast == 2) {
    const int32_t *m3 = mh + (per_channel ? 3 * ci : 0);
    const int32_t x = mulhi_r((int32_t)((uint32_t)acc << 1), m3[0]);
    v = ((x + m3[2] + (x >> 31)) >> m3[1]) + r->off;
  } else {
    const tg_rq_ch *ch = chq + (per_channel ? ci : 0);
    v = (fast ? tg_rq_fast(ch, acc) : tg_rq_apply(ch, acc)) + r->off;
  }
#if TG_AOT_DSP
  if (sat8) return (int8_t)__ssat(v, 8);
#else
  (void)sat8;
#endif
  return (int8_t)tg_clamp(v, r->lo, r->hi);
}

#if TG_AOT_DSP && defined(__GNUC__) && defined(__OPTIMIZE__)
#define TG_WIDE_ASM 1
/* One row (k = 8 * n8) against nq channel quads, accumulating into acc[4 * nq] (which holds the
 * bias): the k loop is one asm block in a function of its own, a clean register context where its
 * nine operands and four fixed registers always fit. Per four k: one LDR, two SXTB16, two LDMs of
 * four weight words, eight SMLADs. */
static __attribute__((noinline)) void quads_asm(const int8_t *row, const int32_t *wp, int32_t nq, int32_t n8,
                                                const int32_t *init, int32_t *acc) {
  for (; nq > 0; --nq, init += 4, acc += 4) {
    const int8_t *a = row;
    int32_t s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3], n = n8, x_, xo_;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x], [%[a]], #4\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "sxtb16 %[xo], %[x], ror #8\n\t"
        "sxtb16 %[x], %[x]\n\t"
        "smlad %[s0], %[x], r4, %[s0]\n\t"
        "smlad %[s0], %[xo], r5, %[s0]\n\t"
        "smlad %[s1], %[x], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r8, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s2], %[x], r4, %[s2]\n\t"
        "smlad %[s2], %[xo], r5, %[s2]\n\t"
        "smlad %[s3], %[x], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r8, %[s3]\n\t"
        "ldr %[x], [%[a]], #4\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "sxtb16 %[xo], %[x], ror #8\n\t"
        "sxtb16 %[x], %[x]\n\t"
        "smlad %[s0], %[x], r4, %[s0]\n\t"
        "smlad %[s0], %[xo], r5, %[s0]\n\t"
        "smlad %[s1], %[x], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r8, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s2], %[x], r4, %[s2]\n\t"
        "smlad %[s2], %[xo], r5, %[s2]\n\t"
        "smlad %[s3], %[x], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r8, %[s3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [a] "+r"(a), [wp] "+r"(wp), [n] "+r"(n),
          [x] "=&r"(x_), [xo] "=&r"(xo_)
        :
        : "r4", "r5", "r6", "r8", "cc", "memory");
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
  }
}

/* The same with the row already split into SXTB16 halves (xrow: per four k the words
 * sxtb16(x), sxtb16(x ror 8)), done once per row for all its channels: per four k one LDRD of the
 * input halves, two LDMs of weights, eight SMLADs. */
static __attribute__((noinline)) void quadsx_asm(const int32_t *xrow, const int32_t *wp, int32_t nq, int32_t n8,
                                                 const int32_t *init, int32_t *acc) {
  for (; nq > 0; --nq, init += 4, acc += 4) {
    const int32_t *x = xrow;
    int32_t s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3], n = n8, xe_, xo_;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[xe], %[xo], [%[x]], #8\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s0], %[xe], r4, %[s0]\n\t"
        "smlad %[s0], %[xo], r5, %[s0]\n\t"
        "smlad %[s1], %[xe], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r8, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s2], %[xe], r4, %[s2]\n\t"
        "smlad %[s2], %[xo], r5, %[s2]\n\t"
        "smlad %[s3], %[xe], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r8, %[s3]\n\t"
        "ldrd %[xe], %[xo], [%[x]], #8\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s0], %[xe], r4, %[s0]\n\t"
        "smlad %[s0], %[xo], r5, %[s0]\n\t"
        "smlad %[s1], %[xe], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r8, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5, r6, r8}\n\t"
        "smlad %[s2], %[xe], r4, %[s2]\n\t"
        "smlad %[s2], %[xo], r5, %[s2]\n\t"
        "smlad %[s3], %[xe], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r8, %[s3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [x] "+r"(x), [wp] "+r"(wp), [n] "+r"(n),
          [xe] "=&r"(xe_), [xo] "=&r"(xo_)
        :
        : "r4", "r5", "r6", "r8", "cc", "memory");
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
  }
}
#else
#define TG_WIDE_ASM 0
#endif

/* One row against four channels: the accumulators come in holding the bias. */
TG_INLINE const int32_t *quad(const int8_t *a, const int32_t *wp, int32_t k, int32_t *acc) {
  int32_t s0, s1, s2, s3, j;
  s0 = acc[0];
  s1 = acc[1];
  s2 = acc[2];
  s3 = acc[3];
  for (j = k >> 3; j > 0; --j) {
#if TG_AOT_DSP
    const uint32_t x0 = tg_load_u32(a), x1 = tg_load_u32(a + 4);
    TG_WIDE_STEP(x0, wp, s0, s1, s2, s3);
    TG_WIDE_STEP(x1, wp, s0, s1, s2, s3);
#else
    TG_WIDE_STEP(a, wp, s0, s1, s2, s3);
    TG_WIDE_STEP((a + 4), wp, s0, s1, s2, s3);
#endif
    a += 8;
  }
  if (k & 4) {
#if TG_AOT_DSP
    const uint32_t x0 = tg_load_u32(a);
    TG_WIDE_STEP(x0, wp, s0, s1, s2, s3);
#else
    TG_WIDE_STEP(a, wp, s0, s1, s2, s3);
#endif
    a += 4;
  }
  for (j = 0; j < (k & 3); ++j, wp += 4) {
    const int32_t x = a[j];
    s0 += x * wp[0];
    s1 += x * wp[1];
    s2 += x * wp[2];
    s3 += x * wp[3];
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
  return wp;
}

/* One row against one channel (the n % 4 last ones). */
TG_INLINE const int32_t *single(const int8_t *a, const int32_t *wp, int32_t k, int32_t *acc) {
  int32_t s = *acc, j;
  for (j = k >> 2; j > 0; --j) {
#if TG_AOT_DSP
    const uint32_t x = tg_load_u32(a);
    int32_t e, o;
    TG_LD2(wp, e, o);
    s = __smlad(tg_sxtb16_even(x), e, s);
    s = __smlad(tg_sxtb16_odd(x), o, s);
#else
    s += TG_PAIR(a, wp[0], wp[1]);
    wp += 2;
#endif
    a += 4;
  }
  for (j = 0; j < (k & 3); ++j) s += a[j] * wp[j];
  *acc = s;
  return wp + (k & 3);
}

/* The whole product for one requantization kind (fast: every channel takes tg_rq_fast); the
 * constant arguments let the compiler drop what the layer does not use. */
TG_INLINE void product(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                       const tg_requant_ch *q, int8_t *out, int32_t out_stride, const int fast, const int per_channel,
                       const int sat8) {
  const int32_t *const bias = q->bias;
  const int32_t *const mh = q->mh;  /* locals: stores to out may alias the parameter block */
  const tg_rq_ch *const chq = q->ch;
  range_local rl;
  int32_t r, c, acc[4];
  rl.off = sat8 ? 0 : q->out_offset;  /* sat8 variants: the offset is folded (see tg_mm_wide_s8) */
  rl.lo = q->act_min;
  rl.hi = q->act_max;
  for (r = 0; r < rows; ++r, a += a_stride, out += out_stride) {
    const int32_t *wp = w;
    c = 0;
#if TG_WIDE_ASM
    if (k % 8 == 0 && k >= 32) {
      /* long rows (k >= 32; shorter ones cost less in C): sums of up to 64 channels at a time by the asm loop, then their requantization */
      /* rows up to 256 long feeding eight quads or more: split into SXTB16 halves once (xrow) */
      int32_t buf[64], xrow[128], i, m;
      for (; c + 4 <= n; c += m) {
        m = n - c < 64 ? (n - c) & ~3 : 64;
        if (k <= 256 && n >= 32) {
          if (c == 0) {
            for (i = 0; i < k / 4; ++i) {
              const uint32_t v = tg_load_u32(a + 4 * i);
              xrow[2 * i] = tg_sxtb16_even(v);
              xrow[2 * i + 1] = tg_sxtb16_odd(v);
            }
          }
          quadsx_asm(xrow, wp, m / 4, k / 8, bias + c, buf);
        } else {
          quads_asm(a, wp, m / 4, k / 8, bias + c, buf);
        }
        wp += 2 * k * (m / 4);
        for (i = 0; i < m; ++i) out[c + i] = finish(mh, chq, c + i, buf[i], &rl, per_channel, fast, sat8);
      }
    }
#endif
    for (; c + 4 <= n; c += 4) {
      acc[0] = bias[c];
      acc[1] = bias[c + 1];
      acc[2] = bias[c + 2];
      acc[3] = bias[c + 3];
      wp = quad(a, wp, k, acc);
      out[c] = finish(mh, chq, c, acc[0], &rl, per_channel, fast, sat8);
      out[c + 1] = finish(mh, chq, c + 1, acc[1], &rl, per_channel, fast, sat8);
      out[c + 2] = finish(mh, chq, c + 2, acc[2], &rl, per_channel, fast, sat8);
      out[c + 3] = finish(mh, chq, c + 3, acc[3], &rl, per_channel, fast, sat8);
    }
    for (; c < n; ++c) {
      acc[0] = bias[c];
      wp = single(a, wp, k, acc);
      out[c] = finish(mh, chq, c, acc[0], &rl, per_channel, fast, sat8);
    }
  }
}

void tg_mm_wide_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                   const tg_requant_ch *q, int8_t *out, int32_t out_stride) {
  /* the common case: one-step requantization with the output zero point folded into its
   * constants (out_offset 0) and the whole int8 range */
  const int sat8 = q->act_min == -128 && q->act_max == 127 && q->out_offset == 0;
  /* the SMMULR requantization (q->mh) with constant flags; each variant is about 1.3 KB of flash.
     Without mh (the sums may pass 2^30, a left shift, one multiplier with a clamped range): the
     tg_rq_ch rows, flags at run time */
  if (q->mh && q->per_channel && sat8) {
    product(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 1);
  } else if (q->mh && q->per_channel) {
    product(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 0);
  } else if (q->mh && sat8) {
    product(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 0, 1);
  } else {
    product(a, rows, a_stride, w, n, k, q, out, out_stride, q->fast, q->per_channel, 0);
  }
}

/* --- the same product with int8 weights (layers not widened), k % 8 == 0, k >= 32 ---
 * Weights in quad-interleaved order (nn.py `interleave_quads`: per four channels, four bytes of
 * each in turn; the last n % 4 channels plain). Per four k: one input load and two SXTB16, two
 * double loads of weights, eight SXTB16 and eight SMLADs; eight k per loop iteration. */
#if TG_WIDE_ASM
static __attribute__((noinline)) void quads8_asm(const int8_t *row, const int8_t *wp, int32_t nq, int32_t n8,
                                                 const int32_t *init, int32_t *acc) {
  for (; nq > 0; --nq, init += 4, acc += 4) {
    const int8_t *a = row;
    int32_t s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3], n = n8, x_, xo_;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x], [%[a]], #4\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 %[xo], %[x], ror #8\n\t"
        "sxtb16 %[x], %[x]\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s0], %[x], r6, %[s0]\n\t"
        "smlad %[s0], %[xo], r4, %[s0]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s1], %[x], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r5, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s2], %[x], r6, %[s2]\n\t"
        "smlad %[s2], %[xo], r4, %[s2]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s3], %[x], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r5, %[s3]\n\t"
        "ldr %[x], [%[a]], #4\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 %[xo], %[x], ror #8\n\t"
        "sxtb16 %[x], %[x]\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s0], %[x], r6, %[s0]\n\t"
        "smlad %[s0], %[xo], r4, %[s0]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s1], %[x], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r5, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s2], %[x], r6, %[s2]\n\t"
        "smlad %[s2], %[xo], r4, %[s2]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s3], %[x], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r5, %[s3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [a] "+r"(a), [wp] "+r"(wp), [n] "+r"(n),
          [x] "=&r"(x_), [xo] "=&r"(xo_)
        :
        : "r4", "r5", "r6", "cc", "memory");
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
  }
}

/* The same from a row split into SXTB16 halves once (see quadsx_asm). */
static __attribute__((noinline)) void quads8x_asm(const int32_t *xrow, const int8_t *wp, int32_t nq, int32_t n8,
                                                 const int32_t *init, int32_t *acc) {
  for (; nq > 0; --nq, init += 4, acc += 4) {
    const int32_t *x = xrow;
    int32_t s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3], n = n8, xe_, xo_;
    __asm__ volatile(
        "1:\n\t"
        "ldrd %[xe], %[xo], [%[x]], #8\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s0], %[xe], r6, %[s0]\n\t"
        "smlad %[s0], %[xo], r4, %[s0]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s1], %[xe], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r5, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s2], %[xe], r6, %[s2]\n\t"
        "smlad %[s2], %[xo], r4, %[s2]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s3], %[xe], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r5, %[s3]\n\t"
        "ldrd %[xe], %[xo], [%[x]], #8\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s0], %[xe], r6, %[s0]\n\t"
        "smlad %[s0], %[xo], r4, %[s0]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s1], %[xe], r6, %[s1]\n\t"
        "smlad %[s1], %[xo], r5, %[s1]\n\t"
        "ldmia %[wp]!, {r4, r5}\n\t"
        "sxtb16 r6, r4\n\t"
        "sxtb16 r4, r4, ror #8\n\t"
        "smlad %[s2], %[xe], r6, %[s2]\n\t"
        "smlad %[s2], %[xo], r4, %[s2]\n\t"
        "sxtb16 r6, r5\n\t"
        "sxtb16 r5, r5, ror #8\n\t"
        "smlad %[s3], %[xe], r6, %[s3]\n\t"
        "smlad %[s3], %[xo], r5, %[s3]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b"
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [x] "+r"(x), [wp] "+r"(wp), [n] "+r"(n),
          [xe] "=&r"(xe_), [xo] "=&r"(xo_)
        :
        : "r4", "r5", "r6", "cc", "memory");
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
  }
}
#else
static void quads8_asm(const int8_t *row, const int8_t *wp, int32_t nq, int32_t n8, const int32_t *init, int32_t *acc) {
  int32_t j, i, c;
  for (; nq > 0; --nq, init += 4, acc += 4) {
    const int8_t *a = row;
    for (c = 0; c < 4; ++c) acc[c] = init[c];
    for (j = 0; j < 2 * n8; ++j, a += 4, wp += 16) {
      for (c = 0; c < 4; ++c) {
        for (i = 0; i < 4; ++i) acc[c] += a[i] * wp[4 * c + i];
      }
    }
  }
}
#endif

#if TG_WIDE_ASM && defined(__thumb2__)
#define TG_WP_ASM 1
#else
#define TG_WP_ASM 0
#endif

#if TG_WP_ASM
/* The SMMULR requantization (per-channel constants, the whole int8 range) of npairs channel pairs
 * of two rows (s: per pair row 0 channels 0, 1, row 1 channels 0, 1), in assembly: per pair two
 * LDRDs of the sums, per channel one LDM of its constants, per output SMMULR of the doubled sum,
 * the rounding shift, SSAT and STRB. */
#define TG_WP_OUT(s, o)                       \
  "lsl " s ", " s ", #1\n\t"                  \
  "smmulr " s ", " s ", r5\n\t"               \
  "add r12, " s ", r7\n\t"                   \
  "add r12, r12, " s ", asr #31\n\t"         \
  "asr r12, r12, r6\n\t"                     \
  "ssat r12, #8, r12\n\t"                    \
  "strb r12, [" o "], #1\n\t"
static __attribute__((naked, noinline)) void finish_pairs_asm(const int32_t *k __attribute__((unused)),
                                                              const int32_t *s __attribute__((unused)),
                                                              int8_t *o0 __attribute__((unused)),
                                                              int8_t *o1 __attribute__((unused)),
                                                              int32_t npairs __attribute__((unused))) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "ldr r4, [sp, #36]\n\t"
      "1:\n\t"
      "ldrd r8, r9, [r1], #8\n\t"  /* row 0: channels 0, 1 */
      "ldrd r10, r11, [r1], #8\n\t" /* row 1 */
      "ldm r0!, {r5, r6, r7}\n\t"
      TG_WP_OUT("r8", "r2") TG_WP_OUT("r10", "r3")
      "ldm r0!, {r5, r6, r7}\n\t"
      TG_WP_OUT("r9", "r2") TG_WP_OUT("r11", "r3")
      "subs r4, r4, #1\n\t"
      "bne 1b\n\t"
      "pop {r4-r11, pc}\n\t");
}
#endif

#if TG_WIDE_ASM
/* Two rows against two channels of a quad, int8 weights: each weight word is split once for both
 * rows. xr: per four k the words sxtb16(x0), sxtb16(x0 ror 8), sxtb16(x1), sxtb16(x1 ror 8) (rows
 * 0 and 1); wp: the first channel's word in the quad layout (per four k 16 bytes, the quad's four
 * channels in turn), the second channel's follows it. Per four k: one LDM of the inputs, two LDRs
 * and four SXTB16 of weights, eight SMLADs (16 products); n8 = k / 8. acc: s00 s01 (row 0),
 * s10 s11 (row 1). */
static __attribute__((noinline)) void pair2x2_asm(const int32_t *xr, const int8_t *wp, int32_t n8, int32_t *acc) {
  int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
  __asm__ volatile(
      "1:\n\t"
      "ldmia %[x]!, {r4, r5, r6, r8}\n\t"
      "ldr r9, [%[wp]], #4\n\t"
      "sxtb16 r10, r9\n\t"
      "sxtb16 r9, r9, ror #8\n\t"
      "smlad %[s00], r4, r10, %[s00]\n\t"
      "smlad %[s00], r5, r9, %[s00]\n\t"
      "smlad %[s10], r6, r10, %[s10]\n\t"
      "smlad %[s10], r8, r9, %[s10]\n\t"
      "ldr r9, [%[wp]], #12\n\t"
      "sxtb16 r10, r9\n\t"
      "sxtb16 r9, r9, ror #8\n\t"
      "smlad %[s01], r4, r10, %[s01]\n\t"
      "smlad %[s01], r5, r9, %[s01]\n\t"
      "smlad %[s11], r6, r10, %[s11]\n\t"
      "smlad %[s11], r8, r9, %[s11]\n\t"
      "ldmia %[x]!, {r4, r5, r6, r8}\n\t"
      "ldr r9, [%[wp]], #4\n\t"
      "sxtb16 r10, r9\n\t"
      "sxtb16 r9, r9, ror #8\n\t"
      "smlad %[s00], r4, r10, %[s00]\n\t"
      "smlad %[s00], r5, r9, %[s00]\n\t"
      "smlad %[s10], r6, r10, %[s10]\n\t"
      "smlad %[s10], r8, r9, %[s10]\n\t"
      "ldr r9, [%[wp]], #12\n\t"
      "sxtb16 r10, r9\n\t"
      "sxtb16 r9, r9, ror #8\n\t"
      "smlad %[s01], r4, r10, %[s01]\n\t"
      "smlad %[s01], r5, r9, %[s01]\n\t"
      "smlad %[s11], r6, r10, %[s11]\n\t"
      "smlad %[s11], r8, r9, %[s11]\n\t"
      "subs %[n], %[n], #1\n\t"
      "bne 1b"
      : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [x] "+r"(xr), [wp] "+r"(wp),
        [n] "+r"(n8)
      :
      : "r4", "r5", "r6", "r8", "r9", "r10", "cc", "memory");
  acc[0] = s00;
  acc[1] = s01;
  acc[2] = s10;
  acc[3] = s11;
}

#define TG_Q8_KC 128 /* k per pass of the two-row product (xr: 4 * TG_Q8_KC / 4 words on the stack) */

/* Rows r and r + 1 of the int8-weight product (quad channels only; the n % 4 rest is done by the
 * caller): per chunk of 64 channels the sums of both rows, k in passes of TG_Q8_KC, then the
 * requantization of both rows. */
TG_INLINE void rows2_q8(const int8_t *a0, const int8_t *a1, const int8_t *w, int32_t n4, int32_t k,
                        const tg_requant_ch *q, int8_t *o0, int8_t *o1, const range_local *rl, const int fast,
                        const int per_channel, const int sat8) {
  const int32_t *const mh = q->mh;
  const tg_rq_ch *const chq = q->ch;
  int32_t buf[4 * 32], xr[TG_Q8_KC], c, m, i, kc, kn;
  for (c = 0; c < n4; c += m) {
    m = n4 - c < 64 ? n4 - c : 64;
    for (i = 0; i < m; i += 2) {
      buf[2 * i] = q->bias[c + i];
      buf[2 * i + 1] = q->bias[c + i + 1];
      buf[2 * i + 2] = q->bias[c + i];
      buf[2 * i + 3] = q->bias[c + i + 1];
    }
    for (kc = 0; kc < k; kc += kn) {
      kn = k - kc < TG_Q8_KC ? k - kc : TG_Q8_KC;
      for (i = 0; i < kn / 4; ++i) {
        const uint32_t v0 = tg_load_u32(a0 + kc + 4 * i), v1 = tg_load_u32(a1 + kc + 4 * i);
        xr[4 * i] = tg_sxtb16_even(v0);
        xr[4 * i + 1] = tg_sxtb16_odd(v0);
        xr[4 * i + 2] = tg_sxtb16_even(v1);
        xr[4 * i + 3] = tg_sxtb16_odd(v1);
      }
      for (i = 0; i < m; i += 2) {
        /* channels c + i, c + i + 1: quad (c + i) / 4, pair (i / 2) % 2 within it */
        const int8_t *wp = w + (c + (i & ~3)) * k + 4 * kc + 4 * (i & 2);
        pair2x2_asm(xr, wp, kn / 8, buf + 2 * i);
      }
    }
#if TG_WP_ASM
    if (fast == 2 && sat8 && per_channel) {
      finish_pairs_asm(mh + 3 * c, buf, o0 + c, o1 + c, m / 2);
      continue;
    }
#endif
    for (i = 0; i < m; i += 2) {
      o0[c + i] = finish(mh, chq, c + i, buf[2 * i], rl, per_channel, fast, sat8);
      o0[c + i + 1] = finish(mh, chq, c + i + 1, buf[2 * i + 1], rl, per_channel, fast, sat8);
      o1[c + i] = finish(mh, chq, c + i, buf[2 * i + 2], rl, per_channel, fast, sat8);
      o1[c + i + 1] = finish(mh, chq, c + i + 1, buf[2 * i + 3], rl, per_channel, fast, sat8);
    }
  }
}
#endif

TG_INLINE void product8(const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w, int32_t n, int32_t k,
                        const tg_requant_ch *q, int8_t *out, int32_t out_stride, const int fast, const int per_channel,
                        const int sat8) {
  const int32_t *const bias = q->bias;
  const int32_t *const mh = q->mh;  /* locals: stores to out may alias the parameter block */
  const tg_rq_ch *const chq = q->ch;
  range_local rl;
  int32_t r, c, m, i, buf[64];
#if TG_WIDE_ASM
  int32_t xrow[128];  /* rows up to 256 long feeding eight quads or more, split into SXTB16 halves once */
#endif
  rl.off = sat8 ? 0 : q->out_offset;
  rl.lo = q->act_min;
  rl.hi = q->act_max;
  r = 0;
#if TG_WIDE_ASM
  /* two rows at a time: the quads' channels, then each row's n % 4 rest */
  for (; r + 2 <= rows; r += 2, a += 2 * a_stride, out += 2 * out_stride) {
    rows2_q8(a, a + a_stride, w, n & ~3, k, q, out, out + out_stride, &rl, fast, per_channel, sat8);
    for (i = 0; i < 2; ++i) {
      const int8_t *ar = a + i * a_stride;
      const int8_t *wp = w + (n & ~3) * k;
      for (c = n & ~3; c < n; ++c, wp += k) {
        out[i * out_stride + c] = finish(mh, chq, c, (int32_t)((uint32_t)bias[c] + (uint32_t)tg_dot_s8(ar, wp, k)),
                                         &rl, per_channel, fast, sat8);
      }
    }
  }
#endif
  for (; r < rows; ++r, a += a_stride, out += out_stride) {
    const int8_t *wp = w;
    for (c = 0; c + 4 <= n; c += m) {
      m = n - c < 64 ? (n - c) & ~3 : 64;
#if TG_WIDE_ASM
      if (k <= 256 && n >= 32) {
        if (c == 0) {
          for (i = 0; i < k / 4; ++i) {
            const uint32_t v = tg_load_u32(a + 4 * i);
            xrow[2 * i] = tg_sxtb16_even(v);
            xrow[2 * i + 1] = tg_sxtb16_odd(v);
          }
        }
        quads8x_asm(xrow, wp, m / 4, k / 8, bias + c, buf);
      } else {
        quads8_asm(a, wp, m / 4, k / 8, bias + c, buf);
      }
#else
      quads8_asm(a, wp, m / 4, k / 8, bias + c, buf);
#endif
      wp += k * m;
      for (i = 0; i < m; ++i) out[c + i] = finish(mh, chq, c + i, buf[i], &rl, per_channel, fast, sat8);
    }
    for (; c < n; ++c, wp += k) {
      out[c] = finish(mh, chq, c, (int32_t)((uint32_t)bias[c] + (uint32_t)tg_dot_s8(a, wp, k)), &rl,
                      per_channel, fast, sat8);
    }
  }
}

void tg_mm_q8_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w, int32_t n, int32_t k,
                 const tg_requant_ch *q, int8_t *out, int32_t out_stride) {
  const int sat8 = q->act_min == -128 && q->act_max == 127 && q->out_offset == 0;
  if (q->mh && q->per_channel && sat8) {
    product8(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 1);
  } else if (q->mh && q->per_channel) {
    product8(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 0);
  } else if (q->mh && sat8) {
    product8(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 0, 1);
  } else {
    product8(a, rows, a_stride, w, n, k, q, out, out_stride, q->fast, q->per_channel, 0);
  }
}

/* --- widened weights by channel pairs, two rows at a time (n % 2 == 0, k % 8 == 0) ---
 * Layout (nn.py `widen_pairs`): per two channels and four k, the words (w0 | w2 << 16),
 * (w1 | w3 << 16) of the first channel, then of the second; a pair's k / 4 groups follow each
 * other (k words a pair). The two rows are split into SXTB16 halves once per pass of TG_WP_KC k
 * (xr: per four k sxtb16(x0), sxtb16(x0 ror 8), sxtb16(x1), sxtb16(x1 ror 8)), so per four k and
 * channel pair: one LDM of the inputs, one LDM of the weights, eight SMLADs (16 products). */
#define TG_WP_KC 144 /* k per pass (xr: TG_WP_KC words on the stack) */

/* One four-k group of two rows as xr holds it: SXTB16 of each word and of the word rotated by 8. */
TG_INLINE void wp_halves(int32_t *xr, uint32_t v0, uint32_t v1) {
#if TG_AOT_DSP
  xr[0] = tg_sxtb16_even(v0);
  xr[1] = tg_sxtb16_odd(v0);
  xr[2] = tg_sxtb16_even(v1);
  xr[3] = tg_sxtb16_odd(v1);
#else
  xr[0] = (int32_t)(((uint32_t)(int32_t)(int8_t)v0 & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(v0 >> 16) << 16));
  xr[1] = (int32_t)(((uint32_t)(int32_t)(int8_t)(v0 >> 8) & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(v0 >> 24) << 16));
  xr[2] = (int32_t)(((uint32_t)(int32_t)(int8_t)v1 & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(v1 >> 16) << 16));
  xr[3] = (int32_t)(((uint32_t)(int32_t)(int8_t)(v1 >> 8) & 0xFFFFu) | ((uint32_t)(int32_t)(int8_t)(v1 >> 24) << 16));
#endif
}

#if TG_WP_ASM
#define TG_WP_STEP                          \
  "ldm r0!, {r4, r5, r6, r7}\n\t"           \
  "ldm r1!, {r8, r9, r10, r11}\n\t"         \
  "smlad r2, r4, r8, r2\n\t"                \
  "smlad r2, r5, r9, r2\n\t"                \
  "smlad r3, r4, r10, r3\n\t"               \
  "smlad r3, r5, r11, r3\n\t"               \
  "smlad r12, r6, r8, r12\n\t"              \
  "smlad r12, r7, r9, r12\n\t"              \
  "smlad lr, r6, r10, lr\n\t"               \
  "smlad lr, r7, r11, lr\n\t"
/* For npairs channel pairs in turn: acc (per pair s00 s01 s10 s11: row 0 channels 0, 1, row 1
 * channels 0, 1) += xr . wp over n8 * 8 k, then wp skips wskip bytes to the next pair's weights.
 * The four sums, four input and four weight words and the two pointers take all fourteen
 * registers: the loop bounds live on the stack ([sp] the k loop's end, [sp, #4] the sums, [sp, #8]
 * xr, [sp, #12] n8 odd; the pair count is counted down in its argument slot). Sixteen k per loop;
 * an odd n8 enters at its second half. */
static __attribute__((naked, noinline)) void pairs_asm(const int32_t *xr __attribute__((unused)),
                                                       const int32_t *wp __attribute__((unused)),
                                                       int32_t n8 __attribute__((unused)),
                                                       int32_t *acc __attribute__((unused)),
                                                       int32_t npairs __attribute__((unused)),
                                                       int32_t wskip __attribute__((unused))) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #16\n\t"
      "str r3, [sp, #4]\n\t"
      "str r0, [sp, #8]\n\t"
      "and r4, r2, #1\n\t"
      "str r4, [sp, #12]\n\t"
      "add r2, r0, r2, lsl #5\n\t"
      "str r2, [sp]\n\t"
      "3:\n\t"
      "ldr r0, [sp, #8]\n\t"
      "ldr r4, [sp, #4]\n\t"
      "ldm r4, {r2, r3, r12, lr}\n\t"
      "ldr r4, [sp, #12]\n\t"
      "cmp r4, #0\n\t"
      "bne 2f\n\t"
      "1:\n\t" TG_WP_STEP TG_WP_STEP
      "2:\n\t" TG_WP_STEP TG_WP_STEP
      "ldr r4, [sp]\n\t"
      "cmp r0, r4\n\t"
      "bne 1b\n\t"
      "ldr r4, [sp, #4]\n\t"
      "stm r4!, {r2, r3, r12, lr}\n\t"
      "str r4, [sp, #4]\n\t"
      "ldr r4, [sp, #56]\n\t"
      "add r1, r1, r4\n\t"
      "ldr r4, [sp, #52]\n\t"
      "subs r4, r4, #1\n\t"
      "str r4, [sp, #52]\n\t"
      "bne 3b\n\t"
      "add sp, sp, #16\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
#define TG_WP_LO(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_WP_HI(v) ((int32_t)(v) >> 16)
#define TG_WP_DOT(x, w) \
  (TG_WP_LO((x)[0]) * TG_WP_LO((w)[0]) + TG_WP_HI((x)[0]) * TG_WP_HI((w)[0]) + TG_WP_LO((x)[1]) * TG_WP_LO((w)[1]) + \
   TG_WP_HI((x)[1]) * TG_WP_HI((w)[1]))
/* Portable: the same sums from the same layouts. */
static void pairs_asm(const int32_t *xr, const int32_t *wp, int32_t n8, int32_t *acc, int32_t npairs,
                      int32_t wskip) {
  int32_t j, p;
  for (p = 0; p < npairs; ++p, acc += 4, wp += wskip / 4) {
    const int32_t *x = xr;
    for (j = 0; j < 2 * n8; ++j, x += 4, wp += 4) {
      acc[0] += TG_WP_DOT(x, wp);
      acc[1] += TG_WP_DOT(x, wp + 2);
      acc[2] += TG_WP_DOT(x + 2, wp);
      acc[3] += TG_WP_DOT(x + 2, wp + 2);
    }
  }
}
#endif

#if TG_AOT_DSP
#define TG_WP_SAT8(v) __ssat((v), 8)
#else
#define TG_WP_SAT8(v) tg_clamp((v), -128, 127)
#endif
/* The SMMULR requantization (fast 2) onto the whole int8 range of both rows of a channel pair (s: row 0
 * channels 0, 1, row 1 channels 0, 1; k: the first channel's mh constants, the second's at k + step):
 * every constant and sum is read before the four stores, which may alias them, so each constant is
 * loaded once for two outputs. */
TG_INLINE void finish_pair_sat8(const int32_t *k, int32_t step, const int32_t *s, int8_t *o0, int8_t *o1) {
  const int32_t m0 = k[0], e0 = k[1], h0 = k[2], m1 = k[step], e1 = k[step + 1], h1 = k[step + 2];
  const int32_t x00 = mulhi_r((int32_t)((uint32_t)s[0] << 1), m0), x10 = mulhi_r((int32_t)((uint32_t)s[2] << 1), m0);
  const int32_t x01 = mulhi_r((int32_t)((uint32_t)s[1] << 1), m1), x11 = mulhi_r((int32_t)((uint32_t)s[3] << 1), m1);
  const int8_t v00 = (int8_t)TG_WP_SAT8((x00 + h0 + (x00 >> 31)) >> e0);
  const int8_t v10 = (int8_t)TG_WP_SAT8((x10 + h0 + (x10 >> 31)) >> e0);
  const int8_t v01 = (int8_t)TG_WP_SAT8((x01 + h1 + (x01 >> 31)) >> e1);
  const int8_t v11 = (int8_t)TG_WP_SAT8((x11 + h1 + (x11 >> 31)) >> e1);
  o0[0] = v00;
  o0[1] = v01;
  o1[0] = v10;
  o1[1] = v11;
}


/* Rows in pairs (an odd last row pairs with itself): per 64 channels, k in passes of TG_WP_KC
 * (both rows split into xr, then every channel pair's sums), then the requantization. */
TG_INLINE void product_wp(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                          const tg_requant_ch *q, int8_t *out, int32_t out_stride, const int fast,
                          const int per_channel, const int sat8) {
  const int32_t *const bias = q->bias;
  const int32_t *const mh = q->mh; /* locals: stores to out may alias the parameter block */
  const tg_rq_ch *const chq = q->ch;
  range_local rl;
  int32_t buf[2 * 64], xr[TG_WP_KC], r, c, m, i, kc, kn;
  rl.off = sat8 ? 0 : q->out_offset;
  rl.lo = q->act_min;
  rl.hi = q->act_max;
  for (r = 0; r < rows; r += 2, a += 2 * a_stride, out += 2 * out_stride) {
    const int8_t *const a1 = r + 1 < rows ? a + a_stride : a;
    for (c = 0; c < n; c += m) {
      m = n - c < 64 ? n - c : 64;
      for (i = 0; i < m; i += 2) {
        buf[2 * i] = bias[c + i];
        buf[2 * i + 1] = bias[c + i + 1];
        buf[2 * i + 2] = bias[c + i];
        buf[2 * i + 3] = bias[c + i + 1];
      }
      for (kc = 0; kc < k; kc += kn) {
        kn = k - kc < TG_WP_KC ? k - kc : TG_WP_KC;
        if (c == 0 || kn < k) {
          /* (a single pass splits the rows once for all channels) */
          for (i = 0; i < kn / 4; ++i) {
            wp_halves(xr + 4 * i, tg_load_u32(a + kc + 4 * i), tg_load_u32(a1 + kc + 4 * i));
          }
        }
        pairs_asm(xr, w + c / 2 * k + kc, kn / 8, buf, m / 2, 4 * (k - kn));
      }
      if (fast == 2 && sat8 && r + 1 < rows) {
#if TG_WP_ASM
        if (per_channel) {
          finish_pairs_asm(mh + 3 * c, buf, out + c, out + out_stride + c, m / 2);
          continue;
        }
#endif
        for (i = 0; i < m; i += 2) {
          finish_pair_sat8(mh + (per_channel ? 3 * (c + i) : 0), per_channel ? 3 : 0, buf + 2 * i, out + c + i,
                           out + out_stride + c + i);
        }
        continue;
      }
      for (i = 0; i < m; i += 2) {
        out[c + i] = finish(mh, chq, c + i, buf[2 * i], &rl, per_channel, fast, sat8);
        out[c + i + 1] = finish(mh, chq, c + i + 1, buf[2 * i + 1], &rl, per_channel, fast, sat8);
      }
      if (r + 1 < rows) {
        for (i = 0; i < m; i += 2) {
          out[out_stride + c + i] = finish(mh, chq, c + i, buf[2 * i + 2], &rl, per_channel, fast, sat8);
          out[out_stride + c + i + 1] = finish(mh, chq, c + i + 1, buf[2 * i + 3], &rl, per_channel, fast, sat8);
        }
      }
    }
  }
}

void tg_mm_wp_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                 const tg_requant_ch *q, int8_t *out, int32_t out_stride) {
  const int sat8 = q->act_min == -128 && q->act_max == 127 && q->out_offset == 0;
  if (q->mh && q->per_channel && sat8) {
    product_wp(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 1);
  } else if (q->mh && q->per_channel) {
    product_wp(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 1, 0);
  } else if (q->mh && sat8) {
    product_wp(a, rows, a_stride, w, n, k, q, out, out_stride, 2, 0, 1);
  } else {
    product_wp(a, rows, a_stride, w, n, k, q, out, out_stride, q->fast, q->per_channel, 0);
  }
}

/* --- CONV_2D through im2col on wide-3 weights, a whole image per call ---
 * tg_conv_s8 would hand tg_mm_wp_s8 two patches at a time; a layer with few input channels (a
 * network's first convolution: 3x3 over RGB, 27 products an output) then spends more on each
 * call's set-up (the variant dispatch, the bias copy, the loops over channel blocks and k passes)
 * and on the generic im2col than on its products. Here that work is done once per image, and a
 * window wholly inside the image is gathered a filter row at a time in whole words (a filter row
 * of at most 16 bytes: WORDS words): the bytes a word takes past the row land on the next row's
 * place (written after it) or on the padding, which meets zero weights. */
#define TG_WP_PATCH (TG_WP_KC + 4) /* a patch and the up to 3 bytes its last word-wise row adds */

typedef struct {
  int32_t row, tap_step, k_h, in_bytes; /* filter row bytes, input bytes between filter rows */
} wp_window;

/* The patch of output pixel (oy, ox): word copies when the window is inside the image and its
 * last word stays inside the input, tg_im2col_s8 otherwise. */
TG_INLINE void wp_gather(const tg_conv_params *p, const wp_window *g, const int8_t *img, int32_t oy, int32_t ox,
                         int8_t *patch, const int words) {
  const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
  const int32_t first = (iy0 * p->in_w + ix0) * p->in_c;
  int32_t ky;
  if (iy0 < 0 || iy0 + (g->k_h - 1) * p->dil_h >= p->in_h || ix0 < 0 || ix0 + p->k_w > p->in_w ||
      words > 4 || first + (g->k_h - 1) * g->tap_step + 4 * words > g->in_bytes) {
    tg_im2col_s8(p, img, oy, ox, patch);
    return;
  }
  {
    const int8_t *src = img + first;
    for (ky = 0; ky < g->k_h; ++ky, patch += g->row, src += g->tap_step) {
      /* spelt out: GCC turns a loop of word copies into a memcpy call */
      const uint32_t w0 = tg_load_u32(src), w1 = words > 1 ? tg_load_u32(src + 4) : 0;
      const uint32_t w2 = words > 2 ? tg_load_u32(src + 8) : 0, w3 = words > 3 ? tg_load_u32(src + 12) : 0;
      memcpy(patch, &w0, 4);
      if (words > 1) memcpy(patch + 4, &w1, 4);
      if (words > 2) memcpy(patch + 8, &w2, 4);
      if (words > 3) memcpy(patch + 12, &w3, 4);
    }
  }
}

TG_INLINE void conv_wp(const tg_conv_params *p, const int8_t *img, const int32_t *w, int8_t *out, const int words) {
  const tg_requant_ch *const q = &p->rq;
  const int32_t n = p->out_c, pixels = p->out_h * p->out_w;
  const int32_t k = p->k_pad > 0 ? p->k_pad : p->k_h * p->k_w * p->in_c;
  const int32_t *const bias = q->bias;
  wp_window g;
  int32_t patch0[TG_WP_PATCH / 4], patch1[TG_WP_PATCH / 4], xr[TG_WP_KC], sums[2 * 64];
  int8_t spare[64]; /* the second row's outputs of an odd last pixel */
  int32_t i, j, oy = 0, ox = 0;
  g.row = p->k_w * p->in_c;
  g.tap_step = p->dil_h * p->in_w * p->in_c;
  g.k_h = p->k_h;
  g.in_bytes = p->in_h * p->in_w * p->in_c;
  for (i = 0; i < pixels; i += 2) {
    const int two = i + 1 < pixels;
    const int8_t *a0 = (const int8_t *)patch0, *a1 = two ? (const int8_t *)patch1 : a0;
    int8_t *o0 = out + i * n, *o1 = two ? o0 + n : spare;
    wp_gather(p, &g, img, oy, ox, (int8_t *)patch0, words);
    if (++ox == p->out_w) ox = 0, ++oy;
    if (two) {
      wp_gather(p, &g, img, oy, ox, (int8_t *)patch1, words);
      if (++ox == p->out_w) ox = 0, ++oy;
    }
    for (j = 0; j < k / 4; ++j) {
      wp_halves(xr + 4 * j, tg_load_u32(a0 + 4 * j), tg_load_u32(a1 + 4 * j));
    }
    for (j = 0; j < n; j += 2) { /* per channel pair: row 0 channels 0, 1, row 1 channels 0, 1 */
      const int32_t b0 = bias[j], b1 = bias[j + 1];
      sums[2 * j] = b0;
      sums[2 * j + 1] = b1;
      sums[2 * j + 2] = b0;
      sums[2 * j + 3] = b1;
    }
    pairs_asm(xr, w, k / 8, sums, n / 2, 0);
#if TG_WP_ASM
    finish_pairs_asm(q->mh, sums, o0, o1, n / 2);
#else
    for (j = 0; j < n; j += 2) finish_pair_sat8(q->mh + 3 * j, 3, sums + 2 * j, o0 + j, o1 + j);
#endif
  }
}

int tg_conv_wp_s8(const tg_conv_params *p, const int8_t *img, const int32_t *w, int8_t *out) {
  const tg_requant_ch *const q = &p->rq;
  const int32_t k = p->k_pad > 0 ? p->k_pad : p->k_h * p->k_w * p->in_c;
  const int32_t words = (p->k_w * p->in_c + 3) / 4;
  if (!q->mh || !q->per_channel || q->act_min != -128 || q->act_max != 127 || q->out_offset != 0 || p->out_c > 64 ||
      p->out_c % 2 || k > TG_WP_KC || k % 8 || p->dil_w != 1) {
    return 0;
  }
  /* one copy of the loop per filter-row length in words (the common first layers: 1 to 4) */
  if (words == 1) {
    conv_wp(p, img, w, out, 1);
  } else if (words == 2) {
    conv_wp(p, img, w, out, 2);
  } else if (words == 3) {
    conv_wp(p, img, w, out, 3);
  } else if (words == 4) {
    conv_wp(p, img, w, out, 4);
  } else {
    conv_wp(p, img, w, out, 5); /* wp_gather: always tg_im2col_s8 */
  }
  return 1;
}

/* --- pointwise convolutions of eight input channels (k = 8) ---
 * With k = 8 a product call's per-pixel work (the bias copy, the SXTB16 split, the per-pair set-up)
 * outweighs the eight products of an output. Here a pixel's eight inputs are split once into four
 * registers and each output channel is one 32-byte stream (nn.py `pw8_streams`): one LDM of the folded
 * bias and the four weight words, four SMLADs, one LDM of the SMMULR constants, the requantization of
 * finish_pairs_asm. */
#if TG_WP_ASM
#define TG_PW8_OUT                            \
  "ldm r9!, {r1, r10, r11, r12, lr}\n\t"      \
  "smlad r1, r4, r10, r1\n\t"                 \
  "smlad r1, r5, r11, r1\n\t"                 \
  "smlad r1, r6, r12, r1\n\t"                 \
  "smlad r1, r7, lr, r1\n\t"                  \
  "ldm r9!, {r10, r11, r12}\n\t"              \
  "lsl r1, r1, #1\n\t"                        \
  "smmulr r1, r1, r10\n\t"                    \
  "add r10, r1, r12\n\t"                      \
  "add r10, r10, r1, asr #31\n\t"             \
  "asr r10, r10, r11\n\t"                     \
  "ssat r10, #8, r10\n\t"                     \
  "strb r10, [r8], #1\n\t"
/* rows >= 1 pixels, n >= 2 even. Registers: r0 the inputs, r2/r3 the streams' start and end, r4-r7 the
 * pixel's SXTB16 halves, r8 the outputs, r9 the stream; the pixel count lives on the stack. */
static __attribute__((naked, noinline)) void pw8_asm(const int8_t *a __attribute__((unused)),
                                                     int32_t rows __attribute__((unused)),
                                                     const int32_t *w __attribute__((unused)),
                                                     int32_t n __attribute__((unused)),
                                                     int8_t *out __attribute__((unused))) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #8\n\t"
      "str r1, [sp]\n\t"
      "ldr r8, [sp, #44]\n\t" /* out, the fifth argument */
      "add r3, r2, r3, lsl #5\n\t"
      "1:\n\t"
      "ldr r4, [r0], #4\n\t"
      "ldr r6, [r0], #4\n\t"
      "sxtb16 r5, r4, ror #8\n\t"
      "sxtb16 r4, r4\n\t"
      "sxtb16 r7, r6, ror #8\n\t"
      "sxtb16 r6, r6\n\t"
      "mov r9, r2\n\t"
      "2:\n\t" TG_PW8_OUT TG_PW8_OUT
      "cmp r9, r3\n\t"
      "bne 2b\n\t"
      "ldr r1, [sp]\n\t"
      "subs r1, r1, #1\n\t"
      "str r1, [sp]\n\t"
      "bne 1b\n\t"
      "add sp, sp, #8\n\t"
      "pop {r4-r11, pc}\n\t");
}
#endif

void tg_pw8_s8(const int8_t *a, int32_t rows, const int32_t *w, int32_t n, int8_t *out) {
#if TG_WP_ASM
  if (rows > 0 && n > 0) pw8_asm(a, rows, w, n, out);
#else
  int32_t r, c;
  for (r = 0; r < rows; ++r, a += 8) {
    const int32_t *s = w;
    for (c = 0; c < n; ++c, s += 8) {
      const int32_t acc = (int32_t)((uint32_t)s[0] + (uint32_t)(a[0] * TG_WP_LO(s[1]) + a[2] * TG_WP_HI(s[1]) +
                                                                a[1] * TG_WP_LO(s[2]) + a[3] * TG_WP_HI(s[2]) +
                                                                a[4] * TG_WP_LO(s[3]) + a[6] * TG_WP_HI(s[3]) +
                                                                a[5] * TG_WP_LO(s[4]) + a[7] * TG_WP_HI(s[4])));
      const int32_t x = mulhi_r((int32_t)((uint32_t)acc << 1), s[5]);
      *out++ = (int8_t)TG_WP_SAT8((x + s[7] + (x >> 31)) >> s[6]);
    }
  }
#endif
}

/* --- 3x3 convolutions over three channels (wide 5) ---
 * The patch in nn.py's RGB3X3_ORDER: per filter row its bytes 0-7, then the three rows' byte 8 in one
 * word (and a zero weight): k = 28. Two output pixels of one row whose windows lie inside
 * the image are gathered straight into their SXTB16 halves: per filter row two words of each pixel,
 * then three bytes each for the seventh word. Other pixels go through tg_im2col_s8 and a byte shuffle. */

/* Byte 8 of the three filter rows (tap_step bytes apart) as one word. */
TG_INLINE uint32_t rgb_tail(const int8_t *src, int32_t tap_step) {
  return (uint32_t)(uint8_t)src[8] | (uint32_t)(uint8_t)src[tap_step + 8] << 8 |
         (uint32_t)(uint8_t)src[2 * tap_step + 8] << 16;
}

/* The RGB3X3_ORDER patch of output pixel (oy, ox) through tg_im2col_s8 (any window: padding, image edges). */
static void rgb_patch(const tg_conv_params *p, const int8_t *img, int32_t oy, int32_t ox, uint32_t *words) {
  int8_t patch[27], *b = (int8_t *)words;
  tg_im2col_s8(p, img, oy, ox, patch);
  memcpy(b, patch, 8);
  memcpy(b + 8, patch + 9, 8);
  memcpy(b + 16, patch + 18, 8);
  b[24] = patch[8];
  b[25] = patch[17];
  b[26] = patch[26];
  b[27] = 0;
}

/* For npairs channel pairs in turn: sums (per pair s00 s01 s10 s11, started at init's four words) +=
 * xr . wp over the patch's 28 k, seven steps of tg_mm_wp_s8's (TG_WP_STEP) unrolled; wp runs on through
 * the pairs (28 words each). The pointers and the count live on the stack. */
#if TG_WP_ASM
static __attribute__((naked, noinline)) void rgb_pairs_asm(const int32_t *xr __attribute__((unused)),
                                                           const int32_t *wp __attribute__((unused)),
                                                           const int32_t *init __attribute__((unused)),
                                                           int32_t *sums __attribute__((unused)),
                                                           int32_t npairs __attribute__((unused))) {
  __asm__ volatile(
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #16\n\t"
      "str r0, [sp]\n\t"
      "str r2, [sp, #4]\n\t"
      "str r3, [sp, #8]\n\t"
      "ldr r4, [sp, #52]\n\t" /* npairs, the fifth argument */
      "str r4, [sp, #12]\n\t"
      "1:\n\t"
      "ldr r0, [sp]\n\t"
      "ldr r4, [sp, #4]\n\t"
      "ldm r4!, {r2, r3, r12, lr}\n\t"
      "str r4, [sp, #4]\n\t" TG_WP_STEP TG_WP_STEP TG_WP_STEP TG_WP_STEP TG_WP_STEP TG_WP_STEP TG_WP_STEP
      "ldr r4, [sp, #8]\n\t"
      "stm r4!, {r2, r3, r12, lr}\n\t"
      "str r4, [sp, #8]\n\t"
      "ldr r4, [sp, #12]\n\t"
      "subs r4, r4, #1\n\t"
      "str r4, [sp, #12]\n\t"
      "bne 1b\n\t"
      "add sp, sp, #16\n\t"
      "pop {r4-r11, pc}\n\t");
}
#else
static void rgb_pairs_asm(const int32_t *xr, const int32_t *wp, const int32_t *init, int32_t *sums, int32_t npairs) {
  int32_t j, p;
  for (p = 0; p < npairs; ++p, init += 4, sums += 4) {
    const int32_t *x = xr;
    sums[0] = init[0];
    sums[1] = init[1];
    sums[2] = init[2];
    sums[3] = init[3];
    for (j = 0; j < 7; ++j, x += 4, wp += 4) {
      sums[0] += TG_WP_DOT(x, wp);
      sums[1] += TG_WP_DOT(x, wp + 2);
      sums[2] += TG_WP_DOT(x + 2, wp);
      sums[3] += TG_WP_DOT(x + 2, wp + 2);
    }
  }
}
#endif

void tg_conv_rgb_s8(const tg_conv_params *p, const int8_t *img, const int32_t *w, int8_t *out) {
  const int32_t n = p->out_c, pixels = p->out_h * p->out_w;
  const int32_t tap_step = p->dil_h * p->in_w * 3, step = p->stride_w * 3;
  const int32_t *const bias = p->rq.bias, *const mh = p->rq.mh;
  int32_t xr[28], init[2 * 64], sums[2 * 64];
  uint32_t w0[7], w1[7];
  int8_t spare[64]; /* the second row's outputs of an odd last pixel */
  int32_t i, j, oy = 0, ox = 0;
  for (j = 0; j < n; j += 2) { /* per channel pair: row 0 channels 0, 1, row 1 channels 0, 1 */
    init[2 * j] = init[2 * j + 2] = bias[j];
    init[2 * j + 1] = init[2 * j + 3] = bias[j + 1];
  }
  for (i = 0; i < pixels; i += 2) {
    const int two = i + 1 < pixels;
    const int32_t oy1 = ox + 1 < p->out_w ? oy : oy + 1, ox1 = ox + 1 < p->out_w ? ox + 1 : 0;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int8_t *o0 = out + i * n, *o1 = two ? o0 + n : spare;
    if (two && oy1 == oy && iy0 >= 0 && iy0 + 2 * p->dil_h < p->in_h && ix0 >= 0 && ix0 + p->stride_w + 3 <= p->in_w) {
      const int8_t *s0 = img + (iy0 * p->in_w + ix0) * 3, *s1 = s0 + step;
      for (j = 0; j < 3; ++j, s0 += tap_step, s1 += tap_step) {
        wp_halves(xr + 8 * j, tg_load_u32(s0), tg_load_u32(s1));
        wp_halves(xr + 8 * j + 4, tg_load_u32(s0 + 4), tg_load_u32(s1 + 4));
      }
      s0 -= 3 * tap_step;
      s1 -= 3 * tap_step;
      wp_halves(xr + 24, rgb_tail(s0, tap_step), rgb_tail(s1, tap_step));
    } else {
      rgb_patch(p, img, oy, ox, w0);
      if (two) {
        rgb_patch(p, img, oy1, ox1, w1);
      } else {
        memcpy(w1, w0, sizeof w1);
      }
      for (j = 0; j < 7; ++j) wp_halves(xr + 4 * j, w0[j], w1[j]);
    }
    if (two) {
      oy = ox1 + 1 < p->out_w ? oy1 : oy1 + 1;
      ox = ox1 + 1 < p->out_w ? ox1 + 1 : 0;
    }
    rgb_pairs_asm(xr, w, init, sums, n / 2);
#if TG_WP_ASM
    finish_pairs_asm(mh, sums, o0, o1, n / 2);
#else
    for (j = 0; j < n; j += 2) finish_pair_sat8(mh + 3 * j, 3, sums + 2 * j, o0 + j, o1 + j);
#endif
  }
}
