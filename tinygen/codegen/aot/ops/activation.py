"""SOFTMAX and LOGISTIC on int8: fixed-point exp/sigmoid with constants fixed at generation time."""

from __future__ import annotations

import math

from ..context import OpContext
from ..quant import f32, quantize_multiplier, round_away, wrap_i32
from . import Lowered, register


def _int8_io(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype == "int8" and ctx.output(0).dtype == "int8"


def _radius(int_bits: int, left_shift: int, total_bits: int = 31) -> int:
    """TFLM CalculateInputRadius: the largest input magnitude that does not saturate."""
    return math.floor(((1 << int_bits) - 1) * float(1 << (total_bits - int_bits)) / float(1 << left_shift))


def _int8_to_int16(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype == "int8" and ctx.output(0).dtype == "int16"


@register("SOFTMAX", when=_int8_io)
def softmax(ctx: OpContext) -> Lowered:
    return _softmax(ctx, -128, 1.0 / 256, "tg_softmax_s8")


@register("SOFTMAX", when=_int8_to_int16)
def softmax_s8_s16(ctx: OpContext) -> Lowered:
    """int8 in, int16 out (scale 1/65536, zero point -32768): the same fixed-point exp."""
    return _softmax(ctx, -32768, 1.0 / 65536, "tg_softmax_s8_s16")


def _softmax(ctx: OpContext, out_zp: int, out_scale: float, kernel: str) -> Lowered:
    out_q = ctx.output(0).quantization
    in_q = ctx.arg(0).quantization
    # CalculateSoftmaxParams: TF_LITE_ENSURE_NEAR(scale, target, 0.001 * target)
    if (in_q is None or out_q is None or out_q.zero_point[0] != out_zp
            or abs(out_q.scale[0] - out_scale) > 0.001 * out_scale):
        raise ctx.error(f"{ctx.output(0).dtype} output must have scale {out_scale} and zero point {out_zp}")
    beta = f32(ctx.options.beta) if ctx.options else 1.0
    real = min(beta * f32(in_q.scale[0]) * float(1 << (31 - 5)), float((1 << 31) - 1))
    mult, shift = quantize_multiplier(real)
    shape = ctx.arg(0).shape
    depth = shape[-1] if shape else 1
    params = ctx.struct("tg_softmax_params", {
        "rows": ctx.arg(0).num_elements // depth, "depth": depth,
        "beta_mult": mult, "beta_left_shift": shift, "diff_min": -_radius(5, shift),
    }, "softmax")
    return Lowered(f"{kernel}(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_softmax.c",))


@register("LOGISTIC", when=_int8_io, inplace=((0, 0),))
def logistic(ctx: OpContext) -> Lowered:
    in_q = ctx.arg(0).quantization
    out_q = ctx.output(0).quantization
    if in_q is None or out_q is None or out_q.zero_point[0] != -128:
        raise ctx.error("int8 output must have zero point -128")
    real = f32(in_q.scale[0]) * float(1 << (31 - 4))
    q, left_shift = math.frexp(real)
    params = ctx.struct("tg_logistic_params", {
        "size": ctx.arg(0).num_elements, "in_zero_point": in_q.zero_point[0],
        "range_radius": _radius(4, left_shift), "in_mult": wrap_i32(round_away(q * (1 << 31))),
        "in_left_shift": left_shift,
    }, "logistic")
    return Lowered(f"tg_logistic_s8(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_logistic.c",))
