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


# ---- UNIDIRECTIONAL_SEQUENCE_LSTM -------------------------------------------------------------------

# inputs (kernels/lstm_shared.h): 0 input; 1-4 input-to-{input,forget,cell,output} weights;
# 5-8 recurrent-to-{...} weights; 9-11 peepholes; 12-15 gate biases; 16-17 projection;
# 18 hidden (output) state; 19 cell state; 20-23 layer norm coefficients
_GATES = (("input", 1, 5, 12), ("forget", 2, 6, 13), ("cell", 3, 7, 14), ("output", 4, 8, 15))
_GATE_SCALE = 2.0 ** -12  # the gates' int16 pre-activations are Q3.12
_GATE_OUT_SCALE = 2.0 ** -15  # sigmoid/tanh outputs are Q0.15


def _lstm_int8(ctx: OpContext) -> bool:
    x, cell = ctx.input(0), ctx.input(19)
    return x is not None and x.dtype == "int8" and cell is not None and cell.dtype == "int16"


def _mul_params(s1: float, s2: float, out: float) -> tuple[int, int]:
    """CreateInterGateMulParams: double product over double output scale."""
    return quantize_multiplier(f32(s1) * f32(s2) / f32(out))


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", when=_lstm_int8)
def lstm(ctx: OpContext) -> Lowered:
    o = ctx.options
    unsupported = [i for i in (9, 10, 11, 16, 17, 20, 21, 22, 23) if ctx.input(i) is not None]
    if unsupported:
        raise ctx.error(f"peephole, projection or layer-norm inputs {unsupported} (TFLM does not run them either)")
    if any(ctx.input(i) is None for i in range(1, 9)) or any(ctx.input(i) is None for i in range(12, 16)):
        raise ctx.error("CIFG (no input gate) is not supported; TFLM requires every gate")
    if o.fusedActivationFunction != 4:
        raise ctx.error("the cell gate must use tanh (TFLM's only integer choice)")
    x, hidden, cell = ctx.arg(0), ctx.arg(18), ctx.arg(19)
    if not (hidden.is_variable and cell.is_variable):
        raise ctx.error("the hidden and cell states (inputs 18, 19) must be variable tensors")
    if hidden.dtype != "int8" or ctx.output(0).dtype != "int8":
        raise ctx.error("int8 hidden state and output required")
    time_major = bool(o.timeMajor)
    steps, batches = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    n_in, n_state = x.shape[2], hidden.shape[-1]
    x_s, x_zp, h_s, h_zp = _scale(ctx, 0), _zp(ctx, 0), _scale(ctx, 18), _zp(ctx, 18)
    gates = {}
    for name, wi, wr, bi in _GATES:
        w_in, w_rec = ctx.array(ctx.arg(wi)).astype(np.int64), ctx.array(ctx.arg(wr)).astype(np.int64)
        if any(int(ctx.quant(ctx.arg(i)).zero_point[0]) for i in (wi, wr)):
            raise ctx.error("weights with a non-zero zero point are not supported")
        bias = ctx.array(ctx.arg(bi)).astype(np.int64)
        # CreateGateParams: the FC multipliers multiply the float32 scales in float
        in_m, in_sh = quantize_multiplier(float(F32(x_s) * F32(_scale(ctx, wi))) / _GATE_SCALE)
        rec_m, rec_sh = quantize_multiplier(float(F32(h_s) * F32(_scale(ctx, wr))) / _GATE_SCALE)
        in_bias = [wrap_i32(int(b) - x_zp * int(s)) for b, s in zip(bias, w_in.sum(axis=1))]
        rec_bias = [wrap_i32(-h_zp * int(s)) for s in w_rec.sum(axis=1)]
        gates[name] = (
            f"{{ .in_mult = {in_m}, .in_shift = {in_sh}, .rec_mult = {rec_m}, .rec_shift = {rec_sh}, "
            f".in_bias = {ctx.const_array(np.array(in_bias, np.int32), 'int32_t', 'lstm_bias')}, "
            f".rec_bias = {ctx.const_array(np.array(rec_bias, np.int32), 'int32_t', 'lstm_rbias')}, "
            f".in_w = {ctx.inp(wi)}, .rec_w = {ctx.inp(wr)} }}")
    c_s = ctx.quant(cell).scale[0]
    power = int(round(float(F32(np.log(F32(c_s)) * (F32(1.0) / np.log(F32(2.0)))))))  # CheckedLog2
    fc_m, fc_sh = _mul_params(_GATE_OUT_SCALE, c_s, c_s)
    ic_m, ic_sh = _mul_params(_GATE_OUT_SCALE, _GATE_OUT_SCALE, c_s)
    h_m, h_sh = _mul_params(_GATE_OUT_SCALE, _GATE_OUT_SCALE, h_s)
    clip = -1
    if f32(o.cellClip) > 0:  # CreateLstmCellStateInfo: static_cast<int16_t> of the clamped double
        clip = int(min(max(f32(o.cellClip) / f32(c_s), -32768.0), 32767.0))
    # lstm_internal::Tanh: (15 + power) - 3 is a left shift (folded into the multiplier 3 << s)
    # or, when negative, a rounding right shift of x * 3
    shift = 15 + power - 3
    tanh_mult, tanh_shift = (3 << shift, 0) if shift >= 0 else (3, -shift)
    params = ctx.struct("tg_lstm_params", {
        "time_major": int(time_major), "batches": batches, "steps": steps, "input_size": n_in,
        "state_size": n_state, **gates,
        "forget_cell_mult": fc_m, "forget_cell_shift": fc_sh, "input_cell_mult": ic_m, "input_cell_shift": ic_sh,
        "hidden_mult": h_m, "hidden_shift": h_sh, "hidden_zero_point": h_zp, "cell_clip": clip,
        "cell_tanh_mult": tanh_mult, "cell_tanh_shift": tanh_shift,
    }, "lstm")
    scratch = ctx.scratch(4 * 2 * n_state)
    return Lowered(
        f"tg_lstm_s8(&{params}, {ctx.inp(0)}, {ctx.inp(18)}, {ctx.inp(19)}, {ctx.out(0)}, (int16_t *){scratch});",
        ("tg_aot_lstm.c",), _HEADERS)
