/* hello: the smallest useful app. Prints a banner, runs one inference on an all-zero input, prints
 * the outputs and what the inference cost, then idles.
 *
 *   tinygen hello board=qemu-m4 runtime=aot model=3f2a... arena=6800
 *   init ok
 *   output[0] int8 x4: -128 -128 127 -128
 *   cost 123456 instructions, arena used 6788 of 6800, stack used 1024 of 8192
 *   hello done
 *
 * Host tools wait for "hello done". Formatting is done by hand: no printf keeps the image small.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tg_app.h"
#include "tg_board.h"
#include "tg_runtime.h"

#define MAX_PRINTED_VALUES 16u

static void put_str(const char *s) { tg_serial_write((const uint8_t *)s, strlen(s)); }

static void put_u64(uint64_t v) {
  char buf[21];
  size_t i = sizeof buf;
  buf[--i] = '\0';
  do {
    buf[--i] = (char)('0' + (v % 10u));
    v /= 10u;
  } while (v != 0u);
  put_str(&buf[i]);
}

static void put_i32(int32_t v) {
  if (v < 0) {
    put_str("-");
    put_u64((uint64_t)(-(int64_t)v));
  } else {
    put_u64((uint64_t)v);
  }
}

static const char *dtype_name(uint8_t dtype) {
  switch (dtype) {
    case TG_INT8: return "int8";
    case TG_UINT8: return "uint8";
    case TG_INT16: return "int16";
    case TG_INT32: return "int32";
    case TG_FLOAT32: return "float32";
    default: return "?";
  }
}

static int32_t element(const void *data, uint8_t dtype, uint32_t i) {
  switch (dtype) {
    case TG_INT8: return ((const int8_t *)data)[i];
    case TG_UINT8: return ((const uint8_t *)data)[i];
    case TG_INT16: return ((const int16_t *)data)[i];
    case TG_INT32: return ((const int32_t *)data)[i];
    default: return 0;
  }
}

static uint32_t element_size(uint8_t dtype) {
  switch (dtype) {
    case TG_INT16: return 2u;
    case TG_INT32: case TG_FLOAT32: return 4u;
    default: return 1u;
  }
}

static void print_output(uint32_t index) {
  const tg_tensor_info *info = tg_runtime_output_info(index);
  const void *data = tg_runtime_output(index);
  if (info == NULL || data == NULL) {
    return;
  }
  uint32_t count = info->bytes / element_size(info->dtype);
  put_str("output[");
  put_u64(index);
  put_str("] ");
  put_str(dtype_name(info->dtype));
  put_str(" x");
  put_u64(count);
  put_str(":");
  for (uint32_t i = 0; i < count && i < MAX_PRINTED_VALUES; ++i) {
    put_str(" ");
    put_i32(element(data, info->dtype, i));
  }
  put_str(count > MAX_PRINTED_VALUES ? " ...\r\n" : "\r\n");
}

void tg_app_setup(void) {
  char sha[17];
  memcpy(sha, tg_runtime_model_sha256(), 16u);
  sha[16] = '\0';
  put_str("\r\ntinygen hello board=");
  put_str(tg_board_name());
  put_str(" runtime=");
  put_str(tg_runtime_name());
  put_str(" model=");
  put_str(sha);
  put_str(" arena=");
  put_u64(tg_runtime_arena_size());
  put_str("\r\n");

  tg_status status = tg_runtime_init();
  if (status != TG_OK) {
    put_str("init failed: status ");
    put_u64((uint64_t)status);
    put_str("\r\nhello done\r\n");
    return;
  }
  put_str("init ok\r\n");
  for (uint32_t i = 0; i < tg_runtime_input_count(); ++i) {
    const tg_tensor_info *info = tg_runtime_input_info(i);
    memset(tg_runtime_input(i), 0, info->bytes);
  }
  tg_cost_start();
  status = tg_runtime_invoke();
  uint64_t cost = tg_cost_read();
  if (status != TG_OK) {
    put_str("invoke failed: status ");
    put_u64((uint64_t)status);
    put_str("\r\n");
  } else {
    for (uint32_t i = 0; i < tg_runtime_output_count(); ++i) {
      print_output(i);
    }
  }
  put_str("cost ");
  put_u64(cost);
  put_str(" ");
  put_str(tg_cost_unit());
  put_str(", arena used ");
  put_u64(tg_runtime_arena_used());
  put_str(" of ");
  put_u64(tg_runtime_arena_size());
  put_str(", stack used ");
  put_u64(tg_stack_used());
  put_str(" of ");
  put_u64(tg_stack_size());
  put_str("\r\nhello done\r\n");
}

void tg_app_loop(void) {}
