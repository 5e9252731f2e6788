// Arena measurement app: TensorFlow Lite Micro on the emulated Cortex-M4F with an arena size read
// at run time (semihosting file arena.txt: "SIZE [MODE]"), so one build serves the whole
// byte-by-byte search. Prints one line: AllocateTensors and two Invoke statuses, arena_used_bytes()
// and an FNV-1a hash of every output after the second Invoke (bench/arena_search.py parses it).
// MODE 1 stops after AllocateTensors (Invoke statuses -2, hash of no output): TFLM plans and allocates the
// whole arena there (bench/arena_search.py's docstring says why that is enough for most trials).
// With -DARENA_PSRAM the arena goes to section .bss.arena_psram (bench/arena_psram.ld).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

#ifndef ARENA_STRING_LOG  // the Arduino export has DebugLog(const char*) (bench/arduino_export_shim.cc)
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#endif
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_resource_variable.h"

#include "m_model_data.h"
#include "m_op_resolver.h"

#ifndef ARENA_MAX
#define ARENA_MAX (2 * 1024 * 1024)
#endif
#ifndef ARENA_VARS
#define ARENA_VARS 0
#endif

#ifdef ARENA_PSRAM
__attribute__((section(".bss.arena_psram")))
#endif
alignas(16) static uint8_t arena[ARENA_MAX];
alignas(MOpResolver) static uint8_t resolver_buf[sizeof(MOpResolver)];
alignas(tflite::MicroInterpreter) static uint8_t interp_buf[sizeof(tflite::MicroInterpreter)];

#ifndef ARENA_STRING_LOG
static void log_line(const char* s) { fputs(s, stdout); }
#endif

int main() {
#ifndef ARENA_STRING_LOG
  RegisterDebugLogCallback(log_line);
#endif
  unsigned long size = 0, mode = 0;
  FILE* f = fopen("arena.txt", "r");
  if (!f || fscanf(f, "%lu", &size) != 1 || size > ARENA_MAX) return 2;
  if (fscanf(f, "%lu", &mode) != 1) mode = 0;
  fclose(f);
  const tflite::Model* model = tflite::GetModel(m_model_data);
  auto* resolver = new (resolver_buf) MOpResolver();
  if (m_register_ops(*resolver) != kTfLiteOk) return 3;
  tflite::MicroAllocator* alloc = tflite::MicroAllocator::Create(arena, size);
  if (alloc == nullptr) {
    printf("\nRESULT alloc=1 invoke1=-1 invoke2=-1 used=0 hash=0\n");
    return 0;
  }
  tflite::MicroResourceVariables* vars =
      ARENA_VARS ? tflite::MicroResourceVariables::Create(alloc, ARENA_VARS) : nullptr;
  if (ARENA_VARS && vars == nullptr) {
    printf("\nRESULT alloc=1 invoke1=-1 invoke2=-1 used=0 hash=0\n");
    return 0;
  }
  auto* interp = new (interp_buf) tflite::MicroInterpreter(model, *resolver, alloc, vars);
  int a = interp->AllocateTensors();
  int i1 = -1, i2 = -1;
  uint32_t hash = 2166136261u;
  if (a == kTfLiteOk && mode == 1) {
    i1 = i2 = -2;
  } else if (a == kTfLiteOk) {
    for (size_t i = 0; i < interp->inputs_size(); ++i) {
      TfLiteTensor* t = interp->input(i);
      for (size_t b = 0; b < t->bytes; ++b) t->data.uint8[b] = static_cast<uint8_t>(b * 7 + i);
    }
    i1 = interp->Invoke();
    i2 = i1 == kTfLiteOk ? interp->Invoke() : -1;
    for (size_t i = 0; i < interp->outputs_size(); ++i) {
      TfLiteTensor* t = interp->output(i);
      for (size_t b = 0; b < t->bytes; ++b) hash = (hash ^ t->data.uint8[b]) * 16777619u;
    }
  }
  printf("\nRESULT alloc=%d invoke1=%d invoke2=%d used=%u hash=%08lx\n", a, i1, i2,
         static_cast<unsigned>(a == kTfLiteOk ? interp->arena_used_bytes() : 0),
         static_cast<unsigned long>(hash));
  return 0;
}
