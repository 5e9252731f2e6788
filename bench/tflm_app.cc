// Benchmark app: the same model under TensorFlow Lite Micro on the emulated Cortex-M4F.
// Same I/O protocol as tinygen/hostrun/m4/harness.c (in.bin records -> out.bin outputs + ticks),
// so outputs can be cross-checked and instruction counts compared one to one.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"

#include "m_model_data.h"
#include "m_op_resolver.h"

extern "C" uint64_t tg_ticks(void);

#ifndef BENCH_ARENA
#define BENCH_ARENA (512 * 1024)
#endif
#ifndef BENCH_VARS
#define BENCH_VARS 0
#endif

alignas(16) static uint8_t arena[BENCH_ARENA];
alignas(MOpResolver) static uint8_t resolver_buf[sizeof(MOpResolver)];
alignas(tflite::MicroInterpreter) static uint8_t interp_buf[sizeof(tflite::MicroInterpreter)];

int main() {
  FILE* in = fopen("in.bin", "rb");
  FILE* out = fopen("out.bin", "wb");
  uint32_t records = 0;
  if (!in || !out || fread(&records, 4, 1, in) != 1) return 2;
  const tflite::Model* model = tflite::GetModel(m_model_data);
  auto* resolver = new (resolver_buf) MOpResolver();
  if (m_register_ops(*resolver) != kTfLiteOk) return 3;
  tflite::MicroAllocator* alloc = tflite::MicroAllocator::Create(arena, BENCH_ARENA);
  tflite::MicroResourceVariables* vars =
      BENCH_VARS ? tflite::MicroResourceVariables::Create(alloc, BENCH_VARS) : nullptr;
  auto* interp = new (interp_buf) tflite::MicroInterpreter(model, *resolver, alloc, vars);
  if (interp->AllocateTensors() != kTfLiteOk) return 4;
  for (uint32_t r = 0; r < records; ++r) {
    for (size_t i = 0; i < interp->inputs_size(); ++i) {
      TfLiteTensor* t = interp->input(i);
      if (fread(t->data.raw, 1, t->bytes, in) != t->bytes) return 5;
    }
    uint64_t t0 = tg_ticks();
    if (interp->Invoke() != kTfLiteOk) return 6;
    uint64_t t1 = tg_ticks() - t0;
    for (size_t i = 0; i < interp->outputs_size(); ++i) {
      TfLiteTensor* t = interp->output(i);
      fwrite(t->data.raw, 1, t->bytes, out);
    }
    fwrite(&t1, 8, 1, out);
  }
  fclose(out);
  fclose(in);
  printf("arena_used %u\n", static_cast<unsigned>(interp->arena_used_bytes()));
  return 0;
}
