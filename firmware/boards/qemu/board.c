/* tg_board.h for QEMU mps2-an386: CMSDK UART0 for the host link, CMSDK TIMER0 for time and cost.
 *
 * Under `-icount shift=0` QEMU's virtual clock advances 1 ns per guest instruction and TIMER0
 * counts the 25 MHz system clock on that virtual time, so one timer tick is 40 instructions:
 * tg_cost_read() reports instructions (resolution 40), tg_micros() virtual microseconds.
 */
#include <stddef.h>
#include <stdint.h>

#include "tg_board.h"
#include "tg_project.h"
#include "tg_qemu.h"

#define SYSCLK_HZ 25000000u
#define NS_PER_TICK (1000000000u / SYSCLK_HZ)

typedef struct {
  volatile uint32_t data;     /* +0x00 */
  volatile uint32_t state;    /* +0x04: bit0 TX full, bit1 RX full */
  volatile uint32_t ctrl;     /* +0x08: bit0 TX enable, bit1 RX enable */
  volatile uint32_t intclear; /* +0x0C */
  volatile uint32_t bauddiv;  /* +0x10 */
} cmsdk_uart;

typedef struct {
  volatile uint32_t ctrl;   /* +0x00: bit0 enable, bit3 interrupt enable */
  volatile uint32_t value;  /* +0x04: counts down */
  volatile uint32_t reload; /* +0x08 */
  volatile uint32_t intclear;
} cmsdk_timer;

#define UART0 ((cmsdk_uart *)0x40004000u)
#define TIMER0 ((cmsdk_timer *)0x40000000u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define TIMER0_IRQ 8u

extern uint32_t __stack_limit, __stack_top;

static volatile uint32_t timer_wraps;
static uint64_t cost_start;

void TIMER0_Handler(void);
void TIMER0_Handler(void) {
  TIMER0->intclear = 1u;
  timer_wraps++;
}

/* Ticks since boot, as 64 bits: the wrap count is re-read until stable around the counter. */
static uint64_t ticks(void) {
  uint32_t hi;
  uint32_t lo;
  do {
    hi = timer_wraps;
    lo = 0xFFFFFFFFu - TIMER0->value;
  } while (hi != timer_wraps);
  return ((uint64_t)hi << 32) | lo;
}

void tg_board_init(void) {
  UART0->bauddiv = SYSCLK_HZ / TG_SERIAL_BAUD;
  UART0->ctrl = 0x3u;
  TIMER0->reload = 0xFFFFFFFFu;
  TIMER0->value = 0xFFFFFFFFu;
  TIMER0->ctrl = 0x9u; /* enable + interrupt on wrap */
  NVIC_ISER0 = 1u << TIMER0_IRQ;
  __asm volatile("cpsie i" ::: "memory");
}

const char *tg_board_name(void) { return TG_BOARD_NAME; }

void tg_serial_write(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    while (UART0->state & 1u) {
    }
    UART0->data = data[i];
  }
}

int tg_serial_read_byte(void) {
  if (UART0->state & 2u) {
    return (int)(UART0->data & 0xFFu);
  }
  return -1;
}

uint32_t tg_micros(void) { return (uint32_t)(ticks() * NS_PER_TICK / 1000u); }

void tg_cost_start(void) { cost_start = ticks(); }

uint64_t tg_cost_read(void) { return (ticks() - cost_start) * NS_PER_TICK; }

const char *tg_cost_unit(void) { return "instructions"; }

uint32_t tg_stack_size(void) { return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit); }

uint32_t tg_stack_used(void) {
  const uint32_t *p = &__stack_limit;
  while (p < &__stack_top && *p == TG_STACK_PAINT) {
    ++p;
  }
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

void tg_led_set(int on) { (void)on; }

void tg_board_reset(void) {
  __asm volatile("dsb" ::: "memory");
  SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* VECTKEY | SYSRESETREQ */
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

void tg_qemu_panic(const char *why) {
  static const char prefix[] = "\r\ntinygen: PANIC: ";
  size_t n = 0;
  while (why[n] != '\0') {
    ++n;
  }
  tg_serial_write((const uint8_t *)prefix, sizeof prefix - 1u);
  tg_serial_write((const uint8_t *)why, n);
  tg_serial_write((const uint8_t *)"\r\n", 2u);
  for (;;) {
  }
}
