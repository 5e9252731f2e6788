/* tinygen AOT runtime: 3x3 DEPTHWISE_CONV_2D (multiplier 1, dilation 1, stride 1 along the row)
 * one channel at a time over rows of int16.
 *
 * For each channel, the input rows the filter needs are copied once into a ring of int16 rows
 * (the padding columns hold the input zero point, which adds nothing once the input offset is
 * folded into the bias; rows outside the image read a row of zero points). The output rows go in
 * bands of `band` rows (tinygen picks ~128 outputs a band): the ring holds the rows one band reads,
 * (band - 1) * stride_h + 3, and one assembly call computes the band's sums, so what an output
 * row costs besides its outputs is a few instructions. Along a row two
 * adjacent inputs are one word, so one SMLAD takes two taps: (x[j], x[j+1]) . (w[t], w[t+1]). The
 * weights are stored by tinygen per channel and filter row in groups of four taps as bytes
 * (w0, w2, w1, w3) (`dw_row_weights` in ops/nn.py), so SXTB16 of a group word gives (w0, w1) and
 * of the word rotated by 8 (w2, w3); they are doubled (SADD16) once per channel, so the sums are
 * 2 * acc. Two outputs at a time from two input words per filter row (3x3, stride 1 along the row):
 *   o[j]   = (x[j], x[j+1]) . (w0, w1) + x[j+2] * w2
 *   o[j+1] = (x[j+2], x[j+3]) . (w1, w2) + x[j+1] * w0
 * The sums of a band go to rows of int32, then are requantized with the channel's
 * constants in registers: TFLM's doubling high multiply of acc is exactly the rounded high word
 * of 2 * acc * mult (SMMULR), and its rounding division by 2^e is (x + 2^(e-1) - (x < 0)) >> e,
 * with the output zero point folded into the rounding constant (tinygen checks at generation time
 * that |2 * acc| and the constants stay inside int32).
 * In place (out == in): a channel's input rows are in the ring before that channel's output rows
 * overwrite them (tinygen checks the row order at generation time, `dw_cache_rows`).
 */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include <string.h>

#include "tg_aot.h"
#include "tg_aot_simd.h"

#if defined(__GNUC__)
#define TG_DR_INLINE static inline __attribute__((always_inline))
#else
#define TG_DR_INLINE static inline
#endif

/* The row loops are functions of their own: a clean register context, so the weights and
 * constants stay in registers (inlined into the channel loop, GCC spills them). */
#if defined(__GNUC__)
#define TG_DR_NOINLINE static __attribute__((noinline))
#else
#define TG_DR_NOINLINE static
#endif

static inline int32_t ld2(const int16_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

#if TG_AOT_DSP
#define TG_SMUAD(x, y) __smuad((x), (y))
#define TG_SMLAD(x, y, a) __smlad((x), (y), (a))
#define TG_SMULTB(x, y) smultb_((x), (y))
#define TG_SMLATB(x, y, a) __smlatb((x), (y), (a))
#define TG_SMLABT(x, y, a) __smlabt((x), (y), (a))
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline int32_t smultb_(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smultb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#else
#define TG_LO16(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_HI16(v) ((int32_t)(v) >> 16)
#define TG_SMUAD(x, y) ((int32_t)((uint32_t)(TG_LO16(x) * TG_LO16(y)) + (uint32_t)(TG_HI16(x) * TG_HI16(y))))
#define TG_SMLAD(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)TG_SMUAD(x, y)))
#define TG_SMULTB(x, y) (TG_HI16(x) * TG_LO16(y))
#define TG_SMLATB(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)(TG_HI16(x) * TG_LO16(y))))
#define TG_SMLABT(x, y, a) ((int32_t)((uint32_t)(a) + (uint32_t)(TG_LO16(x) * TG_HI16(y))))
static inline int32_t mulhi_r(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/* 2 * (w[t], w[t+1]) and 2 * (w[t+2], w[t+3]) from a group word of bytes (w0, w2, w1, w3). */
static inline int32_t pair2(uint32_t g) {
  const int32_t lo = (int32_t)(int8_t)(g & 0xFFu), hi = (int32_t)(int8_t)((g >> 16) & 0xFFu);
  return (int32_t)(((uint32_t)(2 * lo) & 0xFFFFu) | ((uint32_t)(2 * hi) << 16));
}

/* One band of output rows for the sums kernels: output row i of the band reads the ring rows
 * rows[i * sh + r], r = 0, 1, 2 (a row of zero points outside the image). pw: per filter row the
 * doubled weight pairs (w0, w1) and (w1, w2). Sums go to acc, nrows * out_w of them, row after row. */
typedef struct {
  const int16_t *const *rows;
  int32_t sh;     /* table entries per output row: the stride across rows */
  int32_t npairs; /* out_w / 2 */
  int32_t odd;    /* out_w % 2 */
  int32_t nrows;
  const int32_t *pw;
  int32_t *acc;
} dw3_band;

#if TG_AOT_DSP && defined(__GNUC__) && defined(__thumb2__)
#define TG_DR_ASM 1
/* The band's sums in assembly: the six weight words, three row pointers, two sums and two input
 * words take all fourteen registers, so the loop bounds live on the stack (frame: [sp] the pair
 * loop's end, [sp, #4] the row table entry, [sp, #8] rows left, [sp, #12] the band). Two outputs
 * per step, two steps per loop (an odd count enters at the second). Per step at stride 1 along the
 * row: per filter row one LDRD of (x0, x1), (x2, x3) and four multiplies,
 *   o0 = (x0, x1) . (w0, w1) + x2 * w2,   o1 = x1 * w0 + (x2, x3) . (w1, w2). */
#define TG_DR_ROW1(p, wa, wb)                 \
  "ldrd r10, r11, [" p "], #4\n\t"            \
  "smlad r12, r10, " wa ", r12\n\t"           \
  "smlatb lr, r10, " wa ", lr\n\t"            \
  "smlabt r12, r11, " wb ", r12\n\t"          \
  "smlad lr, r11, " wb ", lr\n\t"
#define TG_DR_PAIR1                           \
  "ldrd r10, r11, [r0], #4\n\t"               \
  "smuad r12, r10, r4\n\t"                    \
  "smultb lr, r10, r4\n\t"                    \
  "smlabt r12, r11, r5, r12\n\t"              \
  "smlad lr, r11, r5, lr\n\t"                 \
  TG_DR_ROW1("r1", "r6", "r7")                \
  TG_DR_ROW1("r2", "r8", "r9")                \
  "strd r12, lr, [r3], #8\n\t"
/* the last output of an odd row: (x0, x1) . (w0, w1) + x2 * w2 per filter row */
#define TG_DR_SINGLE                          \
  "ldrd r10, r11, [r0]\n\t"                   \
  "smuad r12, r10, r4\n\t"                    \
  "smlabt r12, r11, r5, r12\n\t"              \
  "ldrd r10, r11, [r1]\n\t"                   \
  "smlad r12, r10, r6, r12\n\t"               \
  "smlabt r12, r11, r7, r12\n\t"              \
  "ldrd r10, r11, [r2]\n\t"                   \
  "smlad r12, r10, r8, r12\n\t"               \
  "smlabt r12, r11, r9, r12\n\t"              \
  "str r12, [r3], #4\n\t"
#define TG_DR_BAND(PAIR)                                                                    \
  __asm__ volatile(                                                                         \
      "push {r4-r11, lr}\n\t"                                                               \
      "sub sp, sp, #16\n\t"                                                                 \
      "str r0, [sp, #12]\n\t"                                                               \
      "ldr r10, [r0, #20]\n\t"                                                              \
      "ldm r10, {r4-r9}\n\t"                                                                \
      "ldr r3, [r0, #24]\n\t"                                                               \
      "ldr r10, [r0, #0]\n\t"                                                               \
      "str r10, [sp, #4]\n\t"                                                               \
      "ldr r10, [r0, #16]\n\t"                                                              \
      "str r10, [sp, #8]\n\t"                                                               \
      "2:\n\t"                                                                              \
      "ldr r12, [sp, #12]\n\t"                                                              \
      "ldr r10, [sp, #4]\n\t"                                                               \
      "ldm r10, {r0, r1, r2}\n\t"                                                           \
      "ldr r11, [r12, #4]\n\t"                                                              \
      "add r10, r10, r11, lsl #2\n\t"                                                       \
      "str r10, [sp, #4]\n\t"                                                               \
      "ldr r11, [r12, #8]\n\t"                                                              \
      "add r10, r3, r11, lsl #3\n\t"                                                        \
      "str r10, [sp]\n\t"                                                                   \
      "cmp r11, #0\n\t"                                                                     \
      "beq 5f\n\t"                                                                          \
      "tst r11, #1\n\t"                                                                     \
      "bne 4f\n\t"                                                                          \
      "3:\n\t" PAIR "4:\n\t" PAIR                                                           \
      "ldr r10, [sp]\n\t"                                                                   \
      "cmp r3, r10\n\t"                                                                     \
      "bne 3b\n\t"                                                                          \
      "5:\n\t"                                                                              \
      "ldr r12, [sp, #12]\n\t"                                                              \
      "ldr r10, [r12, #12]\n\t"                                                             \
      "cmp r10, #0\n\t"                                                                     \
      "beq 6f\n\t" TG_DR_SINGLE                                                             \
      "6:\n\t"                                                                              \
      "ldr r10, [sp, #8]\n\t"                                                               \
      "subs r10, r10, #1\n\t"                                                               \
      "str r10, [sp, #8]\n\t"                                                               \
      "bne 2b\n\t"                                                                          \
      "add sp, sp, #16\n\t"                                                                 \
      "pop {r4-r11, pc}\n\t")

static __attribute__((naked, noinline)) void band_s1(const dw3_band *b __attribute__((unused))) {
  TG_DR_BAND(TG_DR_PAIR1);
}
#else
#define TG_DR_ASM 0
#ifndef TG_LO16
#define TG_LO16(v) ((int32_t)(int16_t)((uint32_t)(v) & 0xFFFFu))
#define TG_HI16(v) ((int32_t)(v) >> 16)
#endif
/* Portable: the same doubled sums output by output. */
static void band_c(const dw3_band *b) {
  const int32_t ow = 2 * b->npairs + b->odd;
  const int32_t w[9] = {TG_LO16(b->pw[0]), TG_HI16(b->pw[0]), TG_HI16(b->pw[1]), TG_LO16(b->pw[2]), TG_HI16(b->pw[2]),
                        TG_HI16(b->pw[3]), TG_LO16(b->pw[4]), TG_HI16(b->pw[4]), TG_HI16(b->pw[5])};
  int32_t *acc = b->acc, i, j, r, t;
  for (i = 0; i < b->nrows; ++i) {
    for (j = 0; j < ow; ++j, ++acc) {
      int32_t s = 0;
      for (r = 0; r < 3; ++r) {
        const int16_t *x = b->rows[i * b->sh + r] + j;
        for (t = 0; t < 3; ++t) s += x[t] * w[3 * r + t];
      }
      *acc = s;
    }
  }
}
#endif

/* The requantized rows of a band. ch: mult, shift e >= 1, rounding constant 2^(e-1) (+ out_offset *
 * 2^e when folded), 2 * bias. kind 2: the whole int8 range (one SSAT); 1: only a lower bound (RELU);
 * 0: any range. */
TG_DR_INLINE void store_rows(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o,
                             int32_t rows, const int kind) {
  const int32_t m = ch[0], e = ch[1], h = ch[2], b2 = ch[3];
  const int32_t off = p->out_offset, lo = p->act_min, hi = p->act_max, step = p->out_step;
  const int32_t rstep = p->out_row_step, ow = p->out_w;
  for (; rows > 0; --rows, o += rstep) {
    int8_t *q = o;
    int32_t n;
    for (n = ow; n > 0; --n, ++acc, q += step) {
      const int32_t x = mulhi_r((int32_t)((uint32_t)*acc + (uint32_t)b2), m);
      int32_t v = (x + h + (x >> 31)) >> e;
#if TG_AOT_DSP
      if (kind) {
        v = __ssat(v, 8);
        if (kind == 1 && v < lo) v = lo;
        *q = (int8_t)v;
        continue;
      }
#else
      (void)kind;
#endif
      *q = (int8_t)tg_clamp(v + off, lo, hi);
    }
  }
}

TG_DR_NOINLINE void store_sat8(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o,
                               int32_t rows) {
  store_rows(p, ch, acc, o, rows, 2);
}
TG_DR_NOINLINE void store_relu(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o,
                               int32_t rows) {
  store_rows(p, ch, acc, o, rows, 1);
}
TG_DR_NOINLINE void store_any(const tg_dwrow_params *p, const int32_t *ch, const int32_t *acc, int8_t *o,
                              int32_t rows) {
  store_rows(p, ch, acc, o, rows, 0);
}

void tg_dwconv_rows_s8(const tg_dwrow_params *p, const int8_t *in, int8_t *out, int16_t *scratch) {
  const int32_t C = p->c, ih = p->in_h, iw = p->in_w, len = p->row_len, oh = p->out_h, sh = p->stride_h;
  const int32_t es = p->in_step, rs = p->in_row_step, band = p->band;
  const int32_t nring = (band - 1) * sh + 3; /* the rows one band reads */
  /* which requantization tail: the output zero point folded in and the whole int8 range, or only
     a lower bound (RELU), or anything */
  const int kind = p->out_offset != 0 || p->act_max != 127 ? 0 : p->act_min == -128 ? 2 : 1;
  int16_t *const zrow = scratch + nring * len;
  int32_t *const acc = (int32_t *)(void *)(zrow + len);
  const int16_t *rows[TG_DWROW_MAX_RING];
  int32_t pw[6];
  dw3_band b;
  int32_t c, i, oy, r, n;
  /* every ring row starts as zero points: the padding columns are never written again */
  for (i = 0; i < (nring + 1) * len; ++i) scratch[i] = (int16_t)p->in_zero_point;
  b.rows = rows;
  b.sh = sh;
  b.npairs = p->out_w >> 1;
  b.odd = p->out_w & 1;
  b.pw = pw;
  b.acc = acc;
  for (c = 0; c < C; ++c) {
    const uint32_t *wg = (const uint32_t *)(const void *)p->w + 3 * c;
    const int32_t *const ch = p->ch + 4 * c;
    int32_t next_row = 0;
    for (r = 0; r < 3; ++r) {
      const int32_t a = pair2(wg[r]), z = pair2((wg[r] >> 8) | (wg[r] << 24)); /* (w0, w1), (w2, 0) */
      pw[2 * r] = a;
      pw[2 * r + 1] = (int32_t)(((uint32_t)a >> 16) | ((uint32_t)z << 16)); /* (w1, w2) */
    }
    for (oy = 0; oy < oh; oy += n) {
      const int32_t first = oy * sh - p->pad_h;
      int32_t last;
      n = oh - oy < band ? oh - oy : band;
      last = first + (n - 1) * sh + 2;
      if (next_row < first) next_row = first; /* rows above the band are never needed again */
      for (; next_row <= last && next_row < ih; ++next_row) {
        /* this channel's input row next_row into its ring slot, as int16 */
        const int8_t *src = in + next_row * rs + c;
        int16_t *dst = scratch + (next_row % nring) * len + p->pad_w;
        int16_t *const dend = dst + (iw & ~3);
        for (; dst < dend; dst += 4, src += 4 * es) {
          dst[0] = src[0];
          dst[1] = src[es];
          dst[2] = src[2 * es];
          dst[3] = src[3 * es];
        }
        for (i = 0; i < (iw & 3); ++i, src += es) dst[i] = src[0];
      }
      for (r = 0; r < (n - 1) * sh + 3; ++r) {
        const int32_t iy = first + r;
        rows[r] = iy < 0 || iy >= ih ? zrow : scratch + (iy % nring) * len;
      }
      b.nrows = n;
#if TG_DR_ASM
      band_s1(&b);
#else
      band_c(&b);
#endif
      if (kind == 2) store_sat8(p, ch, acc, out + oy * p->out_row_step + c, n);
      else if (kind == 1) store_relu(p, ch, acc, out + oy * p->out_row_step + c, n);
      else store_any(p, ch, acc, out + oy * p->out_row_step + c, n);
    }
  }
}
