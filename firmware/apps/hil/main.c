/* tinygen HIL application: the device end of `tinygen verify`. Initialises the board and the
 * runtime, announces itself with a BOOT frame and then answers protocol commands forever
 * (docs/protocol.md). All protocol code lives in firmware/link/. */
#include "tg_board.h"
#include "tg_hil.h"
#include "tg_runtime.h"

int main(void) {
  tg_board_init();
  tg_status s = tg_runtime_init();
  tg_hil_start((int)s, "hil");
  for (;;) {
    tg_hil_poll();
  }
}
