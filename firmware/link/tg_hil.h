/* tinygen HIL harness, device side: answers the host's protocol commands (docs/protocol.md) by
 * calling tg_runtime_* and tg_board_*. Reusable by any app: call tg_hil_start() once after
 * tg_board_init() and tg_runtime_init(), then tg_hil_poll() from the main loop. */
#ifndef TINYGEN_TG_HIL_H_
#define TINYGEN_TG_HIL_H_

#include <stdint.h>

#include "tg_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* `runtime_status` is what tg_runtime_init() returned (reported in HELLO); sends the BOOT event. */
void tg_hil_start(int runtime_status, const char *app_name);

/* Commands the harness does not know (apps' extensions, e.g. KWS 0x40-0x4F). The weak default in
 * tg_hil.c returns TG_LINK_UNKNOWN_COMMAND. `repeat` is 1 when seq and type equal the last
 * request's (a host resend): a non-idempotent command answers from its own cached reply instead of
 * running again. Fill the reply in `out` (TG_LINK_MAX_PAYLOAD bytes), set *len, return a
 * tg_link_status. */
int tg_hil_app_command(const tg_link_frame *f, int repeat, uint8_t *out, uint16_t *len);

/* Handle every complete frame waiting on the serial port. Returns the number of frames handled. */
int tg_hil_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_HIL_H_ */
