/* Plain integer CAST and broadcast elementwise ops (see tg_intops.h). */
#include "tg_aot_opt.h" /* first: the kernels' optimisation level */
#include "tg_intops.h"

#include <string.h>

static int32_t int32_apply(int32_t op, int32_t a, int32_t b) {
  switch (op) {
    case TG_INT_ADD:
      return (int32_t)((uint32_t)a + (uint32_t)b);
    case TG_INT_MUL:
      return (int32_t)((uint32_t)a * (uint32_t)b);
    case TG_INT_DIV:
      /* The interpreter traps on these; a device must not, so they get a defined value. */
      if (b == 0) {
        return 0;
      }
      if (b == -1) {
        return (int32_t)(0u - (uint32_t)a);
      }
      return a / b;
    case TG_INT_MAX:
      return a > b ? a : b;
    default:
      return a < b ? a : b;
  }
}

/* Walk the 4-deep loop nest; BODY sees the flat output index o and the input offsets ia, ib. */
#define TG_BCAST_LOOP(shape, BODY)                                                            \
  do {                                                                                         \
    int32_t i0, i1, i2, i3, o = 0;                                                             \
    for (i0 = 0; i0 < (shape)->dims[0]; ++i0) {                                                \
      for (i1 = 0; i1 < (shape)->dims[1]; ++i1) {                                              \
        for (i2 = 0; i2 < (shape)->dims[2]; ++i2) {                                            \
          for (i3 = 0; i3 < (shape)->dims[3]; ++i3, ++o) {                                     \
            const int32_t ia = i0 * (shape)->a_strides[0] + i1 * (shape)->a_strides[1] +       \
                               i2 * (shape)->a_strides[2] + i3 * (shape)->a_strides[3];        \
            const int32_t ib = i0 * (shape)->b_strides[0] + i1 * (shape)->b_strides[1] +       \
                               i2 * (shape)->b_strides[2] + i3 * (shape)->b_strides[3];        \
            BODY;                                                                              \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  } while (0)

void tg_int32_binary(int32_t op, const int32_t *a, const int32_t *b, int32_t *out,
                     const tg_bcast4 *shape, int32_t act_min, int32_t act_max) {
  TG_BCAST_LOOP(shape, {
    int32_t v = int32_apply(op, a[ia], b[ib]);
    out[o] = v < act_min ? act_min : (v > act_max ? act_max : v);
  });
}

void tg_int16_minmax(int32_t op, const int16_t *a, const int16_t *b, int16_t *out,
                     const tg_bcast4 *shape) {
  TG_BCAST_LOOP(shape, {
    out[o] = (op == TG_INT_MAX) ? (a[ia] > b[ib] ? a[ia] : b[ib]) : (a[ia] < b[ib] ? a[ia] : b[ib]);
  });
}

void tg_int8_minmax(int32_t op, const int8_t *a, const int8_t *b, int8_t *out,
                    const tg_bcast4 *shape) {
  TG_BCAST_LOOP(shape, {
    out[o] = (op == TG_INT_MAX) ? (a[ia] > b[ib] ? a[ia] : b[ib]) : (a[ia] < b[ib] ? a[ia] : b[ib]);
  });
}

static int64_t load_int(const void *p, int32_t type, int32_t i) {
  switch (type) {
    case TG_INT_T_INT8:
      return ((const int8_t *)p)[i];
    case TG_INT_T_UINT8:
      return ((const uint8_t *)p)[i];
    case TG_INT_T_BOOL:
      return ((const uint8_t *)p)[i] != 0u;
    case TG_INT_T_INT16:
      return ((const int16_t *)p)[i];
    case TG_INT_T_UINT16:
      return ((const uint16_t *)p)[i];
    case TG_INT_T_INT32:
      return ((const int32_t *)p)[i];
    case TG_INT_T_UINT32:
      return (int64_t)((const uint32_t *)p)[i];
    case TG_INT_T_INT64:
      return ((const int64_t *)p)[i];
    default: /* UINT64: the low 64 bits are all that any narrower store keeps */
      return (int64_t)((const uint64_t *)p)[i];
  }
}

static void store_int(void *p, int32_t type, int32_t i, int64_t v) {
  switch (type) {
    case TG_INT_T_INT8:
      ((int8_t *)p)[i] = (int8_t)v;
      break;
    case TG_INT_T_UINT8:
      ((uint8_t *)p)[i] = (uint8_t)v;
      break;
    case TG_INT_T_BOOL:
      ((uint8_t *)p)[i] = (uint8_t)(v != 0);
      break;
    case TG_INT_T_INT16:
      ((int16_t *)p)[i] = (int16_t)v;
      break;
    case TG_INT_T_UINT16:
      ((uint16_t *)p)[i] = (uint16_t)v;
      break;
    case TG_INT_T_INT32:
      ((int32_t *)p)[i] = (int32_t)v;
      break;
    case TG_INT_T_UINT32:
      ((uint32_t *)p)[i] = (uint32_t)v;
      break;
    case TG_INT_T_INT64:
      ((int64_t *)p)[i] = v;
      break;
    default:
      ((uint64_t *)p)[i] = (uint64_t)v;
      break;
  }
}

#define TG_CAST_LOOP(TI, TO)                      \
  do {                                            \
    const TI *src = (const TI *)in;               \
    TO *dst = (TO *)out;                          \
    for (i = 0; i < n; ++i) dst[i] = (TO)src[i];  \
  } while (0)

static int is_32bit(int32_t type) {
  return type == TG_INT_T_INT32 || type == TG_INT_T_UINT32;
}

void tg_int_cast(const void *in, int32_t in_type, void *out, int32_t out_type, int32_t n) {
  int32_t i;
  /* The pairs frontends use get straight loops; int32 <-> uint32 keeps the bit pattern. */
  if (is_32bit(in_type) && is_32bit(out_type)) {
    if (in != out) {
      memmove(out, in, (size_t)n * 4u);
    }
  } else if (in_type == TG_INT_T_INT16 && out_type == TG_INT_T_INT32) {
    TG_CAST_LOOP(int16_t, int32_t);
  } else if (in_type == TG_INT_T_INT32 && out_type == TG_INT_T_INT8) {
    TG_CAST_LOOP(int32_t, int8_t);
  } else if (in_type == TG_INT_T_INT32 && out_type == TG_INT_T_INT16) {
    TG_CAST_LOOP(int32_t, int16_t);
  } else if (in_type == TG_INT_T_INT8 && out_type == TG_INT_T_INT32) {
    TG_CAST_LOOP(int8_t, int32_t);
  } else {
    for (i = 0; i < n; ++i) {
      store_int(out, out_type, i, load_int(in, in_type, i));
    }
  }
}
