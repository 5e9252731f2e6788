"""int16x8 lowerings (int16 activations, int8 weights): CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, ADD, SUB, MUL, LEAKY_RELU; plus int8 SUB and LEAKY_RELU, which share the kernels.

Constants follow TFLM's Prepare for these types (kernels/conv_common.cc, fully_connected_common.cc,
add_common.cc, sub_common.cc, mul_common.cc, leaky_relu_common.cc at the pinned commit). The
kernels are in firmware/aot/tg_aot_s16.c; tg_aot_s16.h describes the two requantization modes.
PAD, STRIDED_SLICE, CONCATENATION, RESHAPE and QUANTIZE are element-size generic (data.py,
elementwise.py) and serve int16 tensors already.
"""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import activation_range, compute_padding, f32, fc_multiplier, quantize_multiplier
from . import Lowered, register
from .elementwise import broadcast_fields

_SRC = ("tg_aot_s16.c",)
_HDR = ("tg_aot_s16.h",)
INT16_MIN, INT16_MAX = -32768, 32767
_TENSOR_INT32 = 2  # schema TensorType.INT32


def _types(ctx: OpContext, act: str, n_act_inputs: int = 1) -> bool:
    ins = [ctx.input(i) for i in range(n_act_inputs)]
    return all(t is not None and t.dtype == act and t.quantization for t in ins) and ctx.output(0).dtype == act


def _weighted_s16(ctx: OpContext) -> bool:
    w = ctx.input(1)
    return _types(ctx, "int16") and w is not None and w.dtype == "int8"


def _scales(ctx: OpContext, t_index: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    t = ctx.arg(t_index) if t_index >= 0 else ctx.output(0)
    q = ctx.quant(t)
    return q.scale, q.zero_point


def _per_channel_multipliers(ctx: OpContext, channels: int) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams: double(in) * double(filter[c]) / double(out)."""
    in_s = _scales(ctx, 0)[0][0]
    f_s = _scales(ctx, 1)[0]
    out_s = _scales(ctx, -1)[0][0]
    pairs = [quantize_multiplier(f32(in_s) * f32(f_s[c] if len(f_s) > 1 else f_s[0]) / f32(out_s))
             for c in range(channels)]
    return [m for m, _ in pairs], [s for _, s in pairs]


def _rq(ctx: OpContext, mults: list[int], shifts: list[int], fused: int, bias_opt_type: int) -> str:
    """A tg_rq_s16 initialiser: requantization mode chosen from the bias the way TFLM's Eval does."""
    channels = len(mults)
    b = ctx.input(2)
    if b is not None and b.dtype not in ("int64", "int32"):
        raise ctx.error(f"{b.dtype} bias is not supported (int64 or int32)")
    acc64 = (b.dtype == "int64") if b is not None else bias_opt_type != _TENSOR_INT32
    if acc64:
        # MultiplyByQuantizedMultiplier(int64_t): the multiplier reduced to Q15, one rounding shift
        mults = [(m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF for m in mults]
        shifts = [15 - s for s in shifts]
    per_channel = int(len(set(zip(mults, shifts))) > 1)
    if not per_channel:
        mults, shifts = mults[:1], shifts[:1]
    out_s, out_zp = _scales(ctx, -1)
    act = activation_range(fused, out_s[0], out_zp[0], INT16_MIN, INT16_MAX)
    bias64 = bias32 = "NULL"
    if b is not None:
        data = ctx.array(b).reshape(-1)
        if data.size != channels:
            raise ctx.error(f"bias has {data.size} values for {channels} channels")
        if acc64:
            bias64 = ctx.const_array(data.astype(np.int64), "int64_t", "bias")
        else:
            bias32 = ctx.const_array(data.astype(np.int32), "int32_t", "bias")
    return (f"{{ .mult = {ctx.const_array(np.array(mults, np.int32), 'int32_t', 'mult')}, "
            f".shift = {ctx.const_array(np.array(shifts, np.int32), 'int32_t', 'shift')}, "
            f".bias64 = {bias64}, .bias32 = {bias32}, .per_channel = {per_channel}, .acc64 = {int(acc64)}, "
            f".out_offset = {out_zp[0]}, .act_min = {act[0]}, .act_max = {act[1]} }}")


def _out_size(in_size: int, k: int, stride: int, dil: int, same: bool) -> int:
    eff = (k - 1) * dil + 1
    return (in_size + stride - 1) // stride if same else (in_size + stride - eff) // stride


def _weights(ctx: OpContext) -> np.ndarray:
    w = ctx.arg(1)
    if not w.is_constant:
        raise ctx.error("weights must be constant int8")
    return ctx.array(w)


def _spatial(ctx: OpContext, kh: int, kw: int) -> dict[str, int]:
    o = ctx.options
    _, ih, iw, _ = ctx.arg(0).shape
    same = o.padding == 0
    oh = _out_size(ih, kh, o.strideH, o.dilationHFactor, same)
    ow = _out_size(iw, kw, o.strideW, o.dilationWFactor, same)
    return {
        "stride_h": o.strideH, "stride_w": o.strideW, "dil_h": o.dilationHFactor, "dil_w": o.dilationWFactor,
        "pad_h": compute_padding(ih, kh, o.strideH, o.dilationHFactor, oh, same),
        "pad_w": compute_padding(iw, kw, o.strideW, o.dilationWFactor, ow, same),
    }


@register("CONV_2D", when=_weighted_s16)
def conv_2d_s16(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _weights(ctx)
    n, ih, iw, ic = ctx.arg(0).shape
    oc, kh, kw, fic = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    if ic % fic or oc % (ic // fic):
        raise ctx.error(f"{ic} input channels do not split into groups of {fic}")
    mults, shifts = _per_channel_multipliers(ctx, oc)
    params = ctx.struct("tg_conv_s16_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "filter_in_c": fic, **_spatial(ctx, kh, kw),
        "rq": _rq(ctx, mults, shifts, o.fusedActivationFunction, getattr(o, "quantizedBiasType", 0)),
    }, "conv16")
    weights = ctx.const_array(w.reshape(-1), "int8_t", "w")
    scratch = "NULL" if fic != ic else f"(int16_t *){ctx.scratch(2 * kh * kw * ic)}"
    return Lowered(f"tg_conv_s16(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)}, {scratch});", _SRC, _HDR)


@register("DEPTHWISE_CONV_2D", when=_weighted_s16)
def depthwise_conv_2d_s16(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _weights(ctx)
    n, ih, iw, ic = ctx.arg(0).shape
    _, kh, kw, oc = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    b = ctx.input(2)
    if b is not None and b.dtype != "int64":
        raise ctx.error("int16 depthwise convolution needs an int64 bias (TFLM reads it as int64)")
    if oc % ic:
        raise ctx.error(f"{oc} output channels are not a multiple of {ic} input channels")
    mults, shifts = _per_channel_multipliers(ctx, oc)
    params = ctx.struct("tg_dwconv_s16_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "depth_mult": oc // ic, "k_h": kh, "k_w": kw, **_spatial(ctx, kh, kw),
        "rq": _rq(ctx, mults, shifts, o.fusedActivationFunction, 0),
    }, "dw16")
    weights = ctx.const_array(w.reshape(-1), "int8_t", "w")
    return Lowered(f"tg_dwconv_s16(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)});", _SRC, _HDR)


@register("FULLY_CONNECTED", when=_weighted_s16)
def fully_connected_s16(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _weights(ctx)
    out_depth, in_depth = w.shape[0], w.shape[-1]
    batches = ctx.output(0).num_elements // out_depth
    in_s, in_zp = _scales(ctx, 0)
    f_s, f_zp = _scales(ctx, 1)
    out_s = _scales(ctx, -1)[0]
    if len(f_s) > 1:
        mults, shifts = _per_channel_multipliers(ctx, out_depth)
    else:
        m, sh = fc_multiplier(in_s[0], f_s[0], out_s[0])
        mults, shifts = [m] * out_depth, [sh] * out_depth
    params = ctx.struct("tg_fc_s16_params", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth,
        "in_offset": -in_zp[0], "w_offset": -f_zp[0] if len(f_zp) == 1 else 0,
        "rq": _rq(ctx, mults, shifts, o.fusedActivationFunction if o else 0,
                  getattr(o, "quantizedBiasType", 0) if o else 0),
    }, "fc16")
    weights = ctx.const_array(w.reshape(-1), "int8_t", "w")
    return Lowered(f"tg_fc_s16(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)});", _SRC, _HDR)


def _add_sub_params(ctx: OpContext, left_shift: int, qmin: int, qmax: int) -> str:
    """ADD and SUB constants in double precision from the float32 scales. (sub_common.cc at the
    pinned commit divides in float; the PyPI interpreter tinygen verifies against computes in double,
    and only double matches it bit for bit, checked in tests/test_aot_s16.py.)"""
    q1, q2, qo = ctx.quant(ctx.arg(0)), ctx.quant(ctx.arg(1)), ctx.quant(ctx.output(0))
    s1, s2, so = f32(q1.scale[0]), f32(q2.scale[0]), f32(qo.scale[0])
    tm = 2 * max(s1, s2)
    r1, r2, ro = s1 / tm, s2 / tm, tm / ((1 << left_shift) * so)
    m1, sh1 = quantize_multiplier(r1)
    m2, sh2 = quantize_multiplier(r2)
    mo, sho = quantize_multiplier(ro)
    act = activation_range(ctx.options.fusedActivationFunction if ctx.options else 0, qo.scale[0],
                           qo.zero_point[0], qmin, qmax)
    return ctx.struct("tg_add_params", {
        "size": ctx.output(0).num_elements, "in1_offset": -q1.zero_point[0], "in2_offset": -q2.zero_point[0],
        "left_shift": left_shift, "in1_mult": m1, "in1_shift": sh1, "in2_mult": m2, "in2_shift": sh2,
        "out_mult": mo, "out_shift": sho, "out_offset": qo.zero_point[0], "act_min": act[0], "act_max": act[1],
        **broadcast_fields(ctx),
    }, "addsub")


@register("ADD", when=lambda ctx: _types(ctx, "int16", 2), inplace=((0, 0), (0, 1)))
def add_s16(ctx: OpContext) -> Lowered:
    params = _add_sub_params(ctx, 15, INT16_MIN, INT16_MAX)
    return Lowered(f"tg_add_s16(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", _SRC, _HDR)


@register("SUB", when=lambda ctx: _types(ctx, "int16", 2), inplace=((0, 0), (0, 1)))
def sub_s16(ctx: OpContext) -> Lowered:
    params = _add_sub_params(ctx, 15, INT16_MIN, INT16_MAX)
    return Lowered(f"tg_sub_s16(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", _SRC, _HDR)


@register("SUB", when=lambda ctx: _types(ctx, "int8", 2), inplace=((0, 0), (0, 1)))
def sub_s8(ctx: OpContext) -> Lowered:
    params = _add_sub_params(ctx, 20, -128, 127)
    return Lowered(f"tg_sub_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", _SRC, _HDR)


@register("MUL", when=lambda ctx: _types(ctx, "int16", 2), inplace=((0, 0), (0, 1)))
def mul_s16(ctx: OpContext) -> Lowered:
    q1, q2, qo = ctx.quant(ctx.arg(0)), ctx.quant(ctx.arg(1)), ctx.quant(ctx.output(0))
    if q1.zero_point[0] or q2.zero_point[0] or qo.zero_point[0]:
        raise ctx.error("int16 MUL needs zero points of 0 (TFLM requires them)")
    m, sh = quantize_multiplier(f32(q1.scale[0]) * f32(q2.scale[0]) / f32(qo.scale[0]))
    act = activation_range(ctx.options.fusedActivationFunction if ctx.options else 0, qo.scale[0], 0,
                           INT16_MIN, INT16_MAX)
    params = ctx.struct("tg_mul_params", {
        "size": ctx.output(0).num_elements, "in1_offset": 0, "in2_offset": 0, "out_offset": 0,
        "out_mult": m, "out_shift": sh, "act_min": act[0], "act_max": act[1], **broadcast_fields(ctx),
    }, "mul16")
    return Lowered(f"tg_mul_s16(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});", _SRC, _HDR)


@register("LEAKY_RELU", when=lambda ctx: _types(ctx, "int16") or _types(ctx, "int8"), inplace=((0, 0),))
def leaky_relu(ctx: OpContext) -> Lowered:
    i, o = ctx.arg(0), ctx.output(0)
    qi, qo = ctx.quant(i), ctx.quant(o)
    alpha = f32(ctx.options.alpha if ctx.options else 0.2)
    # In double from the float32 values: the PyPI interpreter does this (leaky_relu_common.cc at the
    # pinned commit multiplies in float first, which differs in the last bit for some scales).
    ma, sa = quantize_multiplier(f32(qi.scale[0]) * alpha / f32(qo.scale[0]))
    mi, si = quantize_multiplier(f32(qi.scale[0]) / f32(qo.scale[0]))
    lo, hi = (INT16_MIN, INT16_MAX) if i.dtype == "int16" else (-128, 127)
    params = ctx.struct("tg_leaky_relu_params", {
        "size": i.num_elements, "elem_bytes": 2 if i.dtype == "int16" else 1,
        "in_zero_point": qi.zero_point[0], "out_zero_point": qo.zero_point[0],
        "mult_identity": mi, "shift_identity": si, "mult_alpha": abs(ma), "shift_alpha": sa,
        "alpha_negative": int(ma < 0), "q_min": lo, "q_max": hi,
    }, "lrelu")
    return Lowered(f"tg_leaky_relu(&{params}, {ctx.inp(0)}, {ctx.out(0)});", _SRC, _HDR)
