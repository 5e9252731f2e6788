// tg_board.h on the Arduino API (Mbed-based nRF52840/RP2040 cores, STM32duino), plus the
// setup()/loop() that run the app.
//
// Cost: DWT->CYCCNT on cores that have it (Cortex-M3/M4/M7); cores without a DWT cycle counter
// (Cortex-M0+) report micros() scaled by the clock.
//
// Stack: setup() and loop() run on one stack whose bounds come from the core's own symbols, never
// from guesses. At start-up the unused part (from its low end up to a little below the current
// frame) is painted; tg_stack_used() scans for the deepest overwritten word.
//   * ArduinoCore-mbed: main() is Mbed OS's main thread, whose stack is `_main_stack`
//     (MBED_CONF_RTOS_MAIN_THREAD_STACK_SIZE bytes, defined in mbed_rtos_rtx.c of libmbed.a).
//     The linker script's __StackLimit/__StackTop are the 1 KB interrupt stack, not this one.
//   * STM32duino: no RTOS; the stack grows down from `_estack` (linker script) towards the heap.
//     Its low end is the larger of _estack - TG_STACK_SIZE and the heap's current end (sbrk(0)),
//     so painting never touches memory the heap owns.
// The cores' headers are not all -Wextra clean; tinygen's sources build with -Werror.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <Arduino.h>
#pragma GCC diagnostic pop
#include <stdint.h>
#if defined(ARDUINO_ARCH_STM32)
#include <unistd.h>
#endif

#include "tg_app.h"
#include "tg_board.h"
#include "tg_project.h"

namespace {

constexpr uint32_t kPaint = 0xC0FFEE11u;
constexpr uint32_t kSerialWaitMs = 3000;  // USB CDC: give the host time to open the port
uint32_t *stack_low = nullptr;
uint32_t *stack_high = nullptr;
uint64_t cost_start = 0;
uint32_t cost_last = 0;
uint64_t cost_total = 0;

#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_7M__)
#define TG_HAVE_DWT 1
volatile uint32_t &DEMCR_REG = *reinterpret_cast<volatile uint32_t *>(0xE000EDFCu);
volatile uint32_t &DWT_CTRL_REG = *reinterpret_cast<volatile uint32_t *>(0xE0001000u);
volatile uint32_t &DWT_CYCCNT_REG = *reinterpret_cast<volatile uint32_t *>(0xE0001004u);
#else
#define TG_HAVE_DWT 0
#endif

uint32_t raw_cycles() {
#if TG_HAVE_DWT
  return DWT_CYCCNT_REG;
#else
  return static_cast<uint32_t>(micros() * (TG_CLOCK_HZ / 1000000u));
#endif
}

// 64-bit cycles, extended from the 32-bit counter (call at least once per wrap: ~67 s at 64 MHz).
uint64_t cycles() {
  uint32_t now = raw_cycles();
  cost_total += static_cast<uint32_t>(now - cost_last);
  cost_last = now;
  return cost_total;
}

#if defined(ARDUINO_ARCH_MBED)
}  // namespace
extern "C" uint32_t _main_stack[];  // Mbed OS main-thread stack (mbed_rtos_rtx.c)
namespace {
uint32_t *core_stack_low() { return _main_stack; }
uint32_t *core_stack_high() { return _main_stack + MBED_CONF_RTOS_MAIN_THREAD_STACK_SIZE / sizeof(uint32_t); }
#elif defined(ARDUINO_ARCH_STM32)
}  // namespace
extern "C" uint32_t _estack[];  // top of the stack (STM32duino linker script)
namespace {
uint32_t *core_stack_high() { return _estack; }
uint32_t *core_stack_low() {
  uintptr_t low = reinterpret_cast<uintptr_t>(_estack) - TG_STACK_SIZE;
  uintptr_t heap_end = reinterpret_cast<uintptr_t>(sbrk(0));
  if (heap_end > low) {
    low = heap_end;
  }
  return reinterpret_cast<uint32_t *>((low + 3u) & ~static_cast<uintptr_t>(3u));
}
#else
#error "tinygen: no stack bounds known for this Arduino core (supported: ArduinoCore-mbed, STM32duino)"
#endif

constexpr uintptr_t kFrameMargin = 256;  // bytes below the current frame left unpainted

__attribute__((noinline)) void paint_stack() {
  const uintptr_t frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  stack_low = core_stack_low();
  stack_high = core_stack_high();
  uint32_t *end = reinterpret_cast<uint32_t *>((frame - kFrameMargin) & ~static_cast<uintptr_t>(3u));
  for (volatile uint32_t *p = stack_low; p < end; ++p) {
    *p = kPaint;
  }
}

}  // namespace

extern "C" {

void tg_board_init(void) {
  paint_stack();
  Serial.begin(TG_SERIAL_BAUD);
  uint32_t t0 = millis();
  while (!Serial && millis() - t0 < kSerialWaitMs) {
  }
#if TG_HAVE_DWT
  DEMCR_REG |= (1u << 24);  // TRCENA
  DWT_CYCCNT_REG = 0;
  DWT_CTRL_REG |= 1u;       // CYCCNTENA
#endif
  pinMode(LED_BUILTIN, OUTPUT);
}

const char *tg_board_name(void) { return TG_BOARD_NAME; }

void tg_serial_write(const uint8_t *data, size_t len) { Serial.write(data, len); }

int tg_serial_read_byte(void) { return Serial.available() > 0 ? Serial.read() : -1; }

uint32_t tg_micros(void) { return micros(); }

void tg_cost_start(void) { cost_start = cycles(); }

uint64_t tg_cost_read(void) { return cycles() - cost_start; }

const char *tg_cost_unit(void) { return "cycles"; }

uint32_t tg_stack_size(void) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(stack_high) - reinterpret_cast<uintptr_t>(stack_low));
}

uint32_t tg_stack_used(void) {
  const uint32_t *p = stack_low;
  while (p < stack_high && *p == kPaint) {
    ++p;
  }
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(stack_high) - reinterpret_cast<uintptr_t>(p));
}

void tg_led_set(int on) { digitalWrite(LED_BUILTIN, on ? HIGH : LOW); }

void tg_board_reset(void) { NVIC_SystemReset(); }

}  // extern "C"

void setup() {
  tg_board_init();
  tg_app_setup();
}

void loop() { tg_app_loop(); }
