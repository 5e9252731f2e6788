/* AOT test harness for the emulated Cortex-M4: read input records from the host (semihosting),
 * run the model through tg_runtime.h, write each record's outputs and its tick count back.
 *   in.bin : u32 records, then per record every input's bytes
 *   out.bin: per record every output's bytes, then u64 ticks of the invoke
 * All records run as one stream (no reset), so streaming models carry their state like on the host. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tg_runtime.h"

extern uint64_t tg_ticks(void);

#ifdef TG_HARNESS_PROFILE
/* Per-op tick totals of subgraph 0 (build with -DTG_AOT_PROFILE_OP(s,o)=tg_profile_op(s,o)). */
static uint64_t op_ticks[512], last_tick;
static int last_op = -1;
void tg_profile_op(int sg, int op) {
  const uint64_t now = tg_ticks();
  if (sg != 0) return;
  if (last_op >= 0 && last_op < 512) op_ticks[last_op] += now - last_tick;
  last_op = op;
  last_tick = tg_ticks();
}
static void profile_end(void) {
  int i;
  if (last_op >= 0 && last_op < 512) op_ticks[last_op] += tg_ticks() - last_tick;
  last_op = -1;
  for (i = 0; i < 512; ++i)
    if (op_ticks[i]) printf("op %d ticks %lu\n", i, (unsigned long)op_ticks[i]);
}
#endif

int main(void) {
  FILE *in = fopen("in.bin", "rb");
  FILE *out = fopen("out.bin", "wb");
  uint32_t records = 0, r, i;
  if (!in || !out) {
    printf("harness: cannot open in.bin/out.bin\n");
    return 2;
  }
  if (fread(&records, 4, 1, in) != 1) return 2;
  if (tg_runtime_init() != TG_OK) return 4;
  for (r = 0; r < records; ++r) {
    uint64_t t0, t1;
    for (i = 0; i < tg_runtime_input_count(); ++i) {
      const uint32_t n = tg_runtime_input_info(i)->bytes;
      if (fread(tg_runtime_input(i), 1, n, in) != n) return 5;
    }
    t0 = tg_ticks();
    if (tg_runtime_invoke() != TG_OK) return 6;
    t1 = tg_ticks();
    for (i = 0; i < tg_runtime_output_count(); ++i) {
      fwrite(tg_runtime_output(i), 1, tg_runtime_output_info(i)->bytes, out);
    }
    t1 -= t0;
    fwrite(&t1, 8, 1, out);
  }
  fclose(out);
  fclose(in);
#ifdef TG_HARNESS_PROFILE
  profile_end();
#endif
  printf("harness: %u records\n", (unsigned)records);
  return 0;
}
