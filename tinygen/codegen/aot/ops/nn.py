"""Weighted and pooling ops on int8 tensors: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pools."""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import F32, activation_range, compute_padding, f32, quantize_multiplier, wrap_i32
from . import Lowered, register


def _int8(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype == "int8" and ctx.output(0).dtype == "int8"


def _qparams(ctx: OpContext, i: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    t = ctx.input(i) if i >= 0 else ctx.output(0)
    if t is None or t.quantization is None:
        raise ctx.error(f"tensor {'output' if i < 0 else f'input {i}'} is not quantized")
    return t.quantization.scale, t.quantization.zero_point


def _out_size(in_size: int, k: int, stride: int, dil: int, same: bool) -> int:
    eff = (k - 1) * dil + 1
    return (in_size + stride - 1) // stride if same else (in_size + stride - eff) // stride


def _per_channel(ctx: OpContext, channels: int) -> tuple[str, str]:
    """Q31 multipliers and shifts per output channel: input_scale * filter_scale / output_scale."""
    in_s = _qparams(ctx, 0)[0][0]
    f_s = _qparams(ctx, 1)[0]
    out_s = _qparams(ctx, -1)[0][0]
    mults, shifts = [], []
    for c in range(channels):
        s = f_s[c] if len(f_s) > 1 else f_s[0]
        m, sh = quantize_multiplier(f32(in_s) * f32(s) / f32(out_s))
        mults.append(m)
        shifts.append(sh)
    return (ctx.const_array(np.array(mults, np.int32), "int32_t", "mult"),
            ctx.const_array(np.array(shifts, np.int32), "int32_t", "shift"))


def _bias(ctx: OpContext, channels: int) -> np.ndarray:
    b = ctx.input(2)
    if b is None:
        return np.zeros(channels, np.int64)
    if b.dtype != "int32":
        raise ctx.error(f"{b.dtype} bias is not supported (int32 only)")
    return ctx.array(b).astype(np.int64).reshape(-1)


def _folded(bias: np.ndarray, w: np.ndarray, in_offset: int) -> np.ndarray:
    """bias + in_offset * sum(weights) per channel, wrapped to int32 like the device accumulator."""
    sums = w.reshape(w.shape[0], -1).astype(np.int64).sum(axis=1)
    return np.array([wrap_i32(int(b) + in_offset * int(s)) for b, s in zip(bias, sums)], np.int32)


def _check_filter(ctx: OpContext) -> np.ndarray:
    w = ctx.input(1)
    if w is None or w.dtype != "int8" or not w.is_constant:
        raise ctx.error("weights must be constant int8")
    if any(z != 0 for z in _qparams(ctx, 1)[1]):
        raise ctx.error("weights with a non-zero zero point are not supported")
    return ctx.array(w)


@register("CONV_2D", when=_int8)
def conv_2d(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _check_filter(ctx)
    n, ih, iw, ic = ctx.input(0).shape
    oc, kh, kw, fic = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, kh, o.strideH, o.dilationHFactor, same)
    ow2 = _out_size(iw, kw, o.strideW, o.dilationWFactor, same)
    in_zp = _qparams(ctx, 0)[1][0]
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    mult, shift = _per_channel(ctx, oc)
    bias = _bias(ctx, oc)
    params = ctx.struct("tg_conv_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "filter_in_c": fic, "stride_h": o.strideH, "stride_w": o.strideW,
        "dil_h": o.dilationHFactor, "dil_w": o.dilationWFactor,
        "pad_h": compute_padding(ih, kh, o.strideH, o.dilationHFactor, oh2, same),
        "pad_w": compute_padding(iw, kw, o.strideW, o.dilationWFactor, ow2, same),
        "in_offset": -in_zp, "out_offset": out_zp[0], "act_min": act[0], "act_max": act[1],
        "mult": mult, "shift": shift,
        "bias": ctx.const_array(np.array([wrap_i32(int(b)) for b in bias], np.int32), "int32_t", "bias"),
        "bias_folded": ctx.const_array(_folded(bias, w, -in_zp), "int32_t", "biasf"),
    }, "conv")
    return Lowered(f"tg_conv_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});",
                   ("tg_aot_conv.c", "tg_aot_dot.c"))


@register("DEPTHWISE_CONV_2D", when=_int8)
def depthwise_conv_2d(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _check_filter(ctx)
    n, ih, iw, ic = ctx.input(0).shape
    _, kh, kw, oc = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, kh, o.strideH, o.dilationHFactor, same)
    ow2 = _out_size(iw, kw, o.strideW, o.dilationWFactor, same)
    in_zp = _qparams(ctx, 0)[1][0]
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    mult, shift = _per_channel(ctx, oc)
    bias = _bias(ctx, oc)
    # weights as [oc, taps] for the folded bias; the kernel reads them in the model's [taps, oc]
    folded = _folded(bias, np.ascontiguousarray(w.reshape(kh * kw, oc).T), -in_zp)
    params = ctx.struct("tg_dwconv_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "depth_mult": oc // ic, "k_h": kh, "k_w": kw, "stride_h": o.strideH, "stride_w": o.strideW,
        "dil_h": o.dilationHFactor, "dil_w": o.dilationWFactor,
        "pad_h": compute_padding(ih, kh, o.strideH, o.dilationHFactor, oh2, same),
        "pad_w": compute_padding(iw, kw, o.strideW, o.dilationWFactor, ow2, same),
        "in_offset": -in_zp, "out_offset": out_zp[0], "act_min": act[0], "act_max": act[1],
        "mult": mult, "shift": shift,
        "bias": ctx.const_array(np.array([wrap_i32(int(b)) for b in bias], np.int32), "int32_t", "bias"),
        "bias_folded": ctx.const_array(folded, "int32_t", "biasf"),
    }, "dwconv")
    scratch = ctx.scratch(4 * oc)
    return Lowered(
        f"tg_dwconv_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)}, (int32_t *){scratch});",
        ("tg_aot_dwconv.c",))


@register("FULLY_CONNECTED", when=_int8)
def fully_connected(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _check_filter(ctx)
    out_depth, in_depth = w.shape[0], w.shape[-1]
    out_t = ctx.output(0)
    batches = out_t.num_elements // out_depth
    in_s, in_zp = _qparams(ctx, 0)
    f_s = _qparams(ctx, 1)[0]
    out_s, out_zp = _qparams(ctx, -1)
    per_channel = len(f_s) > 1
    if per_channel:
        mult, shift = _per_channel(ctx, out_depth)
    else:
        # TFLM multiplies the two float32 scales in float before widening to double
        m, sh = quantize_multiplier(float(F32(in_s[0]) * F32(f_s[0])) / f32(out_s[0]))
        mult = ctx.const_array(np.array([m], np.int32), "int32_t", "mult")
        shift = ctx.const_array(np.array([sh], np.int32), "int32_t", "shift")
    act = activation_range(o.fusedActivationFunction if o else 0, out_s[0], out_zp[0])
    bias = _bias(ctx, out_depth)
    params = ctx.struct("tg_fc_params", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth,
        "out_offset": out_zp[0], "act_min": act[0], "act_max": act[1],
        "mult": mult, "shift": shift, "per_channel": int(per_channel),
        "bias_folded": ctx.const_array(_folded(bias, w.reshape(out_depth, -1), -in_zp[0]), "int32_t", "biasf"),
    }, "fc")
    return Lowered(f"tg_fc_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});",
                   ("tg_aot_fc.c", "tg_aot_dot.c"))


def _pool(ctx: OpContext, kernel: str) -> Lowered:
    o = ctx.options
    n, ih, iw, c = ctx.input(0).shape
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, o.filterHeight, o.strideH, 1, same)
    ow2 = _out_size(iw, o.filterWidth, o.strideW, 1, same)
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    params = ctx.struct("tg_pool_params", {
        "batches": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": o.filterHeight, "k_w": o.filterWidth, "stride_h": o.strideH, "stride_w": o.strideW,
        "pad_h": compute_padding(ih, o.filterHeight, o.strideH, 1, oh2, same),
        "pad_w": compute_padding(iw, o.filterWidth, o.strideW, 1, ow2, same),
        "act_min": act[0], "act_max": act[1],
    }, "pool")
    return Lowered(f"{kernel}(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_pool.c",))


@register("AVERAGE_POOL_2D", when=_int8)
def average_pool_2d(ctx: OpContext) -> Lowered:
    return _pool(ctx, "tg_avgpool_s8")


@register("MAX_POOL_2D", when=_int8)
def max_pool_2d(ctx: OpContext) -> Lowered:
    return _pool(ctx, "tg_maxpool_s8")
