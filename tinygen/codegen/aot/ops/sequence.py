"""Recurrent and upsampling ops: SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM, TRANSPOSE_CONV.

Constants are computed the way the TFLM reference kernels' Prepare computes them (float32 scale
products widened to double, then QuantizeMultiplier); kernels are in firmware/aot/tg_aot_svdf.c,
tg_aot_lstm.c and tg_aot_transpose_conv.c (declared in tg_aot_seq.h). Recurrent state tensors
(`is_variable`) are persistent buffers that `OpContext.tensor` hands out.
"""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import F32, activation_range, compute_padding, f32, quantize_multiplier, wrap_i32
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
