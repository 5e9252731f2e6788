"""The static memory plan: every activation tensor gets an arena offset at generation time.

Lifetimes run over the op schedule (a tensor lives from the op that writes it to the last op that
reads it; subgraph inputs from the start, outputs to the end). Tensors that share bytes form one
buffer: RESHAPE-style aliases always, and an elementwise output with an input that dies at that op
when the lowering allows in-place. Buffers are placed greedily, largest first, at the lowest offset
that no buffer with an overlapping lifetime occupies (the same strategy as TFLM's greedy planner,
but with nothing else in the arena).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model import SubgraphInfo, TensorInfo


@dataclass
class Buffer:
    members: list[int]
    nbytes: int
    first: int
    last: int
    align: int = 4
    offset: int = -1
    scratch_of: int | None = None  # op index (or row-pipeline key) for scratch buffers
    rel: dict[int, int] = field(default_factory=dict)  # member -> byte offset inside the buffer


@dataclass(frozen=True)
class SubgraphPlan:
    offsets: dict[int, int]          # tensor index -> offset (relative to the subgraph's base)
    scratch: dict[int, int]          # op index (row pipelines: their key) -> offset
    size: int
    buffers: tuple[Buffer, ...] = field(default=(), compare=False)


def _planned(t: TensorInfo) -> bool:
    # variable tensors (SVDF/LSTM state) are persistent state buffers outside the arena
    return not t.is_constant and not t.is_variable and t.dtype != "resource" and t.nbytes > 0


def _align_of(t: TensorInfo) -> int:
    return 8 if t.dtype in ("int64", "uint64", "float64") else 4


def plan_subgraph(
    sg: SubgraphInfo,
    aliases: dict[int, tuple[int, int]],
    inplace: dict[int, tuple[tuple[int, int, bool], ...]],
    scratch: dict[int, int],
    skip: set[int] | None = None,
    times: dict[int, int] | None = None,
    overlaps: dict[int, tuple[int, int, int]] | None = None,
) -> SubgraphPlan:
    """Offsets for one subgraph. `aliases[op] = (out_tensor, in_tensor)` share bytes;
    `inplace[op]` lists (out, in, same_size_only) tensor pairs that may share bytes if `in` dies
    at `op`;
    `scratch[key]` is an op's scratch size; `skip` tensors live elsewhere (variable storage, row
    windows). `times` maps op indices (and scratch keys) to time slots when ops run in another
    order than the model's or share a slot (a row pipeline, rows.py); default: the op index.
    `overlaps[slot] = (out, in, delta)`: `out` may start `delta` bytes after `in` (a row pipeline
    proved that no byte of `in` is overwritten before its last read) if `in` dies at that slot."""
    n = len(sg.operators)
    tensors = sg.tensors
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def when(key: int) -> int:
        return times[key] if times is not None else key

    def touch(ti: int, t: int) -> None:
        if ti < 0 or not _planned(tensors[ti]) or (skip and ti in skip):
            return
        first[ti] = min(first.get(ti, t), t)
        last[ti] = max(last.get(ti, t), t)

    end = max((when(op.index) for op in sg.operators), default=0)
    for ti in sg.inputs:
        touch(ti, 0)
    for op in sg.operators:
        for ti in op.inputs + op.outputs + op.intermediates:
            touch(ti, when(op.index))
    for ti in sg.outputs:
        touch(ti, max(end, n - 1, 0) if times is None else end)
    io = {ti for ti in sg.inputs + sg.outputs if ti >= 0}

    # groups of tensors sharing one buffer, each member at a byte offset `rel` in the group
    group: dict[int, int] = {ti: ti for ti in first}
    members: dict[int, list[int]] = {ti: [ti] for ti in first}
    rel: dict[int, int] = {ti: 0 for ti in first}

    def join(a: int, b: int, b_rel: int) -> None:
        """Put b's group into a's, tensor b at a-group offset b_rel."""
        ga, gb = group[a], group[b]
        shift = b_rel - rel[b]
        for t in members.pop(gb):
            group[t] = ga
            rel[t] += shift
            members[ga].append(t)

    def span(g: int) -> tuple[int, int]:
        ms = members[g]
        return min(first[t] for t in ms), max(last[t] for t in ms)

    for out_t, in_t in aliases.values():
        if out_t in first and in_t in first and group[out_t] != group[in_t]:
            join(in_t, out_t, rel[in_t])

    for op_index in sorted(inplace, key=when):
        slot = when(op_index)
        for out_t, in_t, strict in inplace[op_index]:
            if out_t not in first or in_t not in first:
                continue
            ri, ro = group[in_t], group[out_t]
            if ri == ro:
                continue
            if any(group.get(t) == ri for t in io) or any(group.get(t) == ro for t in sg.inputs):
                continue
            if span(ri)[1] != slot or span(ro)[0] != slot:
                continue
            if strict and tensors[out_t].nbytes != tensors[in_t].nbytes:  # element i over element i
                continue
            join(in_t, out_t, rel[in_t])

    for slot, (out_t, in_t, delta) in sorted((overlaps or {}).items()):
        if out_t not in first or in_t not in first:
            continue
        ri, ro = group[in_t], group[out_t]
        if ri == ro or any(group.get(t) == ri for t in sg.outputs) or any(group.get(t) == ro for t in sg.inputs):
            continue
        if span(ri)[1] != slot or span(ro)[0] != slot:
            continue
        # whatever else of in's group is live at the slot must be in's own bytes (an alias)
        if any(last[t] == slot and t != in_t and (rel[t] != rel[in_t] or tensors[t].nbytes > tensors[in_t].nbytes)
               for t in members[ri]):
            continue
        if delta % 8 and any(_align_of(tensors[t]) > 4 for t in members[ri] + members[ro]):
            continue
        join(in_t, out_t, rel[in_t] + delta)

    all_buffers: list[Buffer] = []
    for g in sorted(members):
        ms = sorted(members[g])
        lo = min(rel[t] for t in ms)
        b = Buffer(ms, max(rel[t] + tensors[t].nbytes for t in ms) - lo, *span(g),
                   max(_align_of(tensors[t]) for t in ms))
        b.rel = {t: rel[t] - lo for t in ms}
        all_buffers.append(b)
    for key, nbytes in sorted(scratch.items()):
        if nbytes > 0:
            all_buffers.append(Buffer([], nbytes, when(key), when(key), 8, scratch_of=key))

    placed: list[Buffer] = []
    for b in sorted(all_buffers, key=lambda b: (-b.nbytes, b.first, b.members[:1])):
        offset = 0
        for other in sorted((o for o in placed if o.first <= b.last and b.first <= o.last),
                            key=lambda o: o.offset):
            if offset + b.nbytes <= other.offset:
                break
            offset = max(offset, other.offset + other.nbytes)
            offset = (offset + b.align - 1) // b.align * b.align
        b.offset = offset
        placed.append(b)

    offsets = {ti: b.offset + b.rel.get(ti, 0) for b in all_buffers for ti in b.members}
    scr = {b.scratch_of: b.offset for b in all_buffers if b.scratch_of is not None}
    size = max((b.offset + b.nbytes for b in all_buffers), default=0)
    return SubgraphPlan(offsets, scr, (size + 7) // 8 * 8, tuple(all_buffers))
