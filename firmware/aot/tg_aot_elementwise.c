/* tinygen AOT runtime: int8 ADD and MUL (with broadcasting), requantize, dequantize.
 * Element i of the output depends only on element i of the inputs, so out may alias an input. */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_aot.h"

/* Walk the output in order; call `fn` with the flat input indices of every element. */
#define TG_BROADCAST_LOOP(p, BODY)                                                           \
  do {                                                                                     \
    int32_t idx_[6] = {0, 0, 0, 0, 0, 0};                                                  \
    int32_t i1_ = 0, i2_ = 0, o_, d_;                                                      \
    for (o_ = 0; o_ < (p)->size; ++o_) {                                                   \
      BODY;                                                                                \
      for (d_ = (p)->dims - 1; d_ >= 0; --d_) {                                            \
        i1_ += (p)->in1_stride[d_];                                                        \
        i2_ += (p)->in2_stride[d_];                                                        \
        if (++idx_[d_] < (p)->out_shape[d_]) break;                                        \
        i1_ -= (p)->in1_stride[d_] * (p)->out_shape[d_];                                   \
        i2_ -= (p)->in2_stride[d_] * (p)->out_shape[d_];                                   \
        idx_[d_] = 0;                                                                      \
      }                                                                                    \
    }                                                                                      \
  } while (0)

static int8_t add_one(const tg_add_params *p, int32_t x, int32_t y) {
  const int32_t a = tg_requant((int32_t)((uint32_t)(x + p->in1_offset) << p->left_shift), p->in1_mult, p->in1_shift);
  const int32_t b = tg_requant((int32_t)((uint32_t)(y + p->in2_offset) << p->left_shift), p->in2_mult, p->in2_shift);
  const int32_t r = tg_requant(a + b, p->out_mult, p->out_shift) + p->out_offset;
  return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

void tg_add_s8(const tg_add_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  int32_t i;
  if (!p->broadcast) {
    for (i = 0; i < p->size; ++i) out[i] = add_one(p, a[i], b[i]);
    return;
  }
  TG_BROADCAST_LOOP(p, out[o_] = add_one(p, a[i1_], b[i2_]));
}

#if defined(__GNUC__)
#define TG_EW_INLINE static inline __attribute__((always_inline))
#else
#define TG_EW_INLINE static inline
#endif

/* The table ADD for one requantization kind; the row is copied to a local so its constants stay
 * in registers (stores to out may alias anything). */
TG_EW_INLINE void add_lut(const tg_add_lut_params *p, const int8_t *a, const int8_t *b, int8_t *out, const int fast,
                          const int sat8) {
  const int32_t *const t1 = p->t1 + 128, *const t2 = p->t2 + 128;
  const tg_rq_ch q = *p->rq;
  const int32_t off = p->out_offset, lo = p->act_min, hi = p->act_max, n = p->size;
  int32_t i;
  for (i = 0; i < n; ++i) {
    const int32_t s = (int32_t)((uint32_t)t1[a[i]] + (uint32_t)t2[b[i]]);
    const int32_t v = fast ? tg_rq_fast(&q, s) : tg_rq_apply(&q, s);
    out[i] = (int8_t)(sat8 ? tg_clamp(v, -128, 127) : tg_clamp(v + off, lo, hi));
  }
}

void tg_add_lut_s8(const tg_add_lut_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  if (p->fast && p->out_offset == 0 && p->act_min == -128 && p->act_max == 127) {
    add_lut(p, a, b, out, 1, 1);
  } else {
    add_lut(p, a, b, out, p->fast, 0);
  }
}

static int8_t mul_one(const tg_mul_params *p, int32_t x, int32_t y) {
  const int32_t prod = (x + p->in1_offset) * (y + p->in2_offset);
  const int32_t r = tg_requant(prod, p->out_mult, p->out_shift) + p->out_offset;
  return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

void tg_mul_s8(const tg_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out) {
  int32_t i;
  if (!p->broadcast) {
    for (i = 0; i < p->size; ++i) out[i] = mul_one(p, a[i], b[i]);
    return;
  }
  TG_BROADCAST_LOOP(p, out[o_] = mul_one(p, a[i1_], b[i2_]));
}

static int32_t load_any(const void *base, int32_t type, int32_t i) {
  switch (type) {
    case 3: return ((const uint8_t *)base)[i];
    case 7: return ((const int16_t *)base)[i];
    case 2: return ((const int32_t *)base)[i];
    default: return ((const int8_t *)base)[i];
  }
}

void tg_requantize(const tg_requant_params *p, const void *in, void *out) {
  int32_t lo = -128, hi = 127, i;
  if (p->out_type == 3) { lo = 0; hi = 255; }
  if (p->out_type == 7) { lo = -32768; hi = 32767; }
  if (p->out_type == 2) { lo = TG_INT32_MIN; hi = TG_INT32_MAX; }
  for (i = 0; i < p->size; ++i) {
    const int32_t x = load_any(in, p->in_type, i) - p->in_zero_point;
    const int32_t v = tg_clamp(tg_requant(x, p->mult, p->shift) + p->out_zero_point, lo, hi);
    switch (p->out_type) {
      case 3: ((uint8_t *)out)[i] = (uint8_t)v; break;
      case 7: ((int16_t *)out)[i] = (int16_t)v; break;
      case 2: ((int32_t *)out)[i] = v; break;
      default: ((int8_t *)out)[i] = (int8_t)v; break;
    }
  }
}

void tg_dequantize(const tg_dequant_params *p, const void *in, float *out) {
  int32_t i;
  for (i = 0; i < p->size; ++i) out[i] = (float)(p->scale * (double)(load_any(in, p->in_type, i) - p->zero_point));
}
