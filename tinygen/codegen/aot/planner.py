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
    scratch_of: int | None = None  # op index for scratch buffers


@dataclass(frozen=True)
class SubgraphPlan:
    offsets: dict[int, int]          # tensor index -> offset (relative to the subgraph's base)
    scratch: dict[int, int]          # op index -> offset
    size: int
    buffers: tuple[Buffer, ...] = field(default=(), compare=False)


def _planned(t: TensorInfo) -> bool:
    # variable tensors (SVDF/LSTM state) are persistent state buffers outside the arena
    return not t.is_constant and not t.is_variable and t.dtype != "resource" and t.nbytes > 0


def _align_of(t: TensorInfo) -> int:
    return 8 if t.dtype in ("int64", "uint64", "float64") else 4


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def plan_subgraph(
    sg: SubgraphInfo,
    aliases: dict[int, tuple[int, int]],
    inplace: dict[int, tuple[tuple[int, int, bool], ...]],
    scratch: dict[int, int],
    skip: set[int] | None = None,
) -> SubgraphPlan:
    """Offsets for one subgraph. `aliases[op] = (out_tensor, in_tensor)` share bytes;
    `inplace[op]` lists (out, in, same_size_only) tensor pairs that may share bytes if `in` dies
    at `op`;
    `scratch[op]` is the op's scratch size; `skip` tensors live elsewhere (variable storage)."""
    n = len(sg.operators)
    tensors = sg.tensors
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(ti: int, t: int) -> None:
        if ti < 0 or not _planned(tensors[ti]) or (skip and ti in skip):
            return
        first[ti] = min(first.get(ti, t), t)
        last[ti] = max(last.get(ti, t), t)

    for ti in sg.inputs:
        touch(ti, 0)
    for op in sg.operators:
        for ti in op.inputs + op.outputs + op.intermediates:
            touch(ti, op.index)
    for ti in sg.outputs:
        touch(ti, max(n - 1, 0))
    io = {ti for ti in sg.inputs + sg.outputs if ti >= 0}

    groups = _Groups()
    for ti in first:
        groups.find(ti)
    for out_t, in_t in aliases.values():
        if out_t in first and in_t in first:
            groups.union(in_t, out_t)

    def span(root: int) -> tuple[int, int]:
        ms = [t for t in first if groups.find(t) == root]
        return min(first[t] for t in ms), max(last[t] for t in ms)

    for op_index in sorted(inplace):
        for out_t, in_t, strict in inplace[op_index]:
            if out_t not in first or in_t not in first:
                continue
            ri, ro = groups.find(in_t), groups.find(out_t)
            if ri == ro:
                continue
            if any(groups.find(t) == ri for t in io) or any(groups.find(t) == ro for t in sg.inputs):
                continue
            if span(ri)[1] != op_index or span(ro)[0] != op_index:
                continue
            if strict and tensors[out_t].nbytes != tensors[in_t].nbytes:  # element i over element i
                continue
            groups.union(ri, ro)

    buffers: dict[int, Buffer] = {}
    for ti in sorted(first):
        root = groups.find(ti)
        t = tensors[ti]
        b = buffers.get(root)
        if b is None:
            buffers[root] = Buffer([ti], t.nbytes, first[ti], last[ti], _align_of(t))
        else:
            b.members.append(ti)
            b.nbytes = max(b.nbytes, t.nbytes)
            b.first, b.last = min(b.first, first[ti]), max(b.last, last[ti])
            b.align = max(b.align, _align_of(t))
    all_buffers = list(buffers.values())
    for op_index, nbytes in sorted(scratch.items()):
        if nbytes > 0:
            all_buffers.append(Buffer([], nbytes, op_index, op_index, 8, scratch_of=op_index))

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

    offsets = {ti: b.offset for b in all_buffers for ti in b.members}
    scr = {b.scratch_of: b.offset for b in all_buffers if b.scratch_of is not None}
    size = max((b.offset + b.nbytes for b in all_buffers), default=0)
    return SubgraphPlan(offsets, scr, (size + 7) // 8 * 8, tuple(all_buffers))
