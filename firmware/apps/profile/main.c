/* tinygen per-op profile application: the HIL app built with TG_PROFILE (firmware/profile/), so
 * `tinygen profile` can read what every op of an inference cost, on the runtime's own hooks (AOT:
 * TG_AOT_PROFILE_OP before every op; TFLM: its MicroProfiler interface). Same commands as `hil`,
 * plus PROFILE_READ / PROFILE_CLEAR (docs/profile.md, docs/protocol.md). */
#include "tg_app.h"
#include "tg_board.h"
#include "tg_hil.h"
#include "tg_runtime.h"

void tg_app_setup(void) {
  tg_status s = tg_runtime_init();
  tg_hil_start((int)s, "profile");
}

void tg_app_loop(void) { tg_hil_poll(); }
