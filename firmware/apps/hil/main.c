/* tinygen HIL application: the device end of `tinygen verify`. Starts the runtime, announces itself
 * with a BOOT frame and then answers protocol commands forever (docs/protocol.md). The protocol
 * code lives in firmware/link/ so other apps (keyword spotting) can serve the same commands. */
#include "tg_app.h"
#include "tg_board.h"
#include "tg_hil.h"
#include "tg_runtime.h"

void tg_app_setup(void) {
  tg_status s = tg_runtime_init();
  tg_hil_start((int)s, "hil");
}

void tg_app_loop(void) { tg_hil_poll(); }
