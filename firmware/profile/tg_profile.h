/* tinygen per-op profile: cost per op of every inference, on the board's cost counter (tg_board.h:
 * DWT cycles on real Cortex-M boards, instructions on qemu-m4), read with PROFILE_READ.
 *
 * Runtimes mark where ops start: the AOT model calls TG_AOT_PROFILE_OP(subgraph, op) before every
 * op and (subgraph, -1) at the end (tg_aot.h maps it to tg_profile_op when TG_PROFILE is defined);
 * TFLM reports BeginEvent/EndEvent through tinygen's MicroProfiler (tg_profiler_tflm.cc). Only the
 * main subgraph's ops are rows: a nested subgraph counts towards the op that called it. */
#ifndef TINYGEN_TG_PROFILE_H_
#define TINYGEN_TG_PROFILE_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef TG_PROFILE_MAX_OPS
#define TG_PROFILE_MAX_OPS 256
#endif

/* The op `op` of the main subgraph starts now (op < 0: the running op ends, none starts). */
void tg_profile_mark(int32_t op);

/* The inference ended (closes the running op, counts the invoke). */
void tg_profile_invoke_done(void);

/* AOT hook: marks ops of subgraph 0 (op -1: the end of the inference), ignores nested subgraphs. */
void tg_profile_op(int subgraph, int op);

/* Forget every total (PROFILE_CLEAR). */
void tg_profile_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYGEN_TG_PROFILE_H_ */
