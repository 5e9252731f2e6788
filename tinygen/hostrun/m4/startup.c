/* Bare-metal start for the AOT test harness on QEMU mps2-an386: vector table, FPU on, .data/.bss,
 * SysTick as a free-running instruction counter (with -icount shift=0 one instruction is 1 ns of
 * virtual time and SysTick runs at the 25 MHz system clock: 40 instructions per tick). */
#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void);
extern void exit(int);

volatile uint32_t tg_systick_wraps;

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

/* Ticks since start: wraps * 2^24 + elapsed in the current period (read consistently). */
uint64_t tg_ticks(void) {
  uint32_t w, v;
  do {
    w = tg_systick_wraps;
    v = SYST_CVR;
  } while (w != tg_systick_wraps);
  return ((uint64_t)w << 24) + (0xFFFFFFu - v);
}

void SysTick_Handler(void) { tg_systick_wraps++; }

void Reset_Handler(void) {
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CP10/CP11: FPU on */
  __asm__ volatile("dsb; isb");
  memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
  memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
  SYST_RVR = 0xFFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt on wrap, enable */
  initialise_monitor_handles();
  __libc_init_array();
  exit(main());
  for (;;) {
  }
}

void Fault_Handler(void) { exit(3); }

__attribute__((section(".isr_vector"), used)) const void *const tg_vectors[16] = {
    &_estack, (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler, 0, 0, 0, 0,
    (void *)Fault_Handler, (void *)Fault_Handler, 0, (void *)Fault_Handler, (void *)SysTick_Handler};

/* -nostartfiles drops crti/crtn; newlib's init/fini arrays still call these. */
void _init(void) {}
void _fini(void) {}
