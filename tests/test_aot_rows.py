"""Row pipelines (tinygen/codegen/aot/rows.py, firmware/aot/tg_aot_rows.c): the safety proofs, the
planner decisions on the zoo, and that the memory plan they give never lets two live tensors
share a byte that either still needs.

Bit-exactness of the chained models with TFLM's interpreter is tests/test_aot.py
(test_bit_exact_with_interpreter runs every zoo model as `build` plans it, chains included).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinygen.codegen import aot
from tinygen.codegen.aot import rows
from tinygen.codegen.aot.generator import build
from tinygen.codegen.aot.rows import Stage
from tinygen.hostrun import HostModel
from tinygen.hostrun.check import random_input
from tinygen.model import load_model
from tinygen.reference import Reference

from .conftest import MODELS_DIR

ARM_GCC = shutil.which("arm-none-eabi-gcc")
HAVE_CC = shutil.which("cc") is not None or shutil.which("gcc") is not None
CHAINED = ["micro_speech/micro_speech_quantized.tflite", "mlperf_tiny/pretrainedResnet_quant.tflite",
           "mlperf_tiny/vww_96_int8.tflite"]
X, Y, SIDE = 100, 101, 102  # tensor ids of the synthetic chains


def conv(op: int, main: int, out: int, rows_in: int, rb_in: int, rows_out: int, rb_out: int,
         stride: int = 1, pad: int = 1, k: int = 3) -> Stage:
    return Stage(op, "conv", main, out, rows_in, rb_in, rows_out, rb_out, stride, pad, k)


def linear(*stages: Stage) -> tuple[Stage, ...]:
    """A chain where each stage reads the previous one's rows."""
    return tuple(dataclasses.replace(st, src=k - 1) for k, st in enumerate(stages))


def brute_force_ok(stages: tuple[Stage, ...], tensor: int, nbytes: int, delta: int) -> bool:
    """Byte-level replay of tg_rows_run's order: every byte of `tensor` is tagged until the chain
    output lands on it; a read of a byte whose tag is gone fails (an ADD may read the very element
    it then overwrites)."""
    reads, writes = rows._reads_writes(stages)
    alive = np.ones(nbytes, bool)
    for rd, wr in zip(reads, writes):
        for t, a, b in rd:
            if t == tensor and not alive[a:b].all():
                return False
        if wr is not None:
            lo, hi = max(0, wr[0] + delta), min(nbytes, wr[1] + delta)
            if lo < hi:
                for t, a, b in rd:  # read in the same step: only the element-wise ADD over the same bytes
                    if t == tensor and a < hi and lo < b and not (wr[2] == tensor and (a, b) == (wr[0] + delta, wr[1] + delta)):
                        return False
                alive[lo:hi] = False
    return True


def test_conv_output_over_its_own_input_needs_pad_plus_one_rows() -> None:
    # 3x3, stride 1, pad 1, rows of 64 bytes in and out: row r reads input rows r-1..r+1
    st = (conv(0, X, Y, 16, 64, 16, 64),)
    assert not rows.overlap_ok(st, X, 0)          # in place would overwrite row r before row r+1 reads it
    assert not rows.overlap_ok(st, X, -64)        # one row behind still clobbers row r-1 of the same step
    assert rows.overlap_ok(st, X, -128)           # pad + 1 rows behind: every row written is dead
    assert rows.best_overlap(st, ((X, 16 * 64),)) == (X, -128)


def test_downsampling_conv_writes_behind_its_reads() -> None:
    # vww's first layer: 96 rows of 288 bytes -> 48 rows of 384, 3x3 stride 2, no top padding
    st = (conv(0, X, Y, 96, 288, 48, 384, stride=2, pad=0),)
    assert rows.best_overlap(st, ((X, 96 * 288),)) == (X, -384)
    assert not rows.overlap_ok(st, X, -380)


def test_chain_with_residual_add_may_land_on_the_skip_input() -> None:
    # resnet block: conv -> conv -> ADD(X): the ADD's row r is written over X's row r once read
    st = linear(conv(0, X, 1, 32, 512, 32, 512), conv(1, 1, 2, 32, 512, 32, 512),
                Stage(2, "add", 2, Y, 32, 512, 32, 512, side=X, side_first=True))
    assert rows.window_caps(st) == (3, 1)
    assert rows.overlap_ok(st, X, 0)
    # an output row one ahead of the ADD's read would destroy X rows conv 0 still reads
    assert not rows.overlap_ok(st, X, 512)
    # two convs: when the second writes row r, the first has already read X up to row r + 2 and
    # reads only rows > r from then on: in place is safe, one row ahead is not
    st2 = linear(conv(0, X, 1, 32, 512, 32, 512), conv(1, 1, Y, 32, 512, 32, 512))
    assert rows.overlap_ok(st2, X, 0) and not rows.overlap_ok(st2, X, 512)
    # a single conv in place is not (it reads row r + 1 after writing row r)
    assert not rows.overlap_ok(st2[:1], X, 0)


@pytest.mark.parametrize("k,stride,pad", [(1, 1, 0), (3, 1, 1), (3, 2, 0), (3, 2, 1), (5, 1, 2), (1, 2, 0), (4, 3, 1)])
def test_overlap_proof_agrees_with_a_byte_level_replay(k: int, stride: int, pad: int) -> None:
    rng = np.random.default_rng(k * 100 + stride * 10 + pad)
    for _ in range(4):
        rows_in, rb_in, rb_out = int(rng.integers(4, 14)), 4 * int(rng.integers(1, 6)), 4 * int(rng.integers(1, 6))
        rows_out = (rows_in + 2 * pad - k) // stride + 1
        if rows_out < 1:
            continue
        first = conv(0, X, 1, rows_in, rb_in, rows_out, rb_out, stride, pad, k)
        if any(first.window(r)[1] > first.window(r)[2] for r in range(rows_out)):
            continue
        chains = [(first,), linear(first, Stage(1, "add", 1, Y, rows_out, rb_out, rows_out, rb_out, side=SIDE))]
        if rows_out == rows_in and rb_in == rb_out:
            chains.append(linear(first, Stage(1, "add", 1, Y, rows_out, rb_out, rows_out, rb_out, side=X)))
            # a residual block with a computed shortcut: conv branch and a 1x1 branch both on X
            short = conv(2, X, 3, rows_in, rb_in, rows_out, rb_out, 1, 0, 1)
            chains.append((first, short, Stage(4, "add", 1, Y, rows_out, rb_out, rows_out, rb_out, side=3, src=0, side_src=1)))
        for st in chains:
            out_bytes = rows_out * rb_out
            for tensor, nbytes in ((X, rows_in * rb_in), (SIDE, rows_out * rb_out)):
                for delta in range(-out_bytes - 8, nbytes + 8, 4):
                    proved, replay = rows.overlap_ok(st, tensor, delta), brute_force_ok(st, tensor, nbytes, delta)
                    # sound always; exact when the rows read leave no gaps (stride <= kernel)
                    assert replay if proved else (not replay or stride > k), (st, tensor, delta)
                best = rows.best_overlap(st, ((X, rows_in * rb_in), (SIDE, rows_out * rb_out)))
                assert best is None or brute_force_ok(st, best[0], dict(((X, rows_in * rb_in), (SIDE, out_bytes)))[best[0]], best[1])


def test_windows_never_overflow_in_the_runner_order() -> None:
    """Replaying tg_rows_run's compaction with the capacities window_caps gives: no row lands past
    its window and every row a stage reads is still in its producer's window."""
    for k1, s1, k2, s2 in itertools.product((1, 3, 5), (1, 2), (1, 3), (1, 2)):
        a = conv(0, X, 1, 20, 8, (20 + 2 * (k1 // 2) - k1) // s1 + 1, 8, s1, k1 // 2, k1)
        b = conv(1, 1, Y, a.out_rows, 8, (a.out_rows + 2 * (k2 // 2) - k2) // s2 + 1, 8, s2, k2 // 2, k2)
        caps = rows.window_caps(linear(a, b))
        first = count = base = produced = 0
        for r in range(b.out_rows):
            _, lo, hi = b.window(r)
            if lo > first:
                d = min(lo - first, count)
                first, count = first + d, count - d
            while produced <= hi:
                if count == 0:
                    first = base = produced
                elif produced - base >= caps[0]:
                    base = first
                assert produced - base < caps[0]
                count += 1
                produced += 1
            assert first <= lo and hi < first + count


@pytest.mark.parametrize("rel", CHAINED + ["mlperf_tiny/kws_ref_model.tflite", "mlperf_tiny/ad01_int8.tflite"])
def test_no_two_live_tensors_share_a_byte_unless_proved(rel: str) -> None:
    """Tensor by tensor, in the order the C runs: two tensors whose bytes overlap are either a
    RESHAPE-style alias pair, or one dies at the very step the other is born there -- an op's
    declared in-place pair, or a row chain's output over the tensor its proof names."""
    info = load_model(MODELS_DIR / rel)
    sg = info.main
    m = build(info, "m")
    plain = build(info, "m", row_pipelines=False)
    rp = m.subgraphs[0].rows
    assert rp is not None
    if rel in CHAINED:
        assert rp.chains and m.arena_bytes < plain.arena_bytes   # chosen because the plan got smaller
    pi = rows.plan_inputs(rp)
    plan = m.subgraphs[0].plan
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for op in sg.operators:
        for t in (*op.inputs, *op.outputs):
            if t in plan.offsets:
                first[t] = min(first.get(t, 1 << 30), pi.times[op.index])
                last[t] = max(last.get(t, -1), pi.times[op.index])
    end = max(pi.times.values())
    for t in sg.inputs:
        first[t] = 0
    for t in sg.outputs:
        last[t] = end
    assert not set(pi.skip) & set(plan.offsets)          # windows are not tensors of the plan
    aliases = {(op.outputs[0], op.inputs[0]) for op in sg.operators if op.op in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")}
    chain_at = {pi.times[c.ops[0]]: c for c in rp.chains}
    for a, b in itertools.combinations(sorted(first), 2):
        oa, ob = plan.offsets[a], plan.offsets[b]
        if oa + sg.tensors[a].nbytes <= ob or ob + sg.tensors[b].nbytes <= oa:
            continue
        if (a, b) in aliases or (b, a) in aliases or first[a] > last[b] or first[b] > last[a]:
            continue
        made = {t: pi.times[o.index] for o in sg.operators for t in o.outputs}
        old, new = (a, b) if first[a] < first[b] or (first[a] == first[b] and made.get(b) == first[b]) else (b, a)
        slot = first[new]
        assert last[old] == slot, f"tensors {a} and {b} share bytes while both live"
        c = chain_at.get(slot)
        if c is not None:
            assert c.overlap is not None and c.output == new and c.overlap[0] == old
            assert plan.offsets[new] - plan.offsets[old] == c.overlap[1]
            assert rows.overlap_ok(c.stages, old, c.overlap[1])
        else:
            ops = [o for o in sg.operators if pi.times[o.index] == slot]
            assert len(ops) == 1 and new in ops[0].outputs and old in ops[0].inputs


@pytest.mark.parametrize("rel", CHAINED)
def test_chained_models_run_ops_after_their_inputs(rel: str) -> None:
    info = load_model(MODELS_DIR / rel)
    sg = info.main
    rp = build(info, "m").subgraphs[0].rows
    assert rp is not None and sorted(rp.order) == list(range(len(sg.operators)))
    pos = {op: k for k, op in enumerate(rp.order)}
    producer = {t: op.index for op in sg.operators for t in op.outputs}
    for op in sg.operators:
        assert all(pos[producer[t]] < pos[op.index] for t in op.inputs if t in producer)
    for c in rp.chains:   # a chain's ops run back to back, each inner tensor read by one later stage only
        assert list(c.ops) == list(rp.order[pos[c.ops[0]]: pos[c.ops[0]] + len(c.ops)])
        for k, s in enumerate(c.stages[:-1]):
            readers = [t for t in c.stages if k in (t.src, t.side_src)]
            assert len(readers) == 1 and readers[0].op > -1 and c.stages.index(readers[0]) > k
            assert [op.index for op in sg.operators if s.out in op.inputs] == [readers[0].op] and s.out not in sg.outputs
            assert (readers[0].main if readers[0].src == k else readers[0].side) == s.out
        for s in c.stages:   # rows from memory only from tensors the chain does not compute
            assert s.src >= 0 or s.main not in c.inner
        assert c.caps == rows.window_caps(c.stages)
    # a constant score never changes the model
    unchanged = rows.decide(sg, lambda p: (0, ()))
    assert unchanged.chains == () and unchanged.order == tuple(range(len(sg.operators)))


def test_a_tensor_read_by_two_ops_is_never_a_window() -> None:
    # resnet: the first block's output feeds the next block's 3x3 and its 1x1 shortcut
    info = load_model(MODELS_DIR / "mlperf_tiny/pretrainedResnet_quant.tflite")
    sg = info.main
    order = tuple(range(len(sg.operators)))
    add = next(op for op in sg.operators if op.op == "ADD")
    users = [op.index for op in sg.operators if add.outputs[0] in op.inputs]
    assert len(users) == 2
    left = (rows.stage_of(sg, add, add.inputs[1]),)
    assert left[0] is not None
    assert rows._join(sg, left, users[0], None, order) is None
    assert rows._join(sg, left, users[1], None, order) is None
    # nor an ADD branch that something else reads too
    a, b = (rows.stage_of(sg, sg.operators[users[0]]),), (rows.stage_of(sg, sg.operators[users[1]]),)
    assert a[0] is not None and b[0] is not None
    assert rows._merge_at_add(sg, a, b, add.index, order) is None   # not the ADD they feed
    # while a tensor with one reader chains
    c1 = sg.operators[1]
    first = rows.stage_of(sg, c1)
    assert first is not None and rows._join(sg, (first,), 2, None, order) is not None
    rp = build(info, "m").subgraphs[0].rows
    assert rp is not None and rp.chains
    for c in rp.chains:
        assert add.outputs[0] not in c.inner


def test_planner_refuses_an_overlap_with_an_input_still_read_later() -> None:
    info = load_model(MODELS_DIR / "mlperf_tiny/pretrainedResnet_quant.tflite")
    sg = info.main
    # op 4 (3x3 stride 2 on the first block's output) with op 6 (the shortcut) reading the same
    # tensor afterwards: its proved overlap must not be used in the model's own order
    op4 = sg.operators[4]
    st = rows.stage_of(sg, op4)
    assert st is not None
    ch = rows.make_chain((st,), ((st.main, sg.tensors[st.main].nbytes),))
    assert ch.overlap is not None
    from tinygen.codegen.aot.planner import plan_subgraph

    pi = rows.plan_inputs(rows.RowsPlan(tuple(range(len(sg.operators))), (ch,)))
    p = plan_subgraph(sg, {}, {}, {}, set(), pi.times, pi.overlaps)
    a, b = p.offsets[st.main], p.offsets[st.out]
    assert a + sg.tensors[st.main].nbytes <= b or b + sg.tensors[st.out].nbytes <= a
    # moved after the shortcut, the overlap is taken
    order = list(range(len(sg.operators)))
    order.remove(6)
    order.insert(4, 6)
    pi = rows.plan_inputs(rows.RowsPlan(tuple(order), (ch,)))
    p = plan_subgraph(sg, {}, {}, {}, set(), pi.times, pi.overlaps)
    assert p.offsets[st.out] - p.offsets[st.main] == ch.overlap[1]


@pytest.mark.skipif(not HAVE_CC, reason="no host C compiler")
def test_fused_fully_connected_is_bit_exact_over_many_inputs() -> None:
    """micro_speech's conv -> FULLY_CONNECTED chain (the conv output never exists whole)."""
    info = load_model(MODELS_DIR / "micro_speech/micro_speech_quantized.tflite")
    m = build(info, "m")
    assert any("TG_ROWS_FC" in c for c in m.state.consts.values())
    assert m.ram_bytes <= 3400   # issue #10: half of TFLM's smallest arena (6,800 B)
    host = HostModel.build(info)
    ref = Reference.from_bytes(info.data)
    rng = np.random.default_rng(7)
    for _ in range(40):
        xs = [random_input(t, rng) for t in info.inputs]
        assert all(np.array_equal(w.reshape(-1), g.reshape(-1)) for w, g in zip(ref.run(*xs), host.invoke(*xs)))


@pytest.mark.parametrize("rel", CHAINED)
def test_ram_is_at_most_half_of_tflms_arena(rel: str) -> None:
    """Issue #10: AOT RAM at most half of TFLM's smallest arena (reference kernels, measured on
    the emulated Cortex-M4: tests/data/arena_truth.json)."""
    truth = json.loads((Path(__file__).parent / "data" / "arena_truth.json").read_text())
    tflm_arena = truth["models"][rel]["reference"]["min_arena"]
    sizes = aot.sizes(load_model(MODELS_DIR / rel))
    assert sizes.ram == build(load_model(MODELS_DIR / rel), "m").ram_bytes
    assert sizes.ram <= tflm_arena // 2


def test_chains_that_save_little_are_dropped() -> None:
    """A chain costs instructions: kept only where dropping it would grow the plan by more than
    1/16. kws_ref_model's best chain saves 2% (its plan stays the model's own), and vww_96_int8's
    first stride-1 depthwise keeps its own kernel (a single-op overlap of the first convolution
    gives nearly the same plan)."""
    kws = build(load_model(MODELS_DIR / "mlperf_tiny/kws_ref_model.tflite"), "m").subgraphs[0].rows
    assert kws is not None and kws.chains == ()
    info = load_model(MODELS_DIR / "mlperf_tiny/vww_96_int8.tflite")
    vww = build(info, "m").subgraphs[0].rows
    assert vww is not None and vww.chains
    dw_s1 = next(op.index for op in info.main.operators if op.op == "DEPTHWISE_CONV_2D" and op.options.strideH == 1)
    assert all(dw_s1 not in c.ops for c in vww.chains)


def test_incremental_generation_keeps_the_model_order() -> None:
    info = load_model(MODELS_DIR / "micro_speech/micro_speech_quantized.tflite")
    m = build(info, "m", row_pipelines=False)
    assert not any("tg_rows_run" in b for b in m.subgraphs[0].body)
    assert [int(b.split(":")[0].split("/* ")[1]) for b in m.subgraphs[0].body] == list(range(len(info.main.operators)))


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not installed")
def test_row_pipeline_sources_build_for_cortex_m4_with_werror(tmp_path: Path) -> None:
    files = aot.generate(load_model(MODELS_DIR / "mlperf_tiny/pretrainedResnet_quant.tflite"), "m")
    assert "tg_aot_rows.c" in files and "tg_aot_rows_add.c" in files
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    flags = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", "-std=c99",
             "-Wall", "-Wextra", "-Werror"]
    for c in ("tg_aot_rows.c", "tg_aot_rows_add.c", "tg_aot_rows_conv.c", "m_model.c"):
        subprocess.run([ARM_GCC, *flags, "-c", c, "-o", c + ".o"], check=True, capture_output=True, cwd=tmp_path)
