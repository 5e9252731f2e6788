"""int16x8 AOT lowerings, bit-exact with TFLM's interpreter: one-op models built here (every
requantization mode and layout variant) and TFLM's own seanet 16x8 layers (tests/data/seanet), on the
host compiler and on the emulated Cortex-M4F with the DSP path."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygen.hostrun import HostModel
from tinygen.hostrun.check import random_input
from tinygen.model import classify_quantization, load_model, parse_model
from tinygen.model.schema import fb
from tinygen.reference import Reference

from .test_aot_ops import INT8, INT32, Graph, Op, _opts

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no host C compiler")

INT16, INT64 = fb.TensorType.INT16, fb.TensorType.INT64
SEANET = Path(__file__).parent / "data" / "seanet"
SEANET_AOT = sorted(p.name for p in SEANET.glob("*.tflite") if not p.name.startswith("transpose_conv"))


def _check(data: bytes, runs: int = 4) -> None:
    info = parse_model(data)
    host = HostModel.build(info)
    ref = Reference.from_bytes(data)
    rng = np.random.default_rng(5)
    for k in range(runs):
        xs = [random_input(t, rng) for t in info.inputs]
        want, got = ref.run(*xs), host.invoke(*xs)
        for w, g in zip(want, got):
            assert np.array_equal(w.reshape(-1), g.reshape(-1)), f"run {k}: {w.reshape(-1)[:8]} vs {g.reshape(-1)[:8]}"


def _weighted(g: Graph, kind: str, x: int, out_shape: tuple[int, ...], w_shape: tuple[int, ...], bias: str,
              per_channel: bool = True, **opts: Any) -> int:
    rng = np.random.default_rng(len(g.tensors) + 7)
    axis = 3 if kind == "dw" else 0
    oc = w_shape[axis]
    scales = rng.uniform(0.002, 0.02, oc if per_channel else 1).astype(np.float32)
    w = g.t(w_shape, data=rng.integers(-127, 128, size=w_shape).astype(np.int8), scale=list(scales),
            zp=[0] * len(scales), axis=axis)
    inputs = [x, w]
    if bias != "none":
        dtype, np_type = (INT64, np.int64) if bias == "int64" else (INT32, np.int32)
        b = g.t((oc,), dtype, data=rng.integers(-400000, 400000, size=oc).astype(np_type),
                scale=list(np.resize(scales, oc) * 0.0005), zp=[0] * oc)
        inputs.append(b)
    y = g.t(out_shape, INT16, scale=0.0009, zp=0)
    code, opt_type, cls = {
        "conv": (fb.BuiltinOperator.CONV_2D, fb.BuiltinOptions.Conv2DOptions, "Conv2DOptionsT"),
        "dw": (fb.BuiltinOperator.DEPTHWISE_CONV_2D, fb.BuiltinOptions.DepthwiseConv2DOptions,
               "DepthwiseConv2DOptionsT"),
        "fc": (fb.BuiltinOperator.FULLY_CONNECTED, fb.BuiltinOptions.FullyConnectedOptions,
               "FullyConnectedOptionsT"),
    }[kind]
    g.ops.append(Op(code, inputs, [y], opt_type, _opts(cls, **opts)))
    return y


_CONV = {"dilationWFactor": 1, "dilationHFactor": 1, "fusedActivationFunction": 0}
CASES: dict[str, Any] = {
    # name: (kind, input shape, output shape, weight shape, bias, per-channel, options)
    "conv_int64_bias_same_stride2": ("conv", (1, 9, 7, 6), (1, 5, 4, 10), (10, 3, 3, 6), "int64", True,
                                     dict(_CONV, padding=0, strideW=2, strideH=2)),
    "conv_int32_bias_relu": ("conv", (1, 6, 6, 4), (1, 4, 4, 5), (5, 3, 3, 4), "int32", True,
                             dict(_CONV, padding=1, strideW=1, strideH=1, fusedActivationFunction=1)),
    "conv_no_bias_dilated": ("conv", (1, 9, 9, 3), (1, 9, 9, 5), (5, 3, 3, 3), "none", True,
                             dict(_CONV, padding=0, strideW=1, strideH=1, dilationWFactor=2, dilationHFactor=2)),
    "conv_grouped": ("conv", (1, 5, 5, 8), (1, 5, 5, 6), (6, 3, 3, 4), "int64", True,
                     dict(_CONV, padding=0, strideW=1, strideH=1)),
    "conv_long_dot": ("conv", (1, 3, 3, 600), (1, 1, 1, 3), (3, 3, 3, 600), "int64", False,
                      dict(_CONV, padding=1, strideW=1, strideH=1)),
    "dw_depth_mult2": ("dw", (1, 8, 6, 3), (1, 8, 6, 6), (1, 3, 3, 6), "int64", True,
                       dict(_CONV, padding=0, strideW=1, strideH=1, depthMultiplier=2)),
    "dw_no_bias_stride2": ("dw", (1, 9, 9, 4), (1, 4, 4, 4), (1, 3, 3, 4), "none", True,
                           dict(_CONV, padding=1, strideW=2, strideH=2, depthMultiplier=1)),
    "fc_per_tensor_int64": ("fc", (3, 13), (3, 7), (7, 13), "int64", False, {"fusedActivationFunction": 0}),
    "fc_per_channel_int32": ("fc", (2, 21), (2, 5), (5, 21), "int32", True, {"fusedActivationFunction": 0}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_weighted_int16x8(case: str) -> None:
    kind, in_shape, out_shape, w_shape, bias, per_channel, opts = CASES[case]
    g = Graph()
    x = g.t(in_shape, INT16, scale=0.0004, zp=0)
    y = _weighted(g, kind, x, out_shape, w_shape, bias, per_channel, **opts)
    data = g.build([x], [y])
    assert classify_quantization(parse_model(data)).kind == "int16x8"
    _check(data)


def _binary(code: int, opt_type: int, cls: str, dtype: int, a_shape: tuple[int, ...], b_shape: tuple[int, ...],
            zp: int = 0, **opts: Any) -> bytes:
    g = Graph()
    out_shape = tuple(np.broadcast_shapes(a_shape, b_shape))
    a = g.t(a_shape, dtype, scale=0.0007, zp=zp)
    b = g.t(b_shape, dtype, scale=0.00031, zp=-zp)
    y = g.t(out_shape, dtype, scale=0.0011, zp=zp)
    g.ops.append(Op(code, [a, b], [y], opt_type, _opts(cls, **opts)))
    return g.build([a, b], [y])


@pytest.mark.parametrize("shapes", [((2, 5, 6), (2, 5, 6)), ((2, 5, 6), (6,)), ((1, 5, 1), (3, 1, 4))])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_binary_int16(op: str, shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    code = getattr(fb.BuiltinOperator, op)
    cls = {"ADD": "AddOptionsT", "SUB": "SubOptionsT", "MUL": "MulOptionsT"}[op]
    opts: dict[str, Any] = {"fusedActivationFunction": 0}
    _check(_binary(code, getattr(fb.BuiltinOptions, cls[:-1]), cls, INT16, *shapes, **opts))


@pytest.mark.parametrize("shapes", [((2, 5, 6), (2, 5, 6)), ((2, 5, 6), (1, 1, 6))])
def test_sub_int8(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    _check(_binary(fb.BuiltinOperator.SUB, fb.BuiltinOptions.SubOptions, "SubOptionsT", INT8, *shapes, zp=5,
                   fusedActivationFunction=1))


@pytest.mark.parametrize("dtype, zp, alpha", [(INT16, 0, 0.2), (INT16, 0, -0.3), (INT8, -7, 0.1)])
def test_leaky_relu(dtype: int, zp: int, alpha: float) -> None:
    g = Graph()
    x = g.t((3, 40), dtype, scale=0.002, zp=zp)
    y = g.t((3, 40), dtype, scale=0.0017, zp=zp)
    g.ops.append(Op(fb.BuiltinOperator.LEAKY_RELU, [x], [y], fb.BuiltinOptions.LeakyReluOptions,
                    _opts("LeakyReluOptionsT", alpha=alpha)))
    _check(g.build([x], [y]))


@pytest.mark.parametrize("name", SEANET_AOT)
def test_seanet_layers_bit_exact_on_host(name: str) -> None:
    _check((SEANET / name).read_bytes(), runs=3)


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="qemu-system-arm / arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("name", ["conv0.tflite", "add16.tflite", "sub4.tflite", "leaky_relu1.tflite"])
def test_seanet_layers_bit_exact_on_m4_dsp(name: str) -> None:
    from tinygen.hostrun.qemu import run_on_m4

    info = load_model(SEANET / name)
    rng = np.random.default_rng(21)
    records = [[random_input(t, rng) for t in info.inputs] for _ in range(3)]
    run = run_on_m4(info, records, dsp=True)
    ref = Reference.from_bytes(info.data)
    for xs, got in zip(records, run.outputs):
        for w, g in zip(ref.run(*xs), got):
            assert np.array_equal(w.reshape(-1), g.reshape(-1))
