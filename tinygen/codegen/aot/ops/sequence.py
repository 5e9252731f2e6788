"""Recurrent and upsampling ops: SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM, TRANSPOSE_CONV.

Constants are computed the way the TFLM reference kernels' Prepare computes them (float32 scale
products widened to double, then QuantizeMultiplier); kernels are in firmware/aot/tg_aot_svdf.c,
tg_aot_lstm.c and tg_aot_transpose_conv.c (declared in tg_aot_seq.h). Recurrent state tensors
(`is_variable`) are persistent buffers that `OpContext.tensor` hands out.
"""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import (
    F32,
    activation_range,
    compute_padding,
    f32,
    quantize_multiplier,
    wrap_i32,
)
from . import Lowered, register

_HEADERS = ("tg_aot_seq.h",)


def _scale(ctx: OpContext, i: int) -> float:
    t = ctx.arg(i) if i >= 0 else ctx.output(0)
    return ctx.quant(t).scale[0]


def _zp(ctx: OpContext, i: int) -> int:
    t = ctx.arg(i) if i >= 0 else ctx.output(0)
    return int(ctx.quant(t).zero_point[0])


# ---- SVDF ---------------------------------------------------------------------------------------

def _svdf_int8(ctx: OpContext) -> bool:
    t, wt, st = ctx.input(0), ctx.input(2), ctx.input(4)
    return (t is not None and t.dtype == "int8" and wt is not None and st is not None
            and (wt.dtype, st.dtype) in (("int8", "int8"), ("int16", "int16")))


@register("SVDF", when=_svdf_int8)
def svdf(ctx: OpContext) -> Lowered:
    inp, wf, wt, state = ctx.arg(0), ctx.arg(1), ctx.arg(2), ctx.arg(4)
    if not (wf.is_constant and wt.is_constant):
        raise ctx.error("weights must be constant")
    if not state.is_variable:
        raise ctx.error("the activation state (input 4) must be a variable tensor")
    rank = int(ctx.options.rank)
    batches, input_size = inp.shape
    filters, memory = wt.shape
    st_s = _scale(ctx, 4)
    # PrepareSvdf: the products and quotients are float32, then widened to double
    m1, s1 = quantize_multiplier(float(F32(_scale(ctx, 0)) * F32(_scale(ctx, 1)) / F32(st_s)))
    m2, s2 = quantize_multiplier(float(F32(st_s) * F32(_scale(ctx, 2)) / F32(_scale(ctx, -1))))
    bias = ctx.input(3)
    params = ctx.struct("tg_svdf_params", {
        "batches": batches, "input_size": input_size, "filters": filters, "units": filters // rank,
        "rank": rank, "memory": memory, "in_zero_point": _zp(ctx, 0), "state_zero_point": _zp(ctx, 4),
        "out_zero_point": _zp(ctx, -1), "mult1": m1, "shift1": s1, "mult2": m2, "shift2": s2,
        "bias": ctx.const_tensor(bias, "int32_t") if bias is not None else "NULL",
    }, "svdf")
    kernel, t = ("tg_svdf_s8", "int8_t") if wt.dtype == "int8" else ("tg_svdf_s8_s16", "int16_t")
    scratch = ctx.scratch(4 * batches * filters)
    return Lowered(
        f"{kernel}(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.inp(2, t)}, {ctx.inp(4, t)}, "
        f"(int32_t *){scratch}, {ctx.out(0)});",
        ("tg_aot_svdf.c",), _HEADERS)


# ---- TRANSPOSE_CONV -------------------------------------------------------------------------------

def _tconv_types(ctx: OpContext) -> bool:
    x, w = ctx.input(2), ctx.input(1)
    return (x is not None and w is not None and w.dtype == "int8" and x.dtype in ("int8", "int16")
            and ctx.output(0).dtype == x.dtype)


@register("TRANSPOSE_CONV", when=_tconv_types)
def transpose_conv(ctx: OpContext) -> Lowered:
    """Inputs: output_shape (unused: the output tensor's shape is static), weights [out_c, kh, kw,
    in_c], input, optional bias (int32 for int8; int64 or int16 for 16x8)."""
    o = ctx.options
    w_t, x_t, out_t = ctx.arg(1), ctx.arg(2), ctx.output(0)
    if not w_t.is_constant:
        raise ctx.error("weights must be constant int8")
    w = ctx.array(w_t)
    n, ih, iw, ic = x_t.shape
    _, oh, ow, oc = out_t.shape
    kh, kw = w.shape[1], w.shape[2]
    wide = x_t.dtype == "int16"
    qmin, qmax = (-32768, 32767) if wide else (-128, 127)
    in_s, out_s, out_zp = _scale(ctx, 2), _scale(ctx, -1), _zp(ctx, -1)
    w_scales = ctx.quant(w_t).scale
    mults, shifts = [], []
    for c in range(oc):  # PopulateConvolutionQuantizationParams, in double
        m, sh = quantize_multiplier(f32(in_s) * f32(w_scales[c if len(w_scales) > 1 else 0]) / f32(out_s))
        mults.append(m)
        shifts.append(sh)
    act = activation_range(o.fusedActivationFunction, out_s, out_zp, qmin, qmax)
    same = o.padding == 0
    # ComputePaddingHeightWidth on the *output* size (the transposed direction)
    pad_h = compute_padding(oh, kh, o.strideH, 1, (oh + o.strideH - 1) // o.strideH if same
                            else (oh + o.strideH - kh) // o.strideH, same)
    pad_w = compute_padding(ow, kw, o.strideW, 1, (ow + o.strideW - 1) // o.strideW if same
                            else (ow + o.strideW - kw) // o.strideW, same)
    params = ctx.struct("tg_tconv_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "stride_h": o.strideH, "stride_w": o.strideW, "pad_h": pad_h, "pad_w": pad_w,
        "in_offset": 0 if wide else -_zp(ctx, 2), "out_offset": 0 if wide else out_zp,
        "act_min": act[0], "act_max": act[1],
        "mult": ctx.const_array(np.array(mults, np.int32), "int32_t", "mult"),
        "shift": ctx.const_array(np.array(shifts, np.int32), "int32_t", "shift"),
    }, "tconv")
    weights = ctx.const_array(np.ascontiguousarray(w.transpose(1, 2, 3, 0)).reshape(-1), "int8_t", "w")
    b_t = ctx.input(3)
    bias = "NULL"
    if b_t is not None:
        want = ("int64", "int16") if wide else ("int32",)
        if b_t.dtype not in want:
            raise ctx.error(f"{b_t.dtype} bias is not supported ({' or '.join(want)} only)")
        b = ctx.array(b_t).reshape(-1)
        bias = (ctx.const_array(b.astype(np.int64), "int64_t", "bias") if wide
                else ctx.const_array(np.array([wrap_i32(int(v)) for v in b], np.int32), "int32_t", "bias"))
    scratch = ctx.scratch((8 if wide else 4) * oh * ow * oc)
    acc_t = "int64_t" if wide else "int32_t"
    kernel = "tg_tconv_s16" if wide else "tg_tconv_s8"
    return Lowered(f"{kernel}(&{params}, {ctx.inp(2)}, {weights}, {bias}, {ctx.out(0)}, ({acc_t} *){scratch});",
                   ("tg_aot_transpose_conv.c",), _HEADERS)
