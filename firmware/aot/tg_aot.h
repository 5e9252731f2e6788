/* tinygen AOT runtime: the kernel library that generated model code calls.
 *
 * Every kernel takes a const parameter block that tinygen fills in at generation time (shapes,
 * offsets, precomputed requantization multipliers and shifts), so nothing is parsed or computed
 * on the device. Build with -DTG_AOT_NO_DSP to force the portable path on a DSP-capable core;
 * otherwise the Cortex-M4/M7/M33 SIMD path is used when the compiler defines __ARM_FEATURE_DSP.
 * Both paths give identical results.
 */
#ifndef TINYGEN_TG_AOT_H_
#define TINYGEN_TG_AOT_H_

#include <stddef.h>
#include <stdint.h>

#include "tg_aot_fixedpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TG_AOT_VERSION 1

/* Hook run before every op (subgraph, op index) and with op -1 after a subgraph's last op: define
 * it to profile, e.g. read a cycle counter. TG_PROFILE (the `profile` app) maps it to tg_profile_op
 * (firmware/profile/tg_profile.h). */
#if defined(TG_PROFILE) && !defined(TG_AOT_PROFILE_OP)
void tg_profile_op(int subgraph, int op);
#define TG_AOT_PROFILE_OP(subgraph, op) tg_profile_op((subgraph), (op))
#endif
#ifndef TG_AOT_PROFILE_OP
#define TG_AOT_PROFILE_OP(subgraph, op) ((void)0)
#endif

/* Constant arrays are word aligned so the DSP path can load them a word at a time. */
#if defined(__GNUC__) || defined(__clang__)
#define TG_AOT_ALIGN __attribute__((aligned(4)))
#else
#define TG_AOT_ALIGN
#endif

/* --- convolutions and fully connected (int8 activations, int8 weights, int32 bias) --- */

/* Requantization of one output channel, precomputed at generation time.
 * For a right shift e = -shift >= 1 the two roundings TFLM does (doubling high multiply, then
 * rounding division by 2^e) collapse into one 64-bit multiply-add and a shift:
 *   ((acc * mult + round - [acc * mult + 2^30 < 0] * 2^31) >> 32) >> (e - 1),
 *   round = 2^30 + 2^(30 + e),
 * which is exact (floor(floor(y) / n) = floor(y / n)). Other shifts take the generic path. */
typedef struct {
  int64_t round, round_neg;       /* round, and round - 2^31 */
  int32_t mult, shift;
  int32_t neg_below;              /* acc < neg_below  <=>  acc * mult + 2^30 < 0 */
  int32_t shr;                    /* e - 1 */
} tg_rq_ch;

/* Only for channels with shift < 0 (tg_requant_ch.fast). */
static inline int32_t tg_rq_fast(const tg_rq_ch *q, int32_t acc) {
  const int64_t k = acc < q->neg_below ? q->round_neg : q->round;
  return (int32_t)(((int64_t)acc * q->mult + k) >> 32) >> q->shr;
}

static inline int32_t tg_rq_apply(const tg_rq_ch *q, int32_t acc) {
  if (q->shift < 0) return tg_rq_fast(q, acc);
  return tg_requant(acc, q->mult, q->shift);
}

/* Per-output-channel requantization of int32 accumulators to int8. */
typedef struct {
  const tg_rq_ch *ch;             /* one entry per output channel, or one for all */
  const int32_t *bias;            /* per channel: bias + in_offset * sum(weights of the channel) */
  int32_t per_channel;
  int32_t out_offset, act_min, act_max;
  int32_t fast;                   /* every channel has shift < 0 */
  /* NULL, or (when fast) per channel / one for all: Q31 multiplier, right shift e, 2^(e-1) (+ the
     folded output zero point * 2^e), for tg_mm_wide_s8 / tg_mm_q8_s8 (|2 * acc| < 2^31 checked) */
  const int32_t *mh;
} tg_requant_ch;

/* out[c] = requant(a . w[c] + bias[c]) for one row, weights in quad-interleaved order. */
void tg_mv_s8(const int8_t *a, const int8_t *w, int32_t n, int32_t k, const tg_requant_ch *q, int8_t *out);

/* out[r * out_stride + c] = requant(a[r * a_stride ..][0..k) . w[c * k ..][0..k) + bias[c]) */
void tg_mm_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w, int32_t n, int32_t k,
              const tg_requant_ch *q, int8_t *out, int32_t out_stride);

/* The same product with weights widened to sign-extended int16 pairs (tg_aot_wide.c layout). */
void tg_mm_wide_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                   const tg_requant_ch *q, int8_t *out, int32_t out_stride);

/* The same with widened weights by channel pairs (tg_aot_wide.c), n % 2 == 0, k % 8 == 0, rows in pairs. */
void tg_mm_wp_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int32_t *w, int32_t n, int32_t k,
                 const tg_requant_ch *q, int8_t *out, int32_t out_stride);

/* The product for k = 8 (a pointwise convolution of eight input channels; tg_aot_wide.c): w holds per output
 * channel 8 words, the folded bias, the four widened weight words and the SMMULR constants (m, e, h);
 * outputs on the whole int8 range, n % 2 == 0, rows pixels of 8 bytes each, out_stride == n. */
void tg_pw8_s8(const int8_t *a, int32_t rows, const int32_t *w, int32_t n, int8_t *out);

/* The same product with int8 weights in quad-interleaved order (tg_mv_s8's), k % 8 == 0, k >= 32. */
void tg_mm_q8_s8(const int8_t *a, int32_t rows, int32_t a_stride, const int8_t *w, int32_t n, int32_t k,
                 const tg_requant_ch *q, int8_t *out, int32_t out_stride);

typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w, filter_in_c;  /* filter_in_c < in_c: grouped convolution */
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t in_offset, out_offset, act_min, act_max;
  /* grouped convolutions only (NULL otherwise): per output channel Q31 multiplier and shift, raw
     bias, and bias + in_offset * sum(weights) for windows without padded taps */
  const int32_t *mult;
  const int32_t *shift;
  const int32_t *bias;
  const int32_t *bias_folded;
  tg_requant_ch rq;               /* per channel, bias folded: the matrix-product path */
  int32_t in_zero_point;
  int32_t wide;                   /* weights: 1 tg_mm_wide_s8's int16 pairs (int32_t words), 2 tg_mm_q8_s8's quads,
                                     3 tg_mm_wp_s8's int16 pairs by channel pairs, 4 tg_pw8_s8's streams,
                                     5 tg_conv_rgb_s8's (3's in another k order) */
  int32_t k_pad;                  /* > 0: im2col patches (and weight rows) padded to k_pad bytes */
  int32_t inplace_rows;           /* pointwise in place: pixels copied to scratch at a time (0: two) */
} tg_conv_params;

typedef struct {
  int32_t batches, in_h, in_w, in_c;
  int32_t out_h, out_w, out_c, depth_mult;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int32_t out_offset, act_min, act_max;
  const tg_rq_ch *rq;             /* per channel */
  const int32_t *bias;            /* per channel, input offset folded in */
  int32_t rq_fast;                /* every channel has shift < 0 */
  int32_t in_zero_point;
  int32_t cache_rows;             /* > 0: may run in place (input rows cached in scratch) */
  int32_t wide;                   /* multiplier 1, out_c % 4 == 0: weights widened (tg_aot_dwconv.c) */
  /* wide layers only, NULL or per channel: Q31 multiplier, right shift e, 2^(e-1) (+ the folded
     output zero point * 2^e) for SMMULR of the doubled sum (|2 * acc| < 2^31 checked); rq is then NULL */
  const int32_t *mh;
} tg_dwconv_params;

typedef struct {
  int32_t batches, in_depth, out_depth;
  tg_requant_ch rq;               /* bias = bias + in_offset * sum(weights row) */
  int32_t wide;                   /* weights: 1 tg_mm_wide_s8's int16 pairs (int32_t words), 2 tg_mm_q8_s8's quads */
} tg_fc_params;

/* 3x3 DEPTHWISE_CONV_2D with multiplier 1, dilation 1, stride 1 along the row, one channel at a
 * time over int16 rows (tg_aot_dwrow.c). Batch 1; every channel's shift is a right shift and
 * |2 * accumulator| < 2^31 (tinygen checks). */
#define TG_DWROW_MAX_RING 32 /* ring rows: (band - 1) * stride_h + 3 at most */
typedef struct {
  int32_t in_h, in_w, c;          /* input, channels (= output channels) */
  int32_t out_h, out_w;
  int32_t stride_h, pad_h, pad_w;
  int32_t band;                   /* output rows per kernel call */
  int32_t in_zero_point;
  int32_t row_len;                /* int16 entries per ring row, even, >= pad_w + in_w and out_w + 3 */
  /* bytes between inputs along a row / between rows (row = one of the image's two axes, which
     tinygen picks), the same for outputs */
  int32_t in_step, in_row_step, out_step, out_row_step;
  const int8_t *w;                /* per channel and filter row: one word of taps (w0, w2, w1, 0) */
  const int32_t *ch;              /* per channel: Q31 multiplier, right shift e, 2^(e-1) [+ out_offset * 2^e], 2 * folded bias */
  int32_t out_offset, act_min, act_max;  /* out_offset: 0 when folded into ch */
} tg_dwrow_params;

/* scratch: ((band - 1) * stride_h + 4) * row_len int16, then band * out_w int32 (word aligned) */
void tg_dwconv_rows_s8(const tg_dwrow_params *p, const int8_t *in, int8_t *out, int16_t *scratch);

/* conv scratch: 2 * k_h * k_w * in_c bytes (patches of two output pixels), unused for 1x1
   convolutions (max(2, inplace_rows) * in_c bytes when it runs in place); dwconv scratch: k_h * k_w int32 + in_c
   bytes (+ cache_rows * in_w * in_c bytes to run in place). Weights: see the kernel files for
   the layouts tinygen stores them in. */
void tg_conv_s8(const tg_conv_params *p, const int8_t *in, const int8_t *w, int8_t *out, int8_t *scratch);

/* The receptive field of output pixel (oy, ox) as k_h * k_w * in_c bytes (padded taps: the input
 * zero point), tg_conv_s8's im2col (tg_aot_conv.c). */
void tg_im2col_s8(const tg_conv_params *p, const int8_t *img, int32_t oy, int32_t ox, int8_t *patch);

/* One image of a 3x3 CONV_2D over three channels on tg_mm_wp_s8's weights in nn.py's RGB3X3_ORDER (wide 5;
 * tg_aot_wide.c): the generator guarantees per-channel SMMULR constants onto the whole int8 range,
 * out_c <= 64 and even, k_pad 32, dil_w 1. */
void tg_conv_rgb_s8(const tg_conv_params *p, const int8_t *img, const int32_t *w, int8_t *out);

/* One image of a CONV_2D on tg_mm_wp_s8's weights (wide 3) in one pass (tg_aot_wide.c). Returns 0
 * and does nothing unless the requantization is per channel onto the whole int8 range (mh),
 * out_c <= 64, the padded patch <= 144 bytes and dil_w == 1. */
int tg_conv_wp_s8(const tg_conv_params *p, const int8_t *img, const int32_t *w, int8_t *out);
void tg_dwconv_s8(const tg_dwconv_params *p, const int8_t *in, const int8_t *w, int8_t *out,
                  int32_t *scratch);
void tg_fc_s8(const tg_fc_params *p, const int8_t *in, const int8_t *w, int8_t *out);

/* Sum of a[i] * b[i]: the inner product every weighted kernel is built from. */
int32_t tg_dot_s8(const int8_t *a, const int8_t *b, int32_t n);

/* --- pooling --- */

typedef struct {
  int32_t batches, in_h, in_w, channels, out_h, out_w;
  int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} tg_pool_params;

void tg_avgpool_s8(const tg_pool_params *p, const int8_t *in, int8_t *out);
void tg_maxpool_s8(const tg_pool_params *p, const int8_t *in, int8_t *out);

/* --- activations --- */

typedef struct {
  int32_t rows, depth;
  int32_t beta_mult, beta_left_shift, diff_min;
} tg_softmax_params;

void tg_softmax_s8(const tg_softmax_params *p, const int8_t *in, int8_t *out);
void tg_softmax_s8_s16(const tg_softmax_params *p, const int8_t *in, int16_t *out);

typedef struct {
  int32_t size, in_zero_point, range_radius, in_mult, in_left_shift;
} tg_logistic_params;

void tg_logistic_s8(const tg_logistic_params *p, const int8_t *in, int8_t *out);

/* --- elementwise (in place allowed: out may equal an input) --- */

typedef struct {
  int32_t size;
  int32_t in1_offset, in2_offset, left_shift;
  int32_t in1_mult, in1_shift, in2_mult, in2_shift;
  int32_t out_mult, out_shift, out_offset, act_min, act_max;
  /* broadcasting: 0 when both inputs have the output's shape */
  int32_t broadcast, dims;
  int32_t out_shape[6], in1_stride[6], in2_stride[6];
} tg_add_params;

void tg_add_s8(const tg_add_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/* int8 ADD without broadcasting from two tables: t1[x + 128] and t2[y + 128] are TFLM's shifted
 * and scaled inputs (its left shift and first requantization, computed at generation time for all
 * 256 values), so an element costs two loads and the output requantization (one tg_rq_ch row). */
typedef struct {
  int32_t size;
  const int32_t *t1, *t2;
  const tg_rq_ch *rq;
  int32_t fast;                   /* rq takes tg_rq_fast */
  int32_t out_offset, act_min, act_max;
} tg_add_lut_params;

void tg_add_lut_s8(const tg_add_lut_params *p, const int8_t *a, const int8_t *b, int8_t *out);

typedef struct {
  int32_t size;
  int32_t in1_offset, in2_offset, out_offset, out_mult, out_shift, act_min, act_max;
  int32_t broadcast, dims;
  int32_t out_shape[6], in1_stride[6], in2_stride[6];
} tg_mul_params;

void tg_mul_s8(const tg_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/* Requantize between int8/uint8/int16 tensors: out = in_zp-relative value * scale + out_zp. */
typedef struct {
  int32_t size, in_zero_point, out_zero_point, mult, shift;
  int32_t in_type, out_type;      /* tg_dtype values: 9 int8, 3 uint8, 7 int16 */
} tg_requant_params;

void tg_requantize(const tg_requant_params *p, const void *in, void *out);

typedef struct {
  int32_t size, zero_point, in_type;
  double scale;
} tg_dequant_params;

void tg_dequantize(const tg_dequant_params *p, const void *in, float *out);

/* --- reductions --- */

typedef struct {
  int32_t outer, reduce, inner;   /* input viewed as [outer, reduce, inner], reduce axes merged */
  int32_t in_zero_point, out_zero_point, mult, shift;
} tg_mean_params;

void tg_mean_s8(const tg_mean_params *p, const int8_t *in, int8_t *out);

/* --- data movement (element-size generic) --- */

/* Copy `count` blocks of `block` bytes from src (stride src_stride) to dst (stride dst_stride). */
void tg_copy_blocks(void *dst, int32_t dst_stride, const void *src, int32_t src_stride,
                    int32_t block, int32_t count);

typedef struct {
  int32_t dims, elem_bytes;                   /* dims: the outer axes left after merging */
  int32_t start[6], stop_count[6], step[6];   /* stop_count: elements taken along each axis */
  int32_t in_stride[6];                       /* in elements */
  int32_t base;                               /* element offset of the merged inner run */
  int32_t run_bytes;                          /* contiguous bytes copied per outer position */
} tg_slice_params;

void tg_strided_slice(const tg_slice_params *p, const void *in, void *out);

typedef struct {
  int32_t dims, elem_bytes;
  int32_t in_shape[6], out_shape[6], before[6];
  const void *pad_value;                      /* one element */
} tg_pad_params;

void tg_pad(const tg_pad_params *p, const void *in, void *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_AOT_H_ */
