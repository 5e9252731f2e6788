/* A tiny tg_runtime.h implementation for protocol tests on the host board: no model, but checkable
 * outputs and streaming state, with tensors larger than one frame.
 *
 *   in0  int8  [1, 3000]   out0 int8  [1, 3000] = in0[i] + step       (wrapping)
 *   in1  int16 [2]         out1 int32 [1]       = sum(in0) + in1[0] * in1[1] + step
 * `step` counts invokes since init/reset (the streaming state). Fault hooks for tests:
 * in1[0] == 32767 hangs inside invoke; in1[0] == 32766 resets the board inside invoke.
 */
#include <string.h>

#include "tg_board.h"
#include "tg_runtime.h"

#define N0 3000

static int8_t in0[N0];
static int16_t in1[2];
static int8_t out0[N0];
static int32_t out1[1];
static int32_t step;
static int ready;

static const tg_tensor_info inputs[2] = {
    {"in0", TG_INT8, 2, {1, N0}, N0, 0.5f, -3},
    {"in1", TG_INT16, 1, {2}, 4, 0.0f, 0},
};
static const tg_tensor_info outputs[2] = {
    {"out0", TG_INT8, 2, {1, N0}, N0, 0.25f, 7},
    {"out1", TG_INT32, 2, {1, 1}, 4, 0.0f, 0},
};

tg_status tg_runtime_init(void) {
  memset(in0, 0, sizeof in0);
  memset(in1, 0, sizeof in1);
  step = 0;
  ready = 1;
  return TG_OK;
}

tg_status tg_runtime_reset(void) {
  step = 0;
  return ready ? TG_OK : TG_NOT_INITIALISED;
}

tg_status tg_runtime_invoke(void) {
  if (!ready) return TG_NOT_INITIALISED;
  if (in1[0] == 32767) {
    for (;;) {
    }
  }
  if (in1[0] == 32766) tg_board_reset();
  int32_t sum = 0;
  for (int i = 0; i < N0; i++) {
    out0[i] = (int8_t)(uint8_t)((uint8_t)in0[i] + (uint8_t)step);
    sum += in0[i];
  }
  out1[0] = sum + (int32_t)in1[0] * in1[1] + step;
  step++;
  return TG_OK;
}

uint32_t tg_runtime_input_count(void) { return 2; }
uint32_t tg_runtime_output_count(void) { return 2; }
const tg_tensor_info *tg_runtime_input_info(uint32_t i) { return i < 2 ? &inputs[i] : NULL; }
const tg_tensor_info *tg_runtime_output_info(uint32_t i) { return i < 2 ? &outputs[i] : NULL; }
void *tg_runtime_input(uint32_t i) { return i == 0 ? (void *)in0 : i == 1 ? (void *)in1 : NULL; }
void *tg_runtime_output(uint32_t i) { return i == 0 ? (void *)out0 : i == 1 ? (void *)out1 : NULL; }
const char *tg_runtime_name(void) { return "test"; }
const char *tg_runtime_model_sha256(void) {
  return "0000000000000000000000000000000000000000000000000000000000000000";
}
uint32_t tg_runtime_arena_size(void) { return 4096; }
uint32_t tg_runtime_arena_used(void) { return 1234; }
