"""Quantized elementwise ops: int8 ADD and MUL (with broadcasting), QUANTIZE and DEQUANTIZE."""

from __future__ import annotations

import numpy as np

from ..context import TG_DTYPES, OpContext
from ..quant import activation_range, f32, quantize_multiplier, requantize
from . import Lowered, register
from .nn import all_fast, fold_offset, rq_table


def _all_int8(ctx: OpContext) -> bool:
    ins = [ctx.input(0), ctx.input(1)]
    return all(t is not None and t.dtype == "int8" and t.quantization for t in ins) and ctx.output(0).dtype == "int8"


def broadcast_fields(ctx: OpContext) -> dict[str, object]:
    """Output shape and per-input element strides (0 along broadcast axes), right-aligned to 6-D."""
    a, b, o = ctx.arg(0).shape, ctx.arg(1).shape, ctx.output(0).shape
    if tuple(a) == tuple(b) == tuple(o) or (ctx.arg(0).num_elements == ctx.arg(1).num_elements
                                             == ctx.output(0).num_elements):
        return {"broadcast": 0, "dims": 1}
    dims = len(o)
    if dims > 6:
        raise ctx.error("broadcasting over more than 6 dimensions")

    def strides(shape: tuple[int, ...]) -> list[int]:
        shape = (1,) * (dims - len(shape)) + tuple(shape)
        st, acc = [0] * dims, 1
        for d in range(dims - 1, -1, -1):
            st[d] = 0 if shape[d] == 1 and o[d] != 1 else acc
            acc *= shape[d]
        return st

    def pad(v: list[int] | tuple[int, ...]) -> list[int]:
        return list(v) + [0] * (6 - len(v))
    return {"broadcast": 1, "dims": dims, "out_shape": pad(o), "in1_stride": pad(strides(a)),
            "in2_stride": pad(strides(b))}


@register("ADD", when=_all_int8, inplace=((0, 0), (0, 1)))
def add(ctx: OpContext) -> Lowered:
    q1, q2, qo = ctx.quant(ctx.arg(0)), ctx.quant(ctx.arg(1)), ctx.quant(ctx.output(0))
    s1, s2, so = f32(q1.scale[0]), f32(q2.scale[0]), f32(qo.scale[0])
    left_shift = 20
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * so))
    act = activation_range(ctx.options.fusedActivationFunction if ctx.options else 0, qo.scale[0], qo.zero_point[0])
    fields = broadcast_fields(ctx)
    if not fields["broadcast"]:
        # every int8 input value's shifted and scaled term, as TFLM computes it per element
        def table(off: int, m: int, sh: int) -> str:
            return ctx.const_array(np.array([requantize((x + off) << left_shift, m, sh) for x in range(-128, 128)], np.int32),
                                   "int32_t", "addt")
        folded = fold_offset([sho], qo.zero_point[0])
        lut = ctx.struct("tg_add_lut_params", {
            "size": ctx.output(0).num_elements, "t1": table(-q1.zero_point[0], m1, sh1), "t2": table(-q2.zero_point[0], m2, sh2),
            "rq": rq_table(ctx, [mo], [sho], folded), "fast": all_fast([sho]), "out_offset": qo.zero_point[0] - folded,
            "act_min": act[0], "act_max": act[1],
        }, "add")
        return Lowered(f"tg_add_lut_s8(&{lut}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", ("tg_aot_elementwise.c",))
    params = ctx.struct("tg_add_params", {
        "size": ctx.output(0).num_elements, "in1_offset": -q1.zero_point[0], "in2_offset": -q2.zero_point[0],
        "left_shift": left_shift, "in1_mult": m1, "in1_shift": sh1, "in2_mult": m2, "in2_shift": sh2,
        "out_mult": mo, "out_shift": sho, "out_offset": qo.zero_point[0], "act_min": act[0], "act_max": act[1],
        **fields,
    }, "add")
    return Lowered(f"tg_add_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", ("tg_aot_elementwise.c",))


@register("MUL", when=_all_int8, inplace=((0, 0), (0, 1)))
def mul(ctx: OpContext) -> Lowered:
    q1, q2, qo = ctx.quant(ctx.arg(0)), ctx.quant(ctx.arg(1)), ctx.quant(ctx.output(0))
    m, sh = quantize_multiplier(f32(q1.scale[0]) * f32(q2.scale[0]) / f32(qo.scale[0]))
    act = activation_range(ctx.options.fusedActivationFunction if ctx.options else 0, qo.scale[0], qo.zero_point[0])
    params = ctx.struct("tg_mul_params", {
        "size": ctx.output(0).num_elements, "in1_offset": -q1.zero_point[0], "in2_offset": -q2.zero_point[0],
        "out_offset": qo.zero_point[0], "out_mult": m, "out_shift": sh, "act_min": act[0], "act_max": act[1],
        **broadcast_fields(ctx),
    }, "mul")
    return Lowered(f"tg_mul_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", ("tg_aot_elementwise.c",))


_REQ_TYPES = ("int8", "uint8", "int16", "int32")


def _quantized_in(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype in _REQ_TYPES and t.quantization is not None


@register("QUANTIZE", when=lambda ctx: _quantized_in(ctx) and ctx.output(0).dtype in _REQ_TYPES,
          inplace=((0, 0),))
def quantize(ctx: OpContext) -> Lowered:
    i, o = ctx.arg(0), ctx.output(0)
    qi, qo = ctx.quant(i), ctx.quant(o)
    m, sh = quantize_multiplier(f32(qi.scale[0]) / f32(qo.scale[0]))
    params = ctx.struct("tg_requant_params", {
        "size": i.num_elements, "in_zero_point": qi.zero_point[0],
        "out_zero_point": qo.zero_point[0], "mult": m, "shift": sh,
        "in_type": TG_DTYPES[i.dtype], "out_type": TG_DTYPES[o.dtype],
    }, "requant")
    return Lowered(f"tg_requantize(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_elementwise.c",))


@register("DEQUANTIZE", when=lambda ctx: _quantized_in(ctx) and ctx.output(0).dtype == "float32")
def dequantize(ctx: OpContext) -> Lowered:
    i = ctx.arg(0)
    qi = ctx.quant(i)
    if qi.per_channel:
        raise ctx.error("per-channel DEQUANTIZE is not supported")
    params = ctx.struct("tg_dequant_params", {
        "size": i.num_elements, "zero_point": qi.zero_point[0], "in_type": TG_DTYPES[i.dtype],
        "scale": f32(qi.scale[0]),
    }, "dequant")
    return Lowered(f"tg_dequantize(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_elementwise.c",))
