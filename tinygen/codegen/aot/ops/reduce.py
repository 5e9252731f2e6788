"""MEAN on int8 over a contiguous run of axes (the global-average-pool form models use)."""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import f32, quantize_multiplier
from . import Lowered, register


def mean_multiplier(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """TFLM's MEAN: in/out scale as Q31, with 1/count folded in by a 64-bit integer division."""
    mult, shift = quantize_multiplier(f32(in_scale) / f32(out_scale))
    if count <= 0:
        return mult, shift
    n = min(count.bit_length() - 1, 32, 31 + shift)
    return int((mult << n) // count) if n >= 0 else int((mult >> -n) // count), shift - n


def _int8(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype == "int8" and ctx.output(0).dtype == "int8"


@register("MEAN", when=_int8)
def mean(ctx: OpContext) -> Lowered:
    src, out = ctx.arg(0), ctx.output(0)
    if src.quantization is None or out.quantization is None:
        raise ctx.error("int8 MEAN needs quantized input and output")
    rank = len(src.shape)
    axes = sorted({int(a) % rank for a in ctx.array(ctx.arg(1)).reshape(-1)})
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        raise ctx.error(f"MEAN over non-adjacent axes {axes} is not supported")
    if not axes:
        axes = []
    outer = int(np.prod(src.shape[: axes[0]])) if axes else src.num_elements
    reduce_n = int(np.prod([src.shape[a] for a in axes])) if axes else 1
    inner = int(np.prod(src.shape[axes[-1] + 1:])) if axes else 1
    mult, shift = mean_multiplier(src.quantization.scale[0], out.quantization.scale[0], reduce_n)
    params = ctx.struct("tg_mean_params", {
        "outer": outer, "reduce": reduce_n, "inner": inner,
        "in_zero_point": src.quantization.zero_point[0], "out_zero_point": out.quantization.zero_point[0],
        "mult": mult, "shift": shift,
    }, "mean")
    return Lowered(f"tg_mean_s8(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_reduce.c",))
