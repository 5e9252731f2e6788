"""AOT ops the zoo models do not use (or use in one shape only), bit-exact with TFLM's interpreter.

Each case is a one-op int8 model written with the TFLite schema's object API (no TensorFlow),
run through the generated C on the host and through the PyPI tflite-micro interpreter on random
inputs: MAX_POOL_2D, AVERAGE_POOL_2D with padding, MUL and ADD with broadcasting, PAD, MEAN,
QUANTIZE int8->int8, CONCATENATION on an inner axis, SPLIT, STRIDED_SLICE with masks and negative
steps, grouped/dilated/strided CONV_2D, DEPTHWISE_CONV_2D with a depth multiplier, per-channel FC.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import pytest

from tinygen.hostrun import HostModel
from tinygen.model import parse_model
from tinygen.model.schema import fb
from tinygen.reference import Reference

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no host C compiler")

INT8, INT32 = fb.TensorType.INT8, fb.TensorType.INT32


@dataclass
class T:
    shape: tuple[int, ...]
    dtype: int = INT8
    scale: Any = None        # float or list (per channel)
    zp: Any = 0
    data: np.ndarray | None = None
    axis: int = 0


@dataclass
class Op:
    code: int
    inputs: list[int]
    outputs: list[int]
    opt_type: int = 0
    options: Any = None


@dataclass
class Graph:
    tensors: list[T] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)

    def t(self, *a: Any, **k: Any) -> int:
        self.tensors.append(T(*a, **k))
        return len(self.tensors) - 1

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        m = fb.ModelT()
        m.version = 3
        m.buffers = [fb.BufferT()]
        codes: list[int] = []
        sg = fb.SubGraphT()
        sg.tensors = []
        for i, t in enumerate(self.tensors):
            tt = fb.TensorT()
            tt.shape = list(t.shape)
            tt.type = t.dtype
            tt.name = f"t{i}".encode()
            if t.scale is not None:
                q = fb.QuantizationParametersT()
                q.scale = list(np.atleast_1d(np.asarray(t.scale, np.float32)).tolist())
                q.zeroPoint = list(np.atleast_1d(t.zp).astype(np.int64).tolist()) if np.ndim(t.zp) else [int(t.zp)] * len(q.scale)
                q.quantizedDimension = t.axis
                tt.quantization = q
            if t.data is not None:
                b = fb.BufferT()
                b.data = list(np.ascontiguousarray(t.data).view(np.uint8).reshape(-1))
                m.buffers.append(b)
                tt.buffer = len(m.buffers) - 1
            sg.tensors.append(tt)
        sg.operators = []
        for op in self.ops:
            if op.code not in codes:
                codes.append(op.code)
            o = fb.OperatorT()
            o.opcodeIndex = codes.index(op.code)
            o.inputs, o.outputs = op.inputs, op.outputs
            o.builtinOptionsType, o.builtinOptions = op.opt_type, op.options
            sg.operators.append(o)
        sg.inputs, sg.outputs = inputs, outputs
        m.subgraphs = [sg]
        m.operatorCodes = []
        for c in codes:
            oc = fb.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            m.operatorCodes.append(oc)
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _opts(cls: str, **kw: Any) -> Any:
    o = getattr(fb, cls)()
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def _i32(values: list[int]) -> np.ndarray:
    return np.asarray(values, np.int32)


def _check(data: bytes, runs: int = 6) -> None:
    info = parse_model(data)
    host = HostModel.build(info)
    ref = Reference.from_bytes(data)
    rng = np.random.default_rng(11)
    for k in range(runs):
        xs = [rng.integers(-128, 128, size=t.shape).astype(np.int8) for t in info.inputs]
        want, got = ref.run(*xs), host.invoke(*xs)
        for w, g in zip(want, got):
            assert np.array_equal(w.reshape(-1), g.reshape(-1)), f"run {k}: {w.reshape(-1)[:8]} vs {g.reshape(-1)[:8]}"


def _pool(code: int, padding: int) -> bytes:
    g = Graph()
    x = g.t((1, 7, 9, 5), scale=0.05, zp=-3)
    y = g.t((1, 4, 5, 5) if padding == 0 else (1, 3, 4, 5), scale=0.05, zp=-3)
    g.ops.append(Op(code, [x], [y], fb.BuiltinOptions.Pool2DOptions,
                    _opts("Pool2DOptionsT", padding=padding, strideW=2, strideH=2, filterWidth=3, filterHeight=3,
                          fusedActivationFunction=1)))
    return g.build([x], [y])


@pytest.mark.parametrize("code", [fb.BuiltinOperator.MAX_POOL_2D, fb.BuiltinOperator.AVERAGE_POOL_2D])
@pytest.mark.parametrize("padding", [0, 1])
def test_pools(code: int, padding: int) -> None:
    _check(_pool(code, padding))


@pytest.mark.parametrize("code,opt,cls", [(fb.BuiltinOperator.MUL, fb.BuiltinOptions.MulOptions, "MulOptionsT"),
                                          (fb.BuiltinOperator.ADD, fb.BuiltinOptions.AddOptions, "AddOptionsT")])
def test_binary_broadcast(code: int, opt: int, cls: str) -> None:
    g = Graph()
    a = g.t((1, 4, 3, 6), scale=0.02, zp=5)
    b = g.t((1, 1, 3, 1), scale=0.07, zp=-9)
    y = g.t((1, 4, 3, 6), scale=0.03, zp=2)
    g.ops.append(Op(code, [a, b], [y], opt, _opts(cls, fusedActivationFunction=0)))
    _check(g.build([a, b], [y]))


@pytest.mark.parametrize("scales,zps,act", [((0.02, 0.07, 0.03), (5, -9, 2), 0), ((0.5, 0.01, 0.06), (-128, 127, -3), 1),
                                             ((0.004, 0.0041, 0.5), (0, -1, -128), 3), ((0.1, 0.1, 0.001), (3, 3, 0), 0)])
def test_add_tables(scales: tuple[float, float, float], zps: tuple[int, int, int], act: int) -> None:
    """Same-shape ADD (tg_add_lut_s8: per-input tables of TFLM's scaled terms) over ~all 65536 input pairs: fused
    activations, outputs that saturate, output scales that give large and small shifts."""
    _check(add_model(scales, zps, act), runs=4)


def add_model(scales: tuple[float, float, float], zps: tuple[int, int, int], act: int) -> bytes:
    g = Graph()
    a = g.t((1, 64, 64, 4), scale=scales[0], zp=zps[0])
    b = g.t((1, 64, 64, 4), scale=scales[1], zp=zps[1])
    y = g.t((1, 64, 64, 4), scale=scales[2], zp=zps[2])
    g.ops.append(Op(fb.BuiltinOperator.ADD, [a, b], [y], fb.BuiltinOptions.AddOptions,
                    _opts("AddOptionsT", fusedActivationFunction=act)))
    return g.build([a, b], [y])


def test_pad_and_mean() -> None:
    g = Graph()
    x = g.t((1, 5, 6, 4), scale=0.1, zp=7)
    p = g.t((4, 2), INT32, data=_i32([0, 0, 1, 2, 2, 1, 0, 0]).reshape(4, 2))
    y = g.t((1, 8, 9, 4), scale=0.1, zp=7)
    ax = g.t((2,), INT32, data=_i32([1, 2]))
    z = g.t((1, 1, 1, 4), scale=0.04, zp=-20)
    g.ops.append(Op(fb.BuiltinOperator.PAD, [x, p], [y], fb.BuiltinOptions.PadOptions, _opts("PadOptionsT")))
    g.ops.append(Op(fb.BuiltinOperator.MEAN, [y, ax], [z], fb.BuiltinOptions.ReducerOptions,
                    _opts("ReducerOptionsT", keepDims=True)))
    _check(g.build([x], [z]))
    # the padded tensor itself too
    g2 = Graph()
    x2 = g2.t((1, 5, 6, 4), scale=0.1, zp=7)
    p2 = g2.t((4, 2), INT32, data=_i32([0, 0, 1, 2, 2, 1, 0, 0]).reshape(4, 2))
    y2 = g2.t((1, 8, 9, 4), scale=0.1, zp=7)
    g2.ops.append(Op(fb.BuiltinOperator.PAD, [x2, p2], [y2], fb.BuiltinOptions.PadOptions, _opts("PadOptionsT")))
    _check(g2.build([x2], [y2]))


def test_requantize_concat_split_slice() -> None:
    g = Graph()
    x = g.t((1, 6, 8), scale=0.05, zp=3)
    q = g.t((1, 6, 8), scale=0.11, zp=-40)
    c = g.t((1, 6, 16), scale=0.11, zp=-40)
    g.ops.append(Op(fb.BuiltinOperator.QUANTIZE, [x], [q]))
    g.ops.append(Op(fb.BuiltinOperator.CONCATENATION, [q, q], [c], fb.BuiltinOptions.ConcatenationOptions,
                    _opts("ConcatenationOptionsT", axis=-1)))
    ax = g.t((), INT32, data=_i32([1]))
    s1, s2 = g.t((1, 3, 16), scale=0.11, zp=-40), g.t((1, 3, 16), scale=0.11, zp=-40)
    g.ops.append(Op(fb.BuiltinOperator.SPLIT, [ax, c], [s1, s2], fb.BuiltinOptions.SplitOptions,
                    _opts("SplitOptionsT", numSplits=2)))
    b, e, st = (g.t((3,), INT32, data=_i32(v)) for v in ([0, 2, 13], [1, 0, 1], [1, -1, -3]))
    y = g.t((1, 3, 4), scale=0.11, zp=-40)
    g.ops.append(Op(fb.BuiltinOperator.STRIDED_SLICE, [s2, b, e, st], [y], fb.BuiltinOptions.StridedSliceOptions,
                    _opts("StridedSliceOptionsT", beginMask=0, endMask=0b010, shrinkAxisMask=0)))
    _check(g.build([x], [y, s1]))


def _conv(g: Graph, x: int, out_shape: tuple[int, ...], w_shape: tuple[int, ...], depthwise: bool, **opts: Any) -> int:
    rng = np.random.default_rng(len(g.tensors))
    oc = w_shape[3] if depthwise else w_shape[0]
    scales = (rng.uniform(0.002, 0.02, oc)).astype(np.float32)
    w = g.t(w_shape, data=rng.integers(-127, 128, size=w_shape).astype(np.int8), scale=list(scales), zp=[0] * oc,
            axis=3 if depthwise else 0)
    b = g.t((oc,), INT32, data=rng.integers(-3000, 3000, size=oc).astype(np.int32), scale=list(scales * 0.05),
            zp=[0] * oc)
    y = g.t(out_shape, scale=0.08, zp=-11)
    if depthwise:
        g.ops.append(Op(fb.BuiltinOperator.DEPTHWISE_CONV_2D, [x, w, b], [y], fb.BuiltinOptions.DepthwiseConv2DOptions,
                        _opts("DepthwiseConv2DOptionsT", **opts)))
    else:
        g.ops.append(Op(fb.BuiltinOperator.CONV_2D, [x, w, b], [y], fb.BuiltinOptions.Conv2DOptions,
                        _opts("Conv2DOptionsT", **opts)))
    return y


CONV_CASES = ["strided_same", "dilated", "grouped", "depth_multiplier", "dw_stride2_inplace", "dw_wide_same",
              "dw_wide_5x5", "dw_rows_inplace_relu6", "dw_rows_along_h_relu", "dw_rows_valid_stride_h2",
              "dw_rows_bands", "dw_rows_bands_stride_h2", "conv_pairs_passes", "rgb_same_stride2", "rgb_dilated_h",
              "pointwise_8", "conv_one_channel"]


def conv_model(case: str) -> bytes:
    g = Graph()
    if case == "strided_same":
        x = g.t((1, 9, 7, 6), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 5, 4, 10), (10, 3, 3, 6), False, padding=0, strideW=2, strideH=2,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=3)
    elif case == "rgb_same_stride2":
        # 3x3 over three channels (wide 5, tg_conv_rgb_s8): padding on every side, 35 pixels (the last pairs with
        # itself), pairs across output rows
        x = g.t((1, 13, 9, 3), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 7, 5, 16), (16, 3, 3, 3), False, padding=0, strideW=2, strideH=2,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "rgb_dilated_h":
        # wide 5 with filter rows two input rows apart, no padding
        x = g.t((1, 12, 12, 3), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 8, 10, 8), (8, 3, 3, 3), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=2, fusedActivationFunction=0)
    elif case == "pointwise_8":
        # eight input channels (wide 4, tg_pw8_s8): per output one stream, 15 pixels
        x = g.t((1, 5, 3, 8), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 5, 3, 6), (6, 1, 1, 8), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "conv_one_channel":
        # one input channel, k 16 widened by channel pairs (tg_conv_wp_s8: filter rows of one word), SAME stride 2
        x = g.t((1, 13, 10, 1), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 7, 5, 10), (10, 4, 4, 1), False, padding=0, strideW=2, strideH=2,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "conv_pairs_passes":
        # widened by channel pairs (tg_mm_wp_s8): k 180 -> 184 in two passes (144 + 40), 70 channels (64 + 6),
        # 35 pixels (the last row pairs with itself)
        x = g.t((1, 7, 5, 20), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 7, 5, 70), (70, 3, 3, 20), False, padding=0, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=3)
    elif case == "dilated":
        x = g.t((1, 9, 9, 3), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 9, 9, 5), (5, 3, 3, 3), False, padding=0, strideW=1, strideH=1,
                  dilationWFactor=2, dilationHFactor=2, fusedActivationFunction=0)
    elif case == "grouped":
        x = g.t((1, 6, 6, 8), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 6, 6, 6), (6, 3, 3, 4), False, padding=0, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
    elif case == "depth_multiplier":
        x = g.t((1, 8, 6, 3), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 8, 6, 6), (1, 3, 3, 6), True, padding=0, strideW=1, strideH=1, depthMultiplier=2,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "dw_wide_same":
        # multiplier 1, 8 channels: the widened depthwise path (in place after a pointwise
        # convolution, padded borders through the per-pixel taps, inner pixels through row taps)
        x = g.t((1, 7, 6, 8), scale=0.05, zp=-4)
        h = _conv(g, x, (1, 7, 6, 8), (8, 1, 1, 8), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
        y = _conv(g, h, (1, 7, 6, 8), (1, 3, 3, 8), True, padding=0, strideW=1, strideH=1, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=3)
    elif case == "dw_wide_5x5":
        x = g.t((1, 9, 8, 4), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 5, 4, 4), (1, 5, 5, 4), True, padding=1, strideW=1, strideH=1, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "dw_rows_inplace_relu6":
        # 3x3 at stride 1 with rows of >= 16 outputs: tg_dwconv_rows_s8, in place after a pointwise convolution
        x = g.t((1, 5, 18, 8), scale=0.05, zp=-4)
        h = _conv(g, x, (1, 5, 18, 8), (8, 1, 1, 8), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
        y = _conv(g, h, (1, 5, 18, 8), (1, 3, 3, 8), True, padding=0, strideW=1, strideH=1, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=3)
    elif case == "dw_rows_along_h_relu":
        # more outputs along H than W: the rows run along H (5 channels, not a multiple of 4)
        x = g.t((1, 20, 4, 5), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 20, 4, 5), (1, 3, 3, 5), True, padding=0, strideW=1, strideH=1, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
    elif case == "dw_rows_valid_stride_h2":
        x = g.t((1, 9, 19, 4), scale=0.05, zp=-4)
        y = _conv(g, x, (1, 4, 17, 4), (1, 3, 3, 4), True, padding=1, strideW=1, strideH=2, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    elif case == "dw_rows_bands":
        # rows of 10 outputs: bands of 13 output rows per kernel call (13, 13, 4), in place
        x = g.t((1, 30, 10, 8), scale=0.05, zp=-4)
        h = _conv(g, x, (1, 30, 10, 8), (8, 1, 1, 8), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
        y = _conv(g, h, (1, 30, 10, 8), (1, 3, 3, 8), True, padding=0, strideW=1, strideH=1, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
    elif case == "dw_rows_bands_stride_h2":
        # odd rows of 9 outputs, stride 2 across rows: bands of 15 rows reading a ring of 31 (15, 6)
        x = g.t((1, 41, 9, 4), scale=0.05, zp=-4)
        h = _conv(g, x, (1, 41, 9, 4), (4, 1, 1, 4), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
        y = _conv(g, h, (1, 21, 9, 4), (1, 3, 3, 4), True, padding=0, strideW=1, strideH=2, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    else:
        x = g.t((1, 10, 7, 6), scale=0.05, zp=-4)
        h = _conv(g, x, (1, 10, 7, 6), (6, 1, 1, 6), False, padding=1, strideW=1, strideH=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
        y = _conv(g, h, (1, 5, 4, 6), (1, 3, 3, 6), True, padding=0, strideW=2, strideH=2, depthMultiplier=1,
                  dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=0)
    return g.build([x], [y])


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_variants(case: str) -> None:
    _check(conv_model(case))


def fc_model(batches: int = 3, depth: int = 13, outs: int = 7) -> bytes:
    g = Graph()
    x = g.t((batches, depth), scale=0.05, zp=6)
    rng = np.random.default_rng(3)
    scales = rng.uniform(0.002, 0.02, outs).astype(np.float32)
    w = g.t((outs, depth), data=rng.integers(-127, 128, size=(outs, depth)).astype(np.int8), scale=list(scales), zp=[0] * outs)
    b = g.t((outs,), INT32, data=rng.integers(-500, 500, size=outs).astype(np.int32), scale=list(scales * 0.05), zp=[0] * outs)
    y = g.t((batches, outs), scale=0.1, zp=1)
    g.ops.append(Op(fb.BuiltinOperator.FULLY_CONNECTED, [x, w, b], [y], fb.BuiltinOptions.FullyConnectedOptions,
                    _opts("FullyConnectedOptionsT", fusedActivationFunction=0)))
    return g.build([x], [y])


@pytest.mark.parametrize("batches", [1, 3, 9])   # 9 rows: widened weights (tg_mm_wide_s8)
def test_per_channel_fully_connected_odd_sizes(batches: int) -> None:
    _check(fc_model(batches))


def test_wide_product_long_rows_many_channels() -> None:
    """k 64 and 70 outputs: the asm row loop over a row split once into SXTB16 halves, then the
    n % 4 last channels."""
    _check(fc_model(9, 64, 70))


def test_int8_weight_products_when_nothing_is_widened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers outside the widening budget keep int8 weights: pair-interleaved, or quads for
    k % 8 == 0 (tg_mm_q8_s8), with odd channel counts."""
    from tinygen.codegen.aot.ops import nn

    monkeypatch.setattr(nn, "WIDE_MIN_ROWS", 1 << 30)
    for data in [fc_model(3, 24), fc_model(1, 32), fc_model(2, 64, 70), conv_model("strided_same"), conv_model("dilated")]:
        _check(data)


def test_dequantize_to_float() -> None:
    g = Graph()
    x = g.t((2, 9), scale=0.0371, zp=-17)
    y = g.t((2, 9), fb.TensorType.FLOAT32)
    g.ops.append(Op(fb.BuiltinOperator.DEQUANTIZE, [x], [y]))
    _check(g.build([x], [y]))
