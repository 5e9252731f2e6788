// What the TFLM Arduino export expects from its board code (src/peripherals, left out on the
// emulated board: bench/arduino_export.py): DebugLog to stdout (semihosting) and a tick counter.
#include <cstdint>
#include <cstdio>

extern "C" void DebugLog(const char* s) { fputs(s, stdout); }

namespace tflite {
uint32_t ticks_per_second() { return 0; }
uint32_t GetCurrentTimeTicks() { return 0; }
}  // namespace tflite

// libstdc++'s static constructors (pulled in by the export's C++) register their destructors with
// __cxa_atexit(..., &__dso_handle); crtbegin.o, which defines it, is left out (-nostartfiles).
extern "C" {
void* __dso_handle = &__dso_handle;
}
