"""TFLM's GreedyMemoryPlanner (memory_planner/greedy_memory_planner.cc @ 90b983c), step for step.

The planner places every non-persistent buffer (activations and kernel scratch buffers) in the
arena head. Buffers are taken largest first; each goes at the lowest offset where it does not
overlap, in time, any buffer already placed. Ties keep TFLM's order exactly: the C++ code fills
its sort array from the end, then bubble-sorts by size (stable), so among equal sizes the buffer
added *last* is placed first. Reproducing that order matters: a different tie-break can change
the plan's total by hundreds of bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

# TFLM's planner working memory per buffer: BufferRequirements (4 ints) + sizes_sorted (int) +
# ids_sorted (int) + ListEntry (3 ints) + buffer_offsets (int). All ints, so ABI-independent.
PLANNER_BYTES_PER_BUFFER = 16 + 4 + 4 + 12 + 4

ONLINE = -1  # kOnlinePlannedBuffer


@dataclass(frozen=True)
class Buffer:
    """One planned buffer: size already aligned up to 16, lifetime in allocation scopes."""

    size: int
    first: int
    last: int
    offline_offset: int = ONLINE


def plan(buffers: list[Buffer]) -> tuple[list[int], int]:
    """Offsets per buffer (same order as given) and the head size the plan needs."""
    n = len(buffers)
    if n == 0:
        return [], 0
    offsets = [-1] * n
    # CalculateOffsetsIfNeeded: offline buffers first (in order), online ones filled from the tail.
    ids: list[int] = [0] * n
    sizes: list[int] = [0] * n
    head, tail = 0, n
    for i, b in enumerate(buffers):
        if b.offline_offset == ONLINE:
            tail -= 1
            sizes[tail], ids[tail] = b.size, i
        else:
            sizes[head], ids[head] = b.size, i
            offsets[i] = b.offline_offset
            head += 1
    # ReverseSortInPlace is a stable bubble sort, descending by size: Python's sort is stable too.
    order = sorted(range(head, n), key=lambda k: -sizes[k])
    ids[head:] = [ids[k] for k in order]

    placed: list[tuple[int, int]] = []  # (offset, buffer id), kept sorted by offset like the list
    first_id = ids[0]
    if buffers[first_id].offline_offset == ONLINE:
        offsets[first_id] = 0
    placed.append((offsets[first_id], first_id))
    for i in range(1, n):
        bid = ids[i]
        want = buffers[bid]
        if want.offline_offset == ONLINE:
            candidate = 0
            for off, other in placed:  # ascending offsets, as NextSimultaneouslyActiveBuffer walks
                o = buffers[other]
                if o.first > want.last or want.first > o.last:
                    continue  # not alive at the same time
                if off - candidate >= want.size:
                    break  # the gap before this buffer is big enough
                candidate = max(candidate, off + o.size)
        else:
            candidate = want.offline_offset
        offsets[bid] = candidate
        _insert_sorted(placed, candidate, bid)
    total = max(offsets[i] + buffers[i].size for i in range(n))
    return offsets, total


def _insert_sorted(placed: list[tuple[int, int]], offset: int, bid: int) -> None:
    # TFLM inserts after every entry whose offset is <= the new one (strict '>' test), except
    # that a new smallest offset goes in front of the head.
    if placed and placed[0][0] > offset:
        placed.insert(0, (offset, bid))
        return
    k = 0
    while k + 1 < len(placed) and not placed[k + 1][0] > offset:
        k += 1
    placed.insert(k + 1, (offset, bid))
