/* Start-up for QEMU mps2-an386 (Cortex-M4F): vector table, FPU on, .data/.bss, constructors.
 *
 * The linker script (generated per board into the project) provides the symbols used here. The
 * stack sits at the bottom of RAM, so an overflow runs into unmapped memory and faults instead of
 * silently corrupting .data/.bss.
 */
#include <stdint.h>

#include "tg_app.h"
#include "tg_board.h"
#include "tg_qemu.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_limit, __stack_top;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void TIMER0_Handler(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Paint the stack so tg_stack_used() can find the high-water mark later. Stays below the
 * caller's frame: only the unused part below the current stack pointer is painted. */
static void paint_stack(void) {
  uint32_t here;
  uint32_t *p = &__stack_limit;
  uint32_t *stop = (uint32_t *)((uintptr_t)&here - 64u);
  while (p < stop) {
    *p++ = TG_STACK_PAINT;
  }
}

__attribute__((noreturn)) void Reset_Handler(void) {
  SCB_CPACR |= (0xFu << 20); /* CP10 + CP11 full access: the FPU, before any float code */
  __asm volatile("dsb\n isb" ::: "memory");
  uint32_t *src = &_sidata;
  for (uint32_t *dst = &_sdata; dst < &_edata;) {
    *dst++ = *src++;
  }
  for (uint32_t *dst = &_sbss; dst < &_ebss;) {
    *dst++ = 0u;
  }
  paint_stack();
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) {
    (*f)();
  }
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) {
    (*f)();
  }
  (void)main();
  for (;;) {
  }
}

int main(void) {
  tg_board_init();
  tg_app_setup();
  for (;;) {
    tg_app_loop();
  }
}

void Default_Handler(void) {
  tg_qemu_panic("unexpected interrupt");
}

void tg_qemu_hard_fault(void);
void tg_qemu_hard_fault(void) { tg_qemu_panic("hard fault (stack overflow or bad memory access)"); }

/* The stack pointer may be the problem (an overflow below RAM): start a fresh stack before any C
 * code runs. The handler never returns, so nothing on the old stack is needed. */
__attribute__((naked)) void HardFault_Handler(void) {
  __asm volatile(
      "ldr r0, =__stack_top\n"
      "msr msp, r0\n"
      "b tg_qemu_hard_fault\n");
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*tg_vector)(void);

/* 16 system exceptions + 32 CMSDK interrupts (TIMER0 is IRQ 8). */
__attribute__((section(".isr_vector"), used)) const tg_vector tg_vectors[16 + 32] = {
    (tg_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 0-3: UART0/1 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 4-7: UART2, GPIO */
    TIMER0_Handler,                                                     /* IRQ 8 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 9-12 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 13-16 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 17-20 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 21-24 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, /* IRQ 25-28 */
    Default_Handler, Default_Handler, Default_Handler,                  /* IRQ 29-31 */
};
