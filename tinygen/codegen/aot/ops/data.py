"""Data movement for any element size: RESHAPE/SQUEEZE/EXPAND_DIMS (aliases), CONCATENATION,
STRIDED_SLICE, SPLIT, SPLIT_V, PAD, PADV2. These serve the int16/int32 tensors of the audio
frontend as well as int8 activations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ....model import TensorInfo
from ..context import OpContext
from . import Lowered, register

_SRC = ("tg_aot_data.c",)


def _eb(ctx: OpContext, t: TensorInfo | None = None) -> int:
    t = t or ctx.output(0)
    return int(t.nbytes // max(1, t.num_elements)) if t.num_elements else 1


def _copy(ctx: OpContext) -> Lowered:
    """Output = input bytes (used when the input is a constant and cannot be aliased)."""
    return Lowered(f"memcpy({ctx.out(0)}, {ctx.inp(0)}, {ctx.output(0).nbytes});")


for _op in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
    register(_op, alias=True)(_copy)


def _axis(ctx: OpContext, axis: int, rank: int) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise ctx.error(f"axis {axis} out of range for rank {rank}")
    return a


def _blocks(ctx: OpContext, full_shape: tuple[int, ...], axis: int) -> tuple[int, int]:
    """(outer count, bytes per unit along `axis`) of a tensor viewed as [outer, axis, inner]."""
    outer = int(np.prod(full_shape[:axis])) if axis else 1
    inner = int(np.prod(full_shape[axis + 1:])) if axis + 1 < len(full_shape) else 1
    return outer, inner * _eb(ctx)


@register("CONCATENATION")
def concatenation(ctx: OpContext) -> Lowered:
    out = ctx.output(0)
    for i in range(len(ctx.op.inputs)):
        t = ctx.input(i)
        if t is not None and t.quantization and out.quantization and (
                t.quantization.scale != out.quantization.scale or t.quantization.zero_point != out.quantization.zero_point):
            raise ctx.error("inputs with a different quantization than the output are not supported")
    if ctx.options and ctx.options.fusedActivationFunction:
        raise ctx.error("fused activation on CONCATENATION is not supported")
    axis = _axis(ctx, ctx.options.axis if ctx.options else 0, len(out.shape))
    outer, unit = _blocks(ctx, out.shape, axis)
    out_row = out.shape[axis] * unit
    lines, pos = [], 0
    for i in range(len(ctx.op.inputs)):
        t = ctx.arg(i)
        row = t.shape[axis] * unit
        lines.append(f"tg_copy_blocks((uint8_t *){ctx.out(0)} + {pos}, {out_row}, {ctx.inp(i)}, {row}, {row}, {outer});")
        pos += row
    return Lowered("\n".join(lines), _SRC)


def _split(ctx: OpContext, value_index: int, axis: int, sizes: list[int]) -> Lowered:
    src = ctx.arg(value_index)
    axis = _axis(ctx, axis, len(src.shape))
    outer, unit = _blocks(ctx, src.shape, axis)
    in_row = src.shape[axis] * unit
    lines, pos = [], 0
    for i, n in enumerate(sizes):
        row = n * unit
        lines.append(f"tg_copy_blocks({ctx.out(i)}, {row}, (const uint8_t *){ctx.inp(value_index)} + {pos}, {in_row}, {row}, {outer});")
        pos += row
    return Lowered("\n".join(lines), _SRC)


def _int_array(ctx: OpContext, tensor: TensorInfo, what: str) -> np.ndarray:
    """A constant integer argument (TFLM reads SPLIT's axis and SPLIT_V's sizes as int32/int64)."""
    if tensor.dtype not in ("int32", "int64"):
        raise ctx.error(f"its {what} tensor '{tensor.name}' is {tensor.dtype}, not int32")
    values = ctx.array(tensor).reshape(-1)
    if values.size == 0:
        raise ctx.error(f"its {what} tensor '{tensor.name}' is empty")
    return values


@register("SPLIT_V")
def split_v(ctx: OpContext) -> Lowered:
    src = ctx.arg(0)
    sizes = [int(v) for v in _int_array(ctx, ctx.arg(1), "size_splits")]
    axis = int(_int_array(ctx, ctx.arg(2), "axis")[0])
    a = _axis(ctx, axis, len(src.shape))
    if -1 in sizes:
        sizes[sizes.index(-1)] = src.shape[a] - (sum(sizes) + 1)
    return _split(ctx, 0, axis, sizes)


@register("SPLIT")
def split(ctx: OpContext) -> Lowered:
    src = ctx.arg(1)
    axis = int(_int_array(ctx, ctx.arg(0), "axis")[0])
    a = _axis(ctx, axis, len(src.shape))
    n = len(ctx.op.outputs)
    return _split(ctx, 1, axis, [src.shape[a] // n] * n)


def slice_axes(ctx: OpContext) -> tuple[list[int], list[int], list[int]]:
    """(start, count, step) per input axis, following TFLite's strided-slice rules."""
    o = ctx.options
    shape = ctx.arg(0).shape
    begin = [int(v) for v in ctx.array(ctx.arg(1)).reshape(-1)]
    end = [int(v) for v in ctx.array(ctx.arg(2)).reshape(-1)]
    stride_t = ctx.input(3)
    strides = [int(v) for v in ctx.array(stride_t).reshape(-1)] if stride_t is not None else [1] * len(begin)
    if o and (o.ellipsisMask or o.newAxisMask or getattr(o, "offset", False)):
        raise ctx.error("ellipsis_mask, new_axis_mask and offset are not supported")
    bm, em, sm = (o.beginMask, o.endMask, o.shrinkAxisMask) if o else (0, 0, 0)
    starts, counts, steps = [], [], []
    for i, d in enumerate(shape):
        if i >= len(begin):
            starts.append(0)
            counts.append(d)
            steps.append(1)
            continue
        s = strides[i]
        if s == 0:
            raise ctx.error("stride 0")
        lo, hi = (0, d) if s > 0 else (-1, d - 1)
        if bm & (1 << i):
            start = 0 if s > 0 else d - 1
        else:
            start = begin[i] + d if begin[i] < 0 else begin[i]
        start = min(max(start, lo), hi)
        if sm & (1 << i):
            stop, s = start + 1, 1
        elif em & (1 << i):
            stop = d if s > 0 else -1
        else:
            stop = end[i] + d if end[i] < 0 else end[i]
            stop = min(max(stop, lo), hi)
        count = max(0, math.ceil((stop - start) / s))
        starts.append(start)
        counts.append(count)
        steps.append(s)
    return starts, counts, steps


@register("STRIDED_SLICE")
def strided_slice(ctx: OpContext) -> Lowered:
    src = ctx.arg(0)
    starts, counts, steps = slice_axes(ctx)
    if int(np.prod(counts)) != ctx.output(0).num_elements:
        raise ctx.error(f"slice takes {int(np.prod(counts))} elements but the output has {ctx.output(0).num_elements}")
    dims = len(src.shape)
    if dims > 6:
        raise ctx.error("more than 6 dimensions")
    in_stride = [int(np.prod(src.shape[d + 1:])) for d in range(dims)]
    # merge the inner axes taken whole (and then one step-1 axis) into one contiguous run
    run, base = 1, 0
    while starts and steps[-1] == 1 and starts[-1] == 0 and counts[-1] == src.shape[len(starts) - 1]:
        run *= counts.pop()
        starts.pop(), steps.pop(), in_stride.pop()
    if starts and steps[-1] == 1:
        base = starts[-1] * in_stride[-1]
        run *= counts.pop()
        starts.pop(), steps.pop(), in_stride.pop()
    def pad(v: list[int]) -> list[int]:
        return list(v) + [0] * (6 - len(v))
    params = ctx.struct("tg_slice_params", {
        "dims": len(starts), "elem_bytes": _eb(ctx), "start": pad(starts), "stop_count": pad(counts),
        "step": pad(steps), "in_stride": pad(in_stride), "base": base, "run_bytes": run * _eb(ctx),
    }, "slice")
    return Lowered(f"tg_strided_slice(&{params}, {ctx.inp(0)}, {ctx.out(0)});", _SRC)


def _pad(ctx: OpContext) -> Lowered:
    src, out = ctx.arg(0), ctx.output(0)
    pads = ctx.array(ctx.arg(1)).reshape(-1, 2)
    dims = len(src.shape)
    if dims > 6 or dims == 0:
        raise ctx.error("PAD needs 1 to 6 dimensions")
    eb = _eb(ctx)
    if ctx.input(2) is not None:
        value = ctx.array(ctx.arg(2)).reshape(-1)[:1]
    else:
        zp = out.quantization.zero_point[0] if out.quantization else 0
        value = np.array([zp], dtype=np.dtype(out.dtype))
    val = ctx.const_array(np.frombuffer(value.astype(np.dtype(out.dtype)).tobytes(), np.uint8), "uint8_t", "padv")
    def pad6(v: Any) -> list[int]:
        return [int(x) for x in v] + [0] * (6 - len(v))
    params = ctx.struct("tg_pad_params", {
        "dims": dims, "elem_bytes": eb, "in_shape": pad6(src.shape), "out_shape": pad6(out.shape),
        "before": pad6(pads[:, 0]), "pad_value": val,
    }, "pad")
    return Lowered(f"tg_pad(&{params}, {ctx.inp(0)}, {ctx.out(0)});", _SRC)


register("PAD")(_pad)
register("PADV2")(_pad)


@register("TRANSPOSE")
def transpose(ctx: OpContext) -> Lowered:
    """A permutation is a strided gather: output axis k walks input axis perm[k] (tg_strided_slice
    with unit steps); an unpermuted innermost axis stays one contiguous run."""
    src = ctx.arg(0)
    perm = [int(p) for p in ctx.array(ctx.arg(1)).reshape(-1)]
    dims = len(src.shape)
    if sorted(perm) != list(range(dims)) or dims > 6:
        raise ctx.error(f"permutation {perm} of a {dims}-D tensor")
    stride = [int(np.prod(src.shape[d + 1:])) for d in range(dims)]
    counts = [src.shape[p] for p in perm]
    in_stride = [stride[p] for p in perm]
    run = 1
    while perm and perm[-1] == len(perm) - 1:  # trailing axes kept in place: one memcpy run
        run *= counts.pop()
        in_stride.pop()
        perm.pop()

    def pad(v: list[int]) -> list[int]:
        return list(v) + [0] * (6 - len(v))

    params = ctx.struct("tg_slice_params", {
        "dims": len(counts), "elem_bytes": _eb(ctx), "start": pad([0] * len(counts)), "stop_count": pad(counts),
        "step": pad([1] * len(counts)), "in_stride": pad(in_stride), "base": 0, "run_bytes": run * _eb(ctx),
    }, "transpose")
    return Lowered(f"tg_strided_slice(&{params}, {ctx.inp(0)}, {ctx.out(0)});", _SRC)
