/* tinygen runtime interface: what every application (HIL harness, keyword spotting) calls.
 *
 * Both runtimes implement it: the AOT runtime in generated C (tinygen convert --runtime aot) and
 * the TFLite Micro runtime in firmware/tflm/tg_runtime_tflm.cc. Applications never include
 * runtime-specific headers, so one app source serves both.
 */
#ifndef TINYGEN_TG_RUNTIME_H_
#define TINYGEN_TG_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor element types (values match the TFLite schema's TensorType). */
enum tg_dtype {
  TG_FLOAT32 = 0,
  TG_INT32 = 2,
  TG_UINT8 = 3,
  TG_INT16 = 7,
  TG_INT8 = 9,
};

#define TG_MAX_DIMS 6

typedef struct {
  const char *name;
  uint8_t dtype;          /* enum tg_dtype */
  uint8_t dims_count;
  int32_t dims[TG_MAX_DIMS];
  uint32_t bytes;
  float scale;            /* 0 when not quantized */
  int32_t zero_point;
} tg_tensor_info;

typedef enum {
  TG_OK = 0,
  TG_ERROR = 1,           /* generic failure */
  TG_ARENA_TOO_SMALL = 2,
  TG_NOT_INITIALISED = 3,
} tg_status;

/* Set up the model (allocate tensors, init streaming state). Call once before anything else. */
tg_status tg_runtime_init(void);
/* Reset streaming state (resource variables) to what init left. */
tg_status tg_runtime_reset(void);
/* Run one inference on the current input buffers. Like TFLM's arena, the AOT runtime may reuse
 * an input's bytes once the model has read it: write every input before each invoke. */
tg_status tg_runtime_invoke(void);

uint32_t tg_runtime_input_count(void);
uint32_t tg_runtime_output_count(void);
const tg_tensor_info *tg_runtime_input_info(uint32_t index);
const tg_tensor_info *tg_runtime_output_info(uint32_t index);
/* Buffers stay valid between init and the next init; write inputs, read outputs in place. */
void *tg_runtime_input(uint32_t index);
void *tg_runtime_output(uint32_t index);

/* "aot" or "tflm" */
const char *tg_runtime_name(void);
/* Model identity: the sha256 of the .tflite, as 64 hex characters. */
const char *tg_runtime_model_sha256(void);
/* Bytes reserved for the arena, and bytes actually used (TFLM: arena_used_bytes()). */
uint32_t tg_runtime_arena_size(void);
uint32_t tg_runtime_arena_used(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_RUNTIME_H_ */
