/* tinygen board interface: the little each board must provide to the applications.
 *
 * Implemented per board family in firmware/boards/<family>/ (bare-metal QEMU mps2-an386, Arduino
 * cores, ...). Applications and the HIL protocol only call these functions.
 */
#ifndef TINYGEN_TG_BOARD_H_
#define TINYGEN_TG_BOARD_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, serial port, LED. Called once at start-up. */
void tg_board_init(void);

/* Board identity, e.g. "qemu-m4" (from the board definition). */
const char *tg_board_name(void);

/* Blocking write of `len` bytes to the host serial link. */
void tg_serial_write(const uint8_t *data, size_t len);
/* Non-blocking read: the next received byte (0..255), or -1 if none is waiting. */
int tg_serial_read_byte(void);

/* Monotonic time in microseconds (wraps after ~71 minutes). */
uint32_t tg_micros(void);

/* Cost counter for profiling one inference. On hardware: CPU cycles (DWT->CYCCNT). On the emulated
 * board: retired instructions (QEMU -icount shift=0 makes virtual time count instructions).
 * tg_cost_unit() names it: "cycles" or "instructions". */
void tg_cost_start(void);
uint64_t tg_cost_read(void);
const char *tg_cost_unit(void);

/* Stack: bytes reserved, and the high-water mark measured by painting the stack at start-up. */
uint32_t tg_stack_size(void);
uint32_t tg_stack_used(void);

/* LED for detections (no-op on boards without one). */
void tg_led_set(int on);

/* Software reset of the device. Does not return. */
void tg_board_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_BOARD_H_ */
