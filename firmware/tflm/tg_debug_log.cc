// TFLM's logging hooks for a local TFLM tree. TFLM's own debug_log.cc writes to stderr; on a board
// the serial line belongs to the app (the HIL protocol frames it), so messages are dropped here.
// Define TG_TFLM_LOG_TO_SERIAL to see them (handy when an arena is too small).
#include <stdio.h>

#include "tensorflow/lite/micro/debug_log.h"
#ifdef TG_TFLM_LOG_TO_SERIAL
#include <string.h>

#include "tg_board.h"
#endif

extern "C" void DebugLog(const char *format, va_list args) {
#ifdef TG_TFLM_LOG_TO_SERIAL
  char line[128];
  int n = vsnprintf(line, sizeof line, format, args);
  if (n > 0) {
    tg_serial_write(reinterpret_cast<const uint8_t *>(line), strlen(line));
  }
#else
  (void)format;
  (void)args;
#endif
}

extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist) {
  return vsnprintf(buffer, buf_size, format, vlist);
}
