// tinygen's host runner for a local TFLM tree: the MicroInterpreter the device runs, compiled for
// this computer, driven over stdin/stdout by tinygen/tflmhost/runner.py.
//
//   tg_tflm_host ARENA_BYTES RESOURCE_VARIABLES
//
// The op resolver is the one tinygen generates for the firmware (tg_host_op_resolver.h, the ops
// of the model). Integers are uint32 in the host's byte order. The model comes first on stdin
// (its size, then its bytes). Every reply starts with one status byte: 0 ok, 1 error (TFLM's
// messages go to stderr). After start-up: status, then the input count, output count, and each
// input's and output's byte size. Then commands, one byte each:
//   'I' + every input's bytes, in order  ->  status, then every output's bytes
//   'R'                                  ->  status (interpreter and resource variables reset)
// End of input ends the program.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tg_host_op_resolver.h"

namespace {

constexpr uint8_t kOk = 0;
constexpr uint8_t kError = 1;

bool read_all(void *buffer, size_t size) { return fread(buffer, 1, size, stdin) == size; }

void write_all(const void *buffer, size_t size) { fwrite(buffer, 1, size, stdout); }

void write_u32(uint32_t value) { write_all(&value, sizeof value); }

void reply(uint8_t status) {
  write_all(&status, 1);
  fflush(stdout);
}

uint8_t *aligned_buffer(size_t size) {
  void *p = nullptr;
  return posix_memalign(&p, 16, size < 16 ? 16 : size) == 0 ? static_cast<uint8_t *>(p) : nullptr;
}

uint8_t *read_model() {
  uint32_t size = 0;
  if (!read_all(&size, sizeof size)) return nullptr;
  uint8_t *data = aligned_buffer(size);
  if (data != nullptr && !read_all(data, size)) {
    free(data);
    data = nullptr;
  }
  return data;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ARENA_BYTES RESOURCE_VARIABLES (the model on stdin)\n", argv[0]);
    return 2;
  }
  const size_t arena_size = strtoul(argv[1], nullptr, 10);
  const int resource_variables = atoi(argv[2]);
  uint8_t *model_data = read_model();
  uint8_t *arena = aligned_buffer(arena_size);
  if (model_data == nullptr || arena == nullptr) {
    fprintf(stderr, "cannot read the model or allocate %zu arena bytes\n", arena_size);
    reply(kError);
    return 1;
  }
  TgHostOpResolver resolver;
  if (tg_host_register_ops(resolver) != kTfLiteOk) {
    reply(kError);
    return 1;
  }
  const tflite::Model *model = tflite::GetModel(model_data);
  tflite::MicroAllocator *allocator = tflite::MicroAllocator::Create(arena, arena_size);
  tflite::MicroResourceVariables *variables = nullptr;
  if (allocator != nullptr && resource_variables > 0) {
    variables = tflite::MicroResourceVariables::Create(allocator, resource_variables);
  }
  if (allocator == nullptr || (resource_variables > 0 && variables == nullptr)) {
    fprintf(stderr, "arena of %zu bytes too small\n", arena_size);
    reply(kError);
    return 1;
  }
  tflite::MicroInterpreter interpreter(model, resolver, allocator, variables);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    reply(kError);
    return 1;
  }
  const uint32_t inputs = static_cast<uint32_t>(interpreter.inputs_size());
  const uint32_t outputs = static_cast<uint32_t>(interpreter.outputs_size());
  uint8_t status = kOk;
  write_all(&status, 1);
  write_u32(inputs);
  write_u32(outputs);
  for (uint32_t i = 0; i < inputs; ++i) write_u32(static_cast<uint32_t>(interpreter.input(i)->bytes));
  for (uint32_t i = 0; i < outputs; ++i) write_u32(static_cast<uint32_t>(interpreter.output(i)->bytes));
  fflush(stdout);

  int command;
  while ((command = getchar()) != EOF) {
    if (command == 'I') {
      for (uint32_t i = 0; i < inputs; ++i) {
        TfLiteTensor *t = interpreter.input(i);
        if (!read_all(t->data.raw, t->bytes)) return 1;
      }
      if (interpreter.Invoke() != kTfLiteOk) {
        reply(kError);
        continue;
      }
      status = kOk;
      write_all(&status, 1);
      for (uint32_t i = 0; i < outputs; ++i) {
        const TfLiteTensor *t = interpreter.output(i);
        write_all(t->data.raw, t->bytes);
      }
      fflush(stdout);
    } else if (command == 'R') {
      bool ok = interpreter.Reset() == kTfLiteOk && (variables == nullptr || variables->ResetAll() == kTfLiteOk);
      reply(ok ? kOk : kError);
    } else {
      fprintf(stderr, "unknown command %d\n", command);
      return 2;
    }
  }
  return 0;
}
