"""Row pipelines: run chains of ops row by row so intermediate tensors never exist whole in RAM.

A conv's output row r reads a bounded window of its input rows, an elementwise ADD's row r reads
row r of each input, and a FULLY_CONNECTED consumes its input in order. A chain of such ops
(each feeding only the next) runs demand-driven from its last op (firmware/aot/tg_aot_rows.c):
each intermediate tensor lives only as the window of rows its consumer still reads, and the
chain's output may overlap the chain's input (or an ADD's other input) wherever the rows written
are never read again. Every decision is proved here from the shapes by simulating exactly the order
tg_rows_run computes rows in: the window sizes, and for an overlap every byte written against every
byte still to be read. A single op is a chain too: a convolution whose output is written a few
rows behind the input rows it reads (the input dies at the op) needs only input plus a few rows.

`decide` picks the chains, and an op order (moving an op up to right after its inputs'
producers), that lower the memory plan; nothing is chosen unless the plan gets smaller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

from ...model import OperatorInfo, SubgraphInfo, TensorInfo
from .context import OpContext
from .quant import F32, activation_range, compute_padding, f32, quantize_multiplier

# ops a row pipeline can run (a FULLY_CONNECTED only as the last stage)
ROW_KINDS = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dwconv", "ADD": "add", "FULLY_CONNECTED": "fc"}
MAX_STAGES = 8  # TG_ROWS_MAX_STAGES
PRUNE_SLACK = 16  # a chain stays only if dropping it would grow the plan by more than 1/16
SOURCES = ("tg_aot_rows.c", "tg_aot_dot.c")
ROW_SOURCE = {"conv": "tg_aot_rows_conv.c", "dwconv": "tg_aot_rows_dwconv.c", "add": "tg_aot_rows_add.c", "fc": "tg_aot_rows.c"}
HEADER = "tg_aot_rows.h"
# ops whose place in the schedule does not matter (no state, no side effects)
MOVABLE = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "RESHAPE", "SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "QUANTIZE", "DEQUANTIZE", "CONCATENATION", "PAD",
    "MEAN", "TRANSPOSE", "STRIDED_SLICE", "SQUEEZE", "EXPAND_DIMS",
})


@dataclass(frozen=True)
class Stage:
    op: int
    kind: str                  # conv, dwconv, add, fc
    main: int                  # input tensor the rows come from
    out: int
    in_rows: int
    in_row_bytes: int
    out_rows: int              # fc: the input rows it consumes
    out_row_bytes: int
    stride: int = 1
    pad: int = 0
    extent: int = 1
    side: int = -1             # ADD's other input tensor
    side_first: bool = False
    # where the rows come from inside the chain: the index of the stage producing the row input
    # (-1: the whole tensor `main` in memory) and the ADD's other input (-1: `side` in memory)
    src: int = -1
    side_src: int = -1

    def window(self, r: int) -> tuple[int, int, int]:
        """(top, lo, hi): input rows [lo, hi] output row r reads; top = the unclipped first."""
        top = r * self.stride - self.pad
        return top, max(0, top), min(self.in_rows - 1, top + self.extent - 1)


@dataclass(frozen=True)
class Chain:
    stages: tuple[Stage, ...]
    caps: tuple[int, ...]                   # window rows of every stage but the last
    overlap: tuple[int, int] | None = None  # (tensor, delta): the output starts delta bytes after it

    @property
    def ops(self) -> tuple[int, ...]:
        return tuple(s.op for s in self.stages)

    @property
    def inputs(self) -> tuple[int, ...]:
        """Memory tensors the chain reads rows of."""
        ts = [s.main for s in self.stages if s.src < 0] + [s.side for s in self.stages if s.side >= 0 and s.side_src < 0]
        return tuple(dict.fromkeys(ts))

    @property
    def output(self) -> int:
        return self.stages[-1].out

    @property
    def inner(self) -> tuple[int, ...]:
        """Tensors that only exist as windows."""
        return tuple(s.out for s in self.stages[:-1])

    def window_bytes(self) -> list[int]:
        return [c * s.out_row_bytes for s, c in zip(self.stages, self.caps)]

    def scratch_bytes(self) -> int:
        """Windows (each word aligned) and the FC accumulators."""
        total = sum((b + 3) // 4 * 4 for b in self.window_bytes())
        last = self.stages[-1]
        return total + (4 * last.out_row_bytes if last.kind == "fc" else 0)


def _nhwc(t: TensorInfo) -> bool:
    return len(t.shape) == 4 and t.shape[0] == 1 and t.dtype == "int8" and not t.is_constant


def stage_of(sg: SubgraphInfo, op: OperatorInfo, main: int | None = None) -> Stage | None:
    """The op as a row stage reading tensor `main` (default: input 0), or None."""
    kind = ROW_KINDS.get(op.op)
    if kind is None or not op.outputs or not op.inputs:
        return None
    ts = sg.tensors
    out = ts[op.outputs[0]]
    if kind in ("conv", "dwconv"):
        x, w = ts[op.inputs[0]], ts[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
        if not (_nhwc(x) and _nhwc(out)) or w is None or not w.is_constant or (main is not None and main != x.index):
            return None
        o = op.options
        if kind == "conv" and w.shape[3] != x.shape[3]:
            return None  # grouped
        kh = w.shape[1]
        eff = (kh - 1) * o.dilationHFactor + 1
        same = o.padding == 0
        oh = (x.shape[1] + o.strideH - 1) // o.strideH if same else (x.shape[1] + o.strideH - eff) // o.strideH
        if oh != out.shape[1]:
            return None
        if o.dilationHFactor != 1:
            return None  # rows of a dilated window are not contiguous: kept whole
        pad = compute_padding(x.shape[1], kh, o.strideH, o.dilationHFactor, oh, same)
        st = Stage(op.index, kind, x.index, out.index, x.shape[1], x.nbytes // x.shape[1], out.shape[1],
                   out.nbytes // out.shape[1], o.strideH, pad, eff)
        # every output row must read at least one real input row
        if any(st.window(r)[1] > st.window(r)[2] for r in range(st.out_rows)):
            return None
        return st
    if kind == "add":
        if len(op.inputs) != 2 or not _nhwc(out):
            return None
        a, b = ts[op.inputs[0]], ts[op.inputs[1]]
        if not (_nhwc(a) and _nhwc(b)) or a.shape != out.shape or b.shape != out.shape:
            return None
        if main is None:
            main = a.index
        if main not in (a.index, b.index) or a.index == b.index:
            return None
        side = b.index if main == a.index else a.index
        rb = out.nbytes // out.shape[1]
        return Stage(op.index, kind, main, out.index, out.shape[1], rb, out.shape[1], rb, side=side,
                     side_first=side == a.index)
    # fc: consumes the producer's rows in order
    if main is None or op.inputs[0] != main:
        return None
    x, w = ts[main], ts[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    if not _nhwc(x) or w is None or not w.is_constant or out.dtype != "int8" or len(w.shape) != 2:
        return None
    if w.shape[1] != x.num_elements or out.num_elements != w.shape[0]:
        return None
    return Stage(op.index, kind, main, out.index, x.shape[1], x.nbytes // x.shape[1], x.shape[1], w.shape[0])


# ---------------------------------------------------------------------------------------------
# The schedule tg_rows_run follows, simulated

def _run_order(stages: tuple[Stage, ...], visit: Callable[[int, int, tuple[int, int, int]], None],
               append: Callable[[int, int, list[int], list[int]], None] | None = None) -> None:
    """tg_rows_run's order of row computations (tg_aot_rows.c): `visit(k, i, window)` per row of
    stage k, `append(k, i, first, count)` when a row joins stage k's window (first/count: the
    window's rows before it joins)."""
    n = len(stages)
    produced, first, count = [0] * n, [0] * n, [0] * n

    def drop(k: int, below: int) -> None:
        if below > first[k]:
            d = min(below - first[k], count[k])
            first[k] += d
            count[k] -= d

    def pull(k: int, j: int) -> None:
        g = stages[k]
        while produced[k] <= j and produced[k] < g.out_rows:
            i = produced[k]
            win = g.window(i)
            if g.src >= 0:
                drop(g.src, win[1])
                pull(g.src, win[2])
            if g.side_src >= 0:
                drop(g.side_src, i)
                pull(g.side_src, i)
            if k < n - 1:
                if append is not None:
                    append(k, i, first, count)
                if count[k] == 0:
                    first[k] = i
                count[k] += 1
            visit(k, i, win)
            produced[k] += 1

    pull(n - 1, stages[-1].out_rows - 1)


def window_caps(stages: tuple[Stage, ...]) -> tuple[int, ...]:
    """Rows each intermediate window must hold: the most rows live in it at once (the C runner
    compacts a window to its start when the next row would not fit, so that is enough)."""
    caps = [0] * len(stages)

    def append(k: int, i: int, first: list[int], count: list[int]) -> None:
        caps[k] = max(caps[k], count[k] + 1)

    _run_order(stages, lambda k, i, w: None, append)
    return tuple(caps[:-1])


def _reads_writes(stages: tuple[Stage, ...]) -> tuple[list[list[tuple[int, int, int]]], list[tuple[int, int, int] | None]]:
    """Per row computation, in tg_rows_run's order: the bytes of memory tensors it reads and the
    chain output bytes it writes ((lo, hi, tensor read at the same bytes element-wise or -1))."""
    n = len(stages)
    reads: list[list[tuple[int, int, int]]] = []
    writes: list[tuple[int, int, int] | None] = []

    def visit(k: int, i: int, win: tuple[int, int, int]) -> None:
        g = stages[k]
        rd: list[tuple[int, int, int]] = []
        if g.src < 0:
            rd.append((g.main, win[1] * g.in_row_bytes, (win[2] + 1) * g.in_row_bytes))
        if g.side >= 0 and g.side_src < 0:
            rd.append((g.side, i * g.out_row_bytes, (i + 1) * g.out_row_bytes))
        wr = None
        if k == n - 1 and g.kind != "fc":
            wr = (i * g.out_row_bytes, (i + 1) * g.out_row_bytes, g.side if g.kind == "add" and g.side_src < 0 else -1)
        reads.append(rd)
        writes.append(wr)

    _run_order(stages, visit)
    if stages[-1].kind == "fc":
        reads.append([])
        writes.append((0, stages[-1].out_row_bytes, -1))
    return reads, writes


@dataclass(frozen=True)
class _Access:
    """The chain's accesses to one memory tensor, in tg_rows_run's order."""
    reads: tuple[tuple[tuple[int, int], ...], ...]          # per event: byte ranges of the tensor read
    writes: tuple[tuple[int, int, bool] | None, ...]        # per event: output bytes, ADD in place over it
    lo_after: tuple[int, ...]                               # lowest byte read from event e on
    hi_after: tuple[int, ...]                               # end of the highest range read from event e on


_BIG = 1 << 60


def _access(stages: tuple[Stage, ...], tensor: int) -> _Access:
    reads, writes = _reads_writes(stages)
    mine = tuple(tuple((a, b) for t, a, b in rd if t == tensor) for rd in reads)
    wr = tuple(None if w is None else (w[0], w[1], w[2] == tensor) for w in writes)
    n = len(mine)
    lo, hi = [_BIG] * (n + 1), [-_BIG] * (n + 1)
    for e in range(n - 1, -1, -1):
        lo[e] = min([lo[e + 1], *(a for a, _ in mine[e])])
        hi[e] = max([hi[e + 1], *(b for _, b in mine[e])])
    return _Access(mine, wr, tuple(lo), tuple(hi))


def overlap_ok(stages: tuple[Stage, ...], tensor: int, delta: int, acc: _Access | None = None) -> bool:
    """True when the chain output placed `delta` bytes after `tensor`'s start never overwrites a
    byte of `tensor` that a later (or the same) row computation still reads. The one exception is
    an ADD reading exactly the element range it writes (tg_add_s8 reads element i before writing
    it, the planner's ordinary in-place rule)."""
    acc = acc or _access(stages, tensor)
    for e, w in enumerate(acc.writes):
        if w is None:
            continue
        w0, w1 = w[0] + delta, w[1] + delta
        if not (w1 <= acc.lo_after[e + 1] or w0 >= acc.hi_after[e + 1]):
            return False
        for a, b in acc.reads[e]:
            if w1 <= a or w0 >= b:
                continue
            if not (w[2] and (a, b) == (w0, w1)):
                return False
    return True


def best_overlap(stages: tuple[Stage, ...], candidates: tuple[tuple[int, int], ...]) -> tuple[int, int] | None:
    """(tensor, delta) among `candidates` ((tensor, its bytes)) that makes the union of that tensor
    and the chain output smallest, or None when no overlap beats keeping them apart."""
    last = stages[-1]
    out_bytes = last.out_row_bytes * (1 if last.kind == "fc" else last.out_rows)
    best: tuple[int, tuple[int, int]] | None = None
    for tensor, nbytes in candidates:
        acc = _access(stages, tensor)
        deltas = {0, -out_bytes}
        for e, w in enumerate(acc.writes):
            if w is not None:
                deltas.update(x for x in (acc.lo_after[e + 1] - w[1], acc.hi_after[e + 1] - w[0]) if abs(x) < _BIG // 2)
                deltas.update(a - w[1] for a, _ in acc.reads[e])
        for d in sorted(deltas):
            for dd in sorted({d // 4 * 4, (d + 3) // 4 * 4}):
                union = max(nbytes, dd + out_bytes) - min(0, dd)
                if union >= nbytes + out_bytes or (best is not None and union >= best[0]):
                    continue
                if overlap_ok(stages, tensor, dd, acc):
                    best = (union, (tensor, dd))
    return best[1] if best else None


@lru_cache(maxsize=4096)
def make_chain(stages: tuple[Stage, ...], candidates: tuple[tuple[int, int], ...]) -> Chain:
    return Chain(stages, window_caps(stages), best_overlap(stages, candidates))


# ---------------------------------------------------------------------------------------------
# Decisions

@dataclass(frozen=True)
class RowsPlan:
    order: tuple[int, ...]        # op indices in the order they run
    chains: tuple[Chain, ...] = ()

    def chain_of(self, op: int) -> Chain | None:
        return next((c for c in self.chains if op in c.ops), None)


Evaluate = Callable[[RowsPlan], tuple[int, tuple[int, ...]]]


def _consumers(sg: SubgraphInfo, t: int, order: tuple[int, ...]) -> list[int]:
    return [i for i in order if t in sg.operators[i].inputs]


def _shift(st: Stage, by: int) -> Stage:
    return replace(st, src=st.src + by if st.src >= 0 else -1, side_src=st.side_src + by if st.side_src >= 0 else -1)


def _join(sg: SubgraphInfo, left: tuple[Stage, ...], head_op: int, right: tuple[Stage, ...] | None,
          order: tuple[int, ...]) -> tuple[Stage, ...] | None:
    """One chain running `left` and then op `head_op` (or its chain `right`), when left's output
    is read by exactly one op of it -- as its row input or as an ADD's other input -- and is no
    model output: that stage then takes the rows from left instead of from memory."""
    last = left[-1]
    if right is None:
        st = stage_of(sg, sg.operators[head_op], last.out)
        if st is None:
            return None
        right = (st,)
    if last.kind == "fc" or len(left) + len(right) > MAX_STAGES or last.out in sg.outputs:
        return None
    users = _consumers(sg, last.out, order)
    if len(users) != 1 or list(sg.operators[users[0]].inputs).count(last.out) != 1:
        return None
    n = len(left)
    shifted = [_shift(r, n) for r in right]
    for k, r in enumerate(right):
        if r.op != users[0]:
            continue
        if r.src < 0 and r.main == last.out:
            shifted[k] = replace(shifted[k], src=n - 1)
        elif r.kind == "add" and r.side == last.out and r.side_src < 0:
            shifted[k] = replace(shifted[k], side_src=n - 1)
        elif r.kind == "add" and r.src < 0 and r.side == last.out:
            return None
        else:
            return None
        return (*left, *shifted)
    return None


def _merge_at_add(sg: SubgraphInfo, a: tuple[Stage, ...], b: tuple[Stage, ...], add_op: int,
                  order: tuple[int, ...]) -> tuple[Stage, ...] | None:
    """One chain computing both inputs of an ADD row by row (branches `a` and `b`, each read only
    by the ADD) and the ADD from their rows: a residual block with a computed shortcut."""
    add = sg.operators[add_op]
    ra, rb = a[-1], b[-1]
    if len(a) + len(b) + 1 > MAX_STAGES or ra.kind == "fc" or rb.kind == "fc":
        return None
    if {ra.out, rb.out} != set(add.inputs[:2]) or ra.out == rb.out:
        return None
    for r in (ra, rb):
        if r.out in sg.outputs or _consumers(sg, r.out, order) != [add_op]:
            return None
    st = stage_of(sg, add, ra.out)
    if st is None or st.side != rb.out or st.out_rows != rb.out_rows:
        return None
    st = replace(st, src=len(a) - 1, side_src=len(a) + len(b) - 1)
    return (*a, *(_shift(x, len(a)) for x in b), st)


def _candidates(sg: SubgraphInfo, stages: tuple[Stage, ...]) -> tuple[tuple[int, int], ...]:
    """Tensors the chain output may overlap: the memory tensors it reads (the planner checks
    that the one chosen dies at the chain)."""
    ts = sg.tensors
    c = Chain(stages, ()).inputs
    return tuple(sorted((t, ts[t].nbytes) for t in c))


def decide(sg: SubgraphInfo, evaluate: Evaluate, max_ops: int = 400) -> RowsPlan:
    """Chains and an order that make `evaluate` (plan size, then the live-bytes profile) smaller."""
    order = tuple(op.index for op in sg.operators)
    plan = RowsPlan(order)
    if len(order) > max_ops or any(op.op not in MOVABLE and op.op not in ROW_KINDS for op in sg.operators):
        # ops with state keep the interpreter's order; chains only among pure ops is still fine,
        # but the model is left as it is to keep the reasoning simple
        return plan
    score = evaluate(plan)
    for _ in range(4 * len(order)):
        best: tuple[tuple[int, tuple[int, ...]], RowsPlan] | None = None
        for cand in _moves(sg, plan):
            s = evaluate(cand)
            if s < score and (best is None or s < best[0]):
                best = (s, cand)
        if best is None:
            break
        score, plan = best
    # A chain costs instructions (a kernel call per row, and its stages keep the general kernels):
    # keep only the chains without which the plan would grow by more than PRUNE_SLACK of its size.
    limit = score[0] + score[0] // PRUNE_SLACK
    changed = True
    while changed:
        changed = False
        for c in sorted(plan.chains, key=lambda c: (len(c.ops), c.ops)):
            others = tuple(x for x in plan.chains if x is not c)
            for smaller in [None, *_parts(sg, c)]:
                cand = replace(plan, chains=others + ((smaller,) if smaller is not None else ()))
                if evaluate(cand)[0] <= limit:
                    plan, changed = cand, True
                    break
            if changed:
                break
    return plan


def _parts(sg: SubgraphInfo, c: Chain) -> list[Chain]:
    """Shorter chains than a linear chain `c`: without its last stage, or without its first
    (fewest stages first)."""
    st = c.stages
    if len(st) < 2 or any(s.src != k - 1 or s.side_src >= 0 for k, s in enumerate(st)):
        return []
    out = []
    for k in range(1, len(st)):
        m = len(st) - k  # the tail's first stage now reads its rows from memory
        tail = (replace(st[m], src=-1), *(replace(s, src=s.src - m) for s in st[m + 1:]))
        for part in (st[:k], tail):
            if part[-1].kind == "fc" and len(part) == 1:
                continue
            out.append(make_chain(part, _candidates(sg, part)))
    return out


def _moves(sg: SubgraphInfo, plan: RowsPlan) -> list[RowsPlan]:
    out: list[RowsPlan] = []
    taken = {op for c in plan.chains for op in c.ops}
    # a new single-op chain (output overlapping its input)
    for i in plan.order:
        if i in taken:
            continue
        st = stage_of(sg, sg.operators[i])
        if st is None or st.kind == "fc":
            continue
        ch = make_chain((st,), _candidates(sg, (st,)))
        if ch.overlap is not None:
            out.append(replace(plan, chains=(*plan.chains, ch)))
    # two neighbours in the order joined into one chain (each a chain or a single op) when the
    # first one's output feeds only the second one's first op
    units: list[tuple[int, tuple[Stage, ...] | None]] = []   # (first op, chain stages or None)
    seen: set[int] = set()
    for i in plan.order:
        if i in seen:
            continue
        c = plan.chain_of(i)
        if c is not None:
            seen.update(c.ops)
        units.append((i, c.stages if c is not None else None))
    for (li, left), (ri, right) in zip(units, units[1:]):
        if left is None:
            st = stage_of(sg, sg.operators[li])
            if st is None:
                continue
            left = (st,)
        joined = _join(sg, left, ri, right, plan.order)
        if joined is None:
            continue
        ch = make_chain(joined, _candidates(sg, joined))
        rest = tuple(c for c in plan.chains if c.ops[0] not in (li, ri))
        out.append(replace(plan, chains=(*rest, ch)))
    # the two branches of an ADD (units right before it, in either order) and the ADD, as one chain
    for k in range(len(units) - 2):
        (ai, a_st), (bi, b_st), (add_i, add_st) = units[k], units[k + 1], units[k + 2]
        if add_st is not None or sg.operators[add_i].op != "ADD":
            continue
        branches: list[tuple[Stage, ...]] = []
        for i, st_ in ((ai, a_st), (bi, b_st)):
            if st_ is None:
                one = stage_of(sg, sg.operators[i])
                if one is None:
                    break
                st_ = (one,)
            branches.append(st_)
        if len(branches) != 2:
            continue
        add = sg.operators[add_i]
        first_b, second_b = (branches[0], branches[1]) if branches[0][-1].out == add.inputs[0] else (branches[1], branches[0])
        merged = _merge_at_add(sg, first_b, second_b, add_i, plan.order)
        if merged is None:
            continue
        ch = make_chain(merged, _candidates(sg, merged))
        rest = tuple(c for c in plan.chains if c.ops[0] not in (ai, bi) and not (set(c.ops) & {ai, bi}))
        start = min(plan.order.index(ai), plan.order.index(bi))
        order = list(plan.order)
        del order[start: order.index(add_i) + 1]
        order[start:start] = list(ch.ops)
        out.append(RowsPlan(tuple(order), (*rest, ch)))
    # an op moved up to right after the producers of its inputs
    pos = {op: k for k, op in enumerate(plan.order)}
    producer = {t: op.index for op in sg.operators for t in op.outputs}
    for i in plan.order:
        if i in taken or sg.operators[i].op not in MOVABLE:
            continue
        after = max((pos[producer[t]] for t in sg.operators[i].inputs if t in producer), default=-1)
        # a chain's ops stay together
        while after + 1 < pos[i] and (c := plan.chain_of(plan.order[after + 1])) is not None and plan.order[after + 1] != c.ops[0]:
            after += 1
        if after + 1 >= pos[i]:
            continue
        order = list(plan.order)
        order.remove(i)
        order.insert(after + 1, i)
        out.append(replace(plan, order=tuple(order)))
    return out


# ---------------------------------------------------------------------------------------------
# What the memory planner sees of a RowsPlan

@dataclass(frozen=True)
class PlanInputs:
    times: dict[int, int]                         # op index / chain scratch key -> time slot
    skip: frozenset[int]                          # tensors that only exist as windows
    overlaps: dict[int, tuple[int, int, int]]     # slot -> (out, in, delta)
    scratch: dict[int, int]                       # chain key -> window bytes
    chain_ops: frozenset[int]


def chain_key(k: int) -> int:
    """Scratch key of chain k (op indices are >= 0)."""
    return -1 - k


def plan_inputs(plan: RowsPlan) -> PlanInputs:
    times: dict[int, int] = {}
    slot = -1
    for i in plan.order:
        c = plan.chain_of(i)
        if c is None or not any(op in times for op in c.ops):
            slot += 1
        times[i] = slot
    overlaps: dict[int, tuple[int, int, int]] = {}
    scratch: dict[int, int] = {}
    for k, c in enumerate(plan.chains):
        times[chain_key(k)] = times[c.ops[0]]
        scratch[chain_key(k)] = c.scratch_bytes()
        if c.overlap is not None:
            overlaps[times[c.ops[0]]] = (c.output, c.overlap[0], c.overlap[1])
    return PlanInputs(times, frozenset(t for c in plan.chains for t in c.inner), overlaps, scratch,
                      frozenset(op for c in plan.chains for op in c.ops))


def share_scratch(plan: RowsPlan, scratch: dict[int, int]) -> dict[int, int]:
    """`scratch` with the kernel scratch of each chain's ops merged into one buffer, under the key
    of the first op that has any: the stages' kernel calls take turns, and a kernel's scratch only
    lives during one call."""
    out = dict(scratch)
    for c in plan.chains:
        keys = [op for op in c.ops if out.get(op, 0) > 0]
        if len(keys) > 1:
            out[keys[0]] = max(out.pop(k) if k != keys[0] else out[k] for k in keys)
    return out


# ---------------------------------------------------------------------------------------------
# C for a chain

_CALL = re.compile(r"^\s*(tg_\w+)\((.*)\);\s*$", re.S)
_SCRATCH = re.compile(r"@S(\d+):(\d+)@")
# the kernel calls a stage can be made of: kernel -> (stage kind, TG_ROWS_* constant)
_KERNEL_KIND = {"tg_conv_s8": ("conv", "TG_ROWS_CONV"), "tg_dwconv_s8": ("dwconv", "TG_ROWS_DWCONV"),
                "tg_add_s8": ("add", "TG_ROWS_ADD"), "tg_add_lut_s8": ("add", "TG_ROWS_ADD_LUT")}


class NotAChainCall(Exception):
    """An op's lowering is not a kernel call a row stage knows (the generator then plans the
    model without row pipelines)."""


def _split_args(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "([{"
        depth -= ch in ")]}"
        cur += ch
    out.append(cur.strip())
    return out


@dataclass(frozen=True)
class StageCode:
    """The pieces of an op's own lowering a chain stage calls its kernel with."""
    kind: str
    kind_c: str       # TG_ROWS_* constant
    params: str       # the parameter block's name
    weights: str      # C expression, or NULL
    scratch: tuple[int, int] | None  # (subgraph, op) of its scratch placeholder


def stage_code(code: str, op: str) -> StageCode:
    """Parse the single kernel call an op's lowering produced (tg_conv_s8(&p, in, w, out, scratch)
    and the like); NotAChainCall for anything else."""
    m = _CALL.match(code)
    kk = _KERNEL_KIND.get(m.group(1)) if m else None
    if m is None or kk is None:
        raise NotAChainCall(f"the lowering of {op} is not a kernel call a row stage knows: {code!r}")
    kind, kind_c = kk
    args = _split_args(m.group(2))
    if not args[0].startswith("&") or len(args) != (5 if kind in ("conv", "dwconv") else 4):
        raise NotAChainCall(f"unexpected arguments in {code!r}")
    scratch = None
    if kind in ("conv", "dwconv"):
        s = _SCRATCH.search(args[4])
        scratch = (int(s.group(1)), int(s.group(2))) if s else None
    return StageCode(kind, kind_c, args[0][1:], args[2] if kind in ("conv", "dwconv") else "NULL", scratch)


def lower_fc(ctx: OpContext) -> StageCode:
    """A FULLY_CONNECTED as the last stage of a chain: tg_fc_s8's parameters and requantization,
    weights plain [out_depth][in_depth] (tg_rows_run dots each input row with its columns)."""
    from .ops import nn

    o = ctx.options
    w = nn._check_filter(ctx)
    out_depth = w.shape[0]
    in_s, in_zp = nn._qparams(ctx, 0)
    f_s = nn._qparams(ctx, 1)[0]
    out_s, out_zp = nn._qparams(ctx, -1)
    if len(f_s) > 1:
        mults, shifts = nn._multipliers(ctx, out_depth)
    else:
        m, sh = quantize_multiplier(float(F32(in_s[0]) * F32(f_s[0])) / f32(out_s[0]))
        mults, shifts = [m] * out_depth, [sh] * out_depth
    act = activation_range(o.fusedActivationFunction if o else 0, out_s[0], out_zp[0])
    bias = nn._bias(ctx, out_depth)
    folded = nn._folded(bias, w.reshape(out_depth, -1), -in_zp[0])
    params = ctx.struct("tg_fc_params", {
        "batches": 1, "in_depth": w.shape[-1], "out_depth": out_depth,
        "rq": nn._rq(ctx, mults, shifts, folded, out_zp[0], act), "wide": 0,
    }, "fc")
    weights = ctx.const_array(w.reshape(out_depth, -1).astype("int8"), "int8_t", "w")
    return StageCode("fc", "TG_ROWS_FC", params, weights, None)


def chain_c(ctx: OpContext, chain: Chain, codes: list[StageCode], key: int, offsets: dict[int, int],
            scratch: dict[int, int]) -> str:
    """The C running `chain` once the memory plan is known: a stage table and tg_rows_run."""
    base = scratch.get(key, -1)  # no windows (one op): no chain scratch
    # the stages' kernels share one scratch buffer (share_scratch): the one that was planned
    shared = next((scratch[c.scratch[1]] for c in codes if c.scratch is not None and c.scratch[1] in scratch), -1)
    rows: list[dict[str, object]] = []
    for k, (s, c) in enumerate(zip(chain.stages, codes)):
        last = k == len(chain.stages) - 1
        win_bytes = 0 if last else chain.caps[k] * s.out_row_bytes
        rows.append({
            "kind": c.kind_c, "row": f"tg_rows_{c.kind}", "params": f"&{c.params}", "w": c.weights,
            "scratch": shared if c.scratch is not None else -1,
            "in_rows": s.in_rows, "in_row_bytes": s.in_row_bytes, "out_rows": s.out_rows,
            "out_row_bytes": s.out_row_bytes, "stride": s.stride, "pad": s.pad, "extent": s.extent,
            "src": s.src, "in": offsets[s.main] if s.src < 0 else -1, "side_src": s.side_src,
            "side": offsets[s.side] if s.side >= 0 and s.side_src < 0 else -1, "side_first": int(s.side_first),
            "out": offsets[s.out] if last else base, "cap": 0 if last else chain.caps[k],
            "acc": base if last and s.kind == "fc" else -1,
        })
        base += (win_bytes + 3) // 4 * 4
    table = ctx.struct_array("tg_rows_stage", rows, "rows", row_bytes=4 * 21)
    return f"tg_rows_run(A, {table}, {len(rows)});"
