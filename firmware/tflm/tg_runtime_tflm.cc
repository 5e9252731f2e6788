// tg_runtime.h on TensorFlow Lite Micro: MicroInterpreter over the generated model array, op
// resolver and arena size.
//
// tg_tflm_model.h (generated per project) names the model's symbols:
//   TG_TFLM_MODEL_DATA, TG_TFLM_MODEL_SHA256, TG_TFLM_ARENA_SIZE, TG_TFLM_RESOLVER (type),
//   TG_TFLM_REGISTER_OPS (function), TG_TFLM_RESOURCE_VARIABLES (count, 0 for most models).
// Streaming models keep state in resource variables; they are created from the same allocator as
// the interpreter so they live inside the arena, which is what `tinygen arena` sized.
#include <new>
#include <stdint.h>
#include <string.h>

// TFLM's headers are not -Wextra clean and this file builds with -Werror; when TFLM comes from
// lib_deps (not -isystem) its warnings are silenced here, for its headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tg_tflm_model.h"
#pragma GCC diagnostic pop
#include "tg_runtime.h"

#ifdef TG_PROFILE  // the `profile` app: per-op costs through TFLM's MicroProfiler (tg_profiler_tflm.cc)
#include "tg_profile.h"
tflite::MicroProfilerInterface *tg_tflm_profiler();
void tg_tflm_profile_start();
#define TG_TFLM_PROFILER tg_tflm_profiler()
#else
#define TG_TFLM_PROFILER nullptr
#endif

namespace {

constexpr uint32_t kMaxIo = 8;

alignas(16) uint8_t tg_tensor_arena[TG_TFLM_ARENA_SIZE];
alignas(tflite::MicroInterpreter) uint8_t interpreter_storage[sizeof(tflite::MicroInterpreter)];
TG_TFLM_RESOLVER resolver;
tflite::MicroInterpreter *interpreter = nullptr;
tflite::MicroResourceVariables *variables = nullptr;
bool ops_registered = false;
tg_tensor_info input_infos[kMaxIo];
tg_tensor_info output_infos[kMaxIo];

void describe(const TfLiteTensor *t, const char *name, tg_tensor_info *info) {
  memset(info, 0, sizeof *info);
  info->name = name;
  info->dtype = static_cast<uint8_t>(t->type);
  int n = t->dims->size < TG_MAX_DIMS ? t->dims->size : TG_MAX_DIMS;
  info->dims_count = static_cast<uint8_t>(n);
  for (int i = 0; i < n; ++i) {
    info->dims[i] = t->dims->data[i];
  }
  info->bytes = static_cast<uint32_t>(t->bytes);
  info->scale = t->params.scale;
  info->zero_point = t->params.zero_point;
}

}  // namespace

extern "C" {

tg_status tg_runtime_init(void) {
  if (interpreter != nullptr) {
    interpreter->~MicroInterpreter();
    interpreter = nullptr;
  }
  if (!ops_registered) {
    if (TG_TFLM_REGISTER_OPS(resolver) != kTfLiteOk) {
      return TG_ERROR;
    }
    ops_registered = true;
  }
  const tflite::Model *model = tflite::GetModel(TG_TFLM_MODEL_DATA);
  tflite::MicroAllocator *allocator = tflite::MicroAllocator::Create(tg_tensor_arena, sizeof tg_tensor_arena);
  if (allocator == nullptr) {
    return TG_ARENA_TOO_SMALL;
  }
  variables = nullptr;
  if (TG_TFLM_RESOURCE_VARIABLES > 0) {
    variables = tflite::MicroResourceVariables::Create(allocator, TG_TFLM_RESOURCE_VARIABLES);
    if (variables == nullptr) {
      return TG_ARENA_TOO_SMALL;
    }
  }
  interpreter = new (interpreter_storage) tflite::MicroInterpreter(model, resolver, allocator, variables, TG_TFLM_PROFILER);
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    interpreter->~MicroInterpreter();
    interpreter = nullptr;
    return TG_ARENA_TOO_SMALL;
  }
  if (interpreter->inputs_size() > kMaxIo || interpreter->outputs_size() > kMaxIo) {
    return TG_ERROR;
  }
  for (uint32_t i = 0; i < interpreter->inputs_size(); ++i) {
    describe(interpreter->input(i), "input", &input_infos[i]);
  }
  for (uint32_t i = 0; i < interpreter->outputs_size(); ++i) {
    describe(interpreter->output(i), "output", &output_infos[i]);
  }
  return TG_OK;
}

tg_status tg_runtime_reset(void) {
  if (interpreter == nullptr) {
    return TG_NOT_INITIALISED;
  }
  if (interpreter->Reset() != kTfLiteOk) {
    return TG_ERROR;
  }
  if (variables != nullptr && variables->ResetAll() != kTfLiteOk) {
    return TG_ERROR;
  }
  return TG_OK;
}

tg_status tg_runtime_invoke(void) {
  if (interpreter == nullptr) {
    return TG_NOT_INITIALISED;
  }
#ifdef TG_PROFILE
  tg_tflm_profile_start();
  const TfLiteStatus status = interpreter->Invoke();
  tg_profile_invoke_done();
  return status == kTfLiteOk ? TG_OK : TG_ERROR;
#else
  return interpreter->Invoke() == kTfLiteOk ? TG_OK : TG_ERROR;
#endif
}

uint32_t tg_runtime_input_count(void) {
  return interpreter != nullptr ? static_cast<uint32_t>(interpreter->inputs_size()) : 0u;
}

uint32_t tg_runtime_output_count(void) {
  return interpreter != nullptr ? static_cast<uint32_t>(interpreter->outputs_size()) : 0u;
}

const tg_tensor_info *tg_runtime_input_info(uint32_t index) {
  return index < tg_runtime_input_count() ? &input_infos[index] : nullptr;
}

const tg_tensor_info *tg_runtime_output_info(uint32_t index) {
  return index < tg_runtime_output_count() ? &output_infos[index] : nullptr;
}

void *tg_runtime_input(uint32_t index) {
  return index < tg_runtime_input_count() ? interpreter->input(index)->data.raw : nullptr;
}

void *tg_runtime_output(uint32_t index) {
  return index < tg_runtime_output_count() ? interpreter->output(index)->data.raw : nullptr;
}

const char *tg_runtime_name(void) { return "tflm"; }

const char *tg_runtime_model_sha256(void) { return TG_TFLM_MODEL_SHA256; }

uint32_t tg_runtime_arena_size(void) { return static_cast<uint32_t>(sizeof tg_tensor_arena); }

uint32_t tg_runtime_arena_used(void) {
  return interpreter != nullptr ? static_cast<uint32_t>(interpreter->arena_used_bytes()) : 0u;
}

}  // extern "C"
