/* tinygen HIL harness, device side: answers the host's protocol commands (docs/protocol.md) by
 * calling tg_runtime_* and tg_board_*. Reusable by any app: call tg_hil_start() once after
 * tg_board_init() and tg_runtime_init(), then tg_hil_poll() from the main loop. */
#ifndef TINYGEN_TG_HIL_H_
#define TINYGEN_TG_HIL_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `runtime_status` is what tg_runtime_init() returned (reported in HELLO); sends the BOOT event. */
void tg_hil_start(int runtime_status, const char *app_name);

/* Handle every complete frame waiting on the serial port. Returns the number of frames handled. */
int tg_hil_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_HIL_H_ */
