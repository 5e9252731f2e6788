// tg_board.h on the Arduino API (Mbed-based nRF52840/RP2040 cores, STM32duino), plus the
// setup()/loop() that run the app.
//
// Cost: DWT->CYCCNT on cores that have it (Cortex-M3/M4/M7); cores without a DWT cycle counter
// (Cortex-M0+) report micros() scaled by the clock. Stack: the unused space below the stack
// pointer at start-up is painted and scanned, so tg_stack_used() is measured from setup().
// The cores' headers are not all -Wextra clean; tinygen's sources build with -Werror.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <Arduino.h>
#pragma GCC diagnostic pop
#include <stdint.h>

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

__attribute__((noinline)) void paint_stack() {
  uint32_t here = 0;
  stack_high = &here - 16;  // leave this frame alone
  stack_low = stack_high - (TG_STACK_SIZE / sizeof(uint32_t)) + 64;
  for (uint32_t *p = stack_low; p < stack_high; ++p) {
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

uint32_t tg_stack_size(void) { return TG_STACK_SIZE; }

uint32_t tg_stack_used(void) {
  const uint32_t *p = stack_low;
  while (p < stack_high && *p == kPaint) {
    ++p;
  }
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(stack_high) - reinterpret_cast<uintptr_t>(p)) +
         64u * sizeof(uint32_t);
}

void tg_led_set(int on) { digitalWrite(LED_BUILTIN, on ? HIGH : LOW); }

void tg_board_reset(void) { NVIC_SystemReset(); }

}  // extern "C"

void setup() {
  tg_board_init();
  tg_app_setup();
}

void loop() { tg_app_loop(); }
