/* Private helpers of the QEMU mps2-an386 board support (not part of tg_board.h). */
#ifndef TINYGEN_TG_QEMU_H_
#define TINYGEN_TG_QEMU_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_STACK_PAINT 0xC0FFEE11u

/* Print `why` on the UART and stop (the host sees the line, then silence). */
__attribute__((noreturn)) void tg_qemu_panic(const char *why);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_QEMU_H_ */
