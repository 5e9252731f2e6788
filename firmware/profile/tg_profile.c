/* tinygen per-op profile: totals per op and the PROFILE_READ / PROFILE_CLEAR commands (tg_profile.h). */
#include "tg_profile.h"

#include <string.h>

#include "tg_board.h"
#include "tg_hil.h"
#include "tg_link.h"

#define CMD_PROFILE_READ 0x50u
#define CMD_PROFILE_CLEAR 0x51u
#define ROW_BYTES 16u   /* op u16, 0 u16, calls u32, cost u64 */
#define HEAD_BYTES 8u   /* rows u16, rows in this reply u16, invokes u32 */

static uint64_t op_cost[TG_PROFILE_MAX_OPS];
static uint32_t op_calls[TG_PROFILE_MAX_OPS];
static int32_t running = -1;
static uint64_t started;
static uint32_t rows, invokes;

void tg_profile_mark(int32_t op) {
  const uint64_t now = tg_cost_read();
  if (running >= 0 && running < TG_PROFILE_MAX_OPS) {
    op_cost[running] += now - started;
    op_calls[running]++;
  }
  if (op >= 0 && (uint32_t)op + 1u > rows) rows = (uint32_t)op + 1u;
  running = op;
  started = now;
}

void tg_profile_invoke_done(void) {
  tg_profile_mark(-1);
  invokes++;
}

void tg_profile_op(int subgraph, int op) {
  if (subgraph != 0) return;
  if (op < 0) {
    tg_profile_invoke_done();
  } else {
    tg_profile_mark(op);
  }
}

void tg_profile_clear(void) {
  memset(op_cost, 0, sizeof op_cost);
  memset(op_calls, 0, sizeof op_calls);
  running = -1;
  rows = invokes = 0;
}

static void put_u64(uint8_t *p, uint64_t v) {
  tg_put_u32(p, (uint32_t)v);
  tg_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* PROFILE_READ: first row u16 -> rows u16, n u16, invokes u32, then n rows. */
int tg_hil_app_command(const tg_link_frame *f, int repeat, uint8_t *out, uint16_t *len) {
  (void)repeat; /* both commands are idempotent */
  if (f->header.type == CMD_PROFILE_CLEAR) {
    tg_profile_clear();
    *len = 0;
    return TG_LINK_OK;
  }
  if (f->header.type != CMD_PROFILE_READ) return TG_LINK_UNKNOWN_COMMAND;
  if (f->header.length < 2) return TG_LINK_BAD_ARGUMENT;
  const uint32_t first = tg_get_u16(f->payload);
  const uint32_t total = rows < TG_PROFILE_MAX_OPS ? rows : TG_PROFILE_MAX_OPS;
  uint32_t n = first < total ? total - first : 0;
  if (n > (TG_LINK_MAX_PAYLOAD - HEAD_BYTES) / ROW_BYTES) n = (TG_LINK_MAX_PAYLOAD - HEAD_BYTES) / ROW_BYTES;
  out[0] = (uint8_t)total;
  out[1] = (uint8_t)(total >> 8);
  out[2] = (uint8_t)n;
  out[3] = (uint8_t)(n >> 8);
  tg_put_u32(out + 4, invokes);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t *r = out + HEAD_BYTES + i * ROW_BYTES;
    const uint32_t op = first + i;
    r[0] = (uint8_t)op;
    r[1] = (uint8_t)(op >> 8);
    r[2] = r[3] = 0;
    tg_put_u32(r + 4, op_calls[op]);
    put_u64(r + 8, op_cost[op]);
  }
  *len = (uint16_t)(HEAD_BYTES + n * ROW_BYTES);
  return TG_LINK_OK;
}
