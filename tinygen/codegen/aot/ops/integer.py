"""AOT lowering of plain (unquantized) integer ops: CAST, ADD, MUL, DIV, MAXIMUM, MINIMUM.

Signal frontends post-process their int16/int32/uint32 tensors with these (scale, offset, clip,
cast to int8). Such tensors carry no quantization parameters, so the arithmetic is C integer
arithmetic with TFLite Micro's conventions (MAXIMUM/MINIMUM and CAST also take quantized int8/int16
tensors: TFLM works on their raw values too): int32 ADD/MUL wrap, DIV truncates toward zero, int32
ADD ignores the fused activation (TFLM does), MUL/DIV clamp to it. Broadcasting becomes a 4-deep
loop nest whose strides are computed here. Kernels: firmware/aot/signal/tg_intops.c.
"""

from __future__ import annotations

from ..context import OpContext
from . import Lowered, register

_SOURCES = ("signal/tg_intops.c",)
# TFLite TensorType values, as the kernels' enum tg_int_type uses them
TYPE_CODES = {"int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9, "uint64": 12, "uint32": 15, "uint16": 16}
# what TFLM's CAST kernel accepts
CAST_FROM = ("int8", "int16", "int32", "uint32", "bool")
CAST_TO = ("int8", "int16", "int32", "uint32")
OP_CODES = {"ADD": 0, "MUL": 1, "DIV": 2, "MAXIMUM": 3, "MINIMUM": 4}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def is_plain_integer(ctx: OpContext) -> bool:
    """Every tensor of the op is an integer tensor without quantization parameters."""
    tensors = [ctx.input(i) for i in range(len(ctx.op.inputs))] + [ctx.output(i) for i in range(len(ctx.op.outputs))]
    return all(t is None or (t.dtype in TYPE_CODES and t.quantization is None) for t in tensors)


def is_integer(ctx: OpContext) -> bool:
    """Every tensor of the op is an integer tensor (CAST converts raw values, scales or not)."""
    tensors = [ctx.input(i) for i in range(len(ctx.op.inputs))] + [ctx.output(i) for i in range(len(ctx.op.outputs))]
    return all(t is None or t.dtype in TYPE_CODES for t in tensors)


@register("CAST", when=is_integer)
def cast(ctx: OpContext) -> Lowered:
    src, dst = ctx.input(0), ctx.output(0)
    assert src is not None
    if src.dtype not in CAST_FROM or dst.dtype not in CAST_TO:
        raise ctx.error(f"{src.dtype} -> {dst.dtype} is not a CAST TFLite Micro supports")
    if src.num_elements != dst.num_elements:
        raise ctx.error("input and output sizes differ")
    return Lowered(
        f"tg_int_cast({ctx.inp(0)}, {TYPE_CODES[src.dtype]}, {ctx.out(0)}, {TYPE_CODES[dst.dtype]}, {src.num_elements});",
        sources=_SOURCES,
    )


def broadcast_strides(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> tuple[list[int], list[int], list[int]] | None:
    """(dims, a_strides, b_strides) of a 4-deep loop over `out`, stride 0 where an input repeats;
    None when the shapes do not broadcast in at most 4 dimensions."""
    if len(out) > 4 or len(a) > len(out) or len(b) > len(out):
        return None
    dims = [1] * (4 - len(out)) + list(out)

    def strides(shape: tuple[int, ...]) -> list[int] | None:
        padded = [1] * (4 - len(shape)) + list(shape)
        result, step = [0] * 4, 1
        for d in range(3, -1, -1):
            if padded[d] == dims[d]:
                result[d] = step if dims[d] > 1 else 0
            elif padded[d] != 1:
                return None
            step *= padded[d]
        return result

    sa, sb = strides(a), strides(b)
    return None if sa is None or sb is None else (dims, sa, sb)


def _activation_range(ctx: OpContext) -> tuple[int, int]:
    opts = ctx.options
    act = int(getattr(opts, "fusedActivationFunction", 0) or 0) if opts is not None else 0
    if ctx.op.op == "ADD" or act == 0:  # TFLM's int32 ADD always uses the full range
        return INT32_MIN, INT32_MAX
    ranges = {1: (0, INT32_MAX), 2: (-1, 1), 3: (0, 6)}  # RELU, RELU_N1_TO_1, RELU6
    if act not in ranges:
        raise ctx.error(f"fused activation {act} on int32 is not supported")
    return ranges[act]


def _c_int32(v: int) -> str:
    return {INT32_MIN: "INT32_MIN", INT32_MAX: "INT32_MAX"}.get(v, str(v))


def binary(ctx: OpContext) -> Lowered:
    ta, tb, to = ctx.input(0), ctx.input(1), ctx.output(0)
    if ta is None or tb is None or len(ctx.op.outputs) != 1:
        raise ctx.error("expected 2 inputs and 1 output")
    if not ta.dtype == tb.dtype == to.dtype:
        raise ctx.error(f"mixed types {ta.dtype}, {tb.dtype} -> {to.dtype}")
    minmax = ctx.op.op in ("MAXIMUM", "MINIMUM")
    if to.dtype != "int32" and not (minmax and to.dtype in ("int16", "int8")):
        raise ctx.error(f"unquantized {to.dtype} is not supported (int32{', int16, int8' if minmax else ''} only)")
    if ctx.op.op == "DIV" and tb.is_constant and (ctx.array(tb) == 0).any():
        raise ctx.error("constant divisor contains 0")
    plan = broadcast_strides(ta.shape, tb.shape, to.shape)
    if plan is None:
        raise ctx.error(f"shapes {list(ta.shape)} and {list(tb.shape)} do not broadcast to {list(to.shape)} in 4 dimensions")
    dims, sa, sb = plan
    shape = ctx.struct("tg_bcast4", {"dims": dims, "a_strides": sa, "b_strides": sb}, hint="bcast")
    args = f"{OP_CODES[ctx.op.op]}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)}, &{shape}"
    if to.dtype == "int32":
        lo, hi = _activation_range(ctx)
        code = f"tg_int32_binary({args}, {_c_int32(lo)}, {_c_int32(hi)});"
    else:
        code = f"tg_{to.dtype}_minmax({args});"
    return Lowered(code, sources=_SOURCES)


for _op in ("ADD", "MUL", "DIV"):
    register(_op, when=is_plain_integer)(binary)
# TFLM compares raw values for MAXIMUM/MINIMUM whatever the quantization, so any integer tensor goes
for _op in ("MAXIMUM", "MINIMUM"):
    register(_op, when=is_integer)(binary)
