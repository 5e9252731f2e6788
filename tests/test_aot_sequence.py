"""SVDF, TRANSPOSE_CONV and UNIDIRECTIONAL_SEQUENCE_LSTM in the AOT runtime, bit-exact with TFLM.

One-op models written with the schema's object API (tests/test_aot_ops.py's builder), run through
the generated C on the host and through the PyPI tflite-micro interpreter (reference kernels) for
several invokes in a row, so recurrent state is compared too, with a reset in between.
"""

from __future__ import annotations

import shutil

import flatbuffers
import numpy as np
import pytest

from tinygen.codegen import aot
from tinygen.hostrun import HostModel
from tinygen.model import parse_model
from tinygen.model.schema import fb
from tinygen.reference import Reference

from .test_aot_ops import Graph, Op, _opts

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no host C compiler")

INT8, INT16, INT32, INT64 = fb.TensorType.INT8, fb.TensorType.INT16, fb.TensorType.INT32, fb.TensorType.INT64
RNG = np.random.default_rng(5)


def _mark_variables(data: bytes, tensors: list[int]) -> bytes:
    """The builder has no is_variable flag: set it on the given tensors of subgraph 0."""
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    for i in tensors:
        m.subgraphs[0].tensors[i].isVariable = True
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _check(data: bytes, runs: int = 8) -> None:
    info = parse_model(data)
    host = HostModel.build(info)
    ref = Reference.from_bytes(data)
    rng = np.random.default_rng(3)
    for k in range(runs):
        if k == runs // 2:
            host.reset()
            ref.reset()
        xs = []
        for t in info.inputs:
            lo, hi = (-128, 128) if t.dtype == "int8" else (-32768, 32768)
            xs.append(rng.integers(lo, hi, size=t.shape).astype(t.dtype))
        want, got = ref.run(*xs), host.invoke(*xs)
        for w, g in zip(want, got):
            assert np.array_equal(w.reshape(-1), g.reshape(-1)), \
                f"run {k}: {w.reshape(-1)[:8]} vs {g.reshape(-1)[:8]}"


def _w8(*shape: int) -> np.ndarray:
    return RNG.integers(-127, 128, size=shape).astype(np.int8)


# ---- SVDF -----------------------------------------------------------------------------------------

def _svdf(state_type: int, rank: int, batches: int, state_zp: int) -> bytes:
    g = Graph()
    n_in, units, memory = 12, 5, 6
    filters = units * rank
    st_dtype = np.int8 if state_type == INT8 else np.int16
    st_scale = 0.02 if state_type == INT8 else 0.0005
    wt_scale = 0.01 if state_type == INT8 else 0.00004
    x = g.t((batches, n_in), scale=0.05, zp=-7)
    wf = g.t((filters, n_in), scale=0.004, data=_w8(filters, n_in))
    wt_data = (_w8(filters, memory) if state_type == INT8
               else RNG.integers(-20000, 20000, size=(filters, memory)).astype(st_dtype))
    wt = g.t((filters, memory), dtype=state_type, scale=wt_scale, data=wt_data)
    bias = g.t((units,), dtype=INT32, scale=st_scale * wt_scale,
               data=RNG.integers(-3000, 3000, size=units).astype(np.int32))
    state = g.t((batches, filters * memory), dtype=state_type, scale=st_scale, zp=state_zp)
    y = g.t((batches, units), scale=0.03, zp=4)
    g.ops.append(Op(fb.BuiltinOperator.SVDF, [x, wf, wt, bias, state], [y], fb.BuiltinOptions.SVDFOptions,
                    _opts("SVDFOptionsT", rank=rank, fusedActivationFunction=1)))
    return _mark_variables(g.build([x], [y]), [state])


@pytest.mark.parametrize("state_type,rank,batches,state_zp", [
    (INT8, 1, 1, 0), (INT8, 2, 2, -5), (INT16, 1, 1, 0), (INT16, 2, 2, 0),
])
def test_svdf_bit_exact(state_type: int, rank: int, batches: int, state_zp: int) -> None:
    _check(_svdf(state_type, rank, batches, state_zp))


def test_svdf_state_is_outside_the_arena() -> None:
    """The activation state is a persistent buffer reset by NAME_reset(), not an arena tensor."""
    m = aot.build(parse_model(_svdf(INT8, 1, 1, -5)), "m")
    state_bytes = 1 * 5 * 6
    assert m.persistent_bytes == state_bytes
    src = aot.generate(m.model, "m")["m_model.c"]
    assert "memset(" in src and ", 251, sizeof" in src  # zero point -5 as a byte


def test_softmax_int8_to_int16_bit_exact() -> None:
    """keyword_scrambled's head: SOFTMAX with an int16 output (scale 1/65536, zero point -32768)."""
    g = Graph()
    x = g.t((2, 7), scale=0.11, zp=3)
    y = g.t((2, 7), dtype=INT16, scale=1.0 / 65536, zp=-32768)
    g.ops.append(Op(fb.BuiltinOperator.SOFTMAX, [x], [y], fb.BuiltinOptions.SoftmaxOptions,
                    _opts("SoftmaxOptionsT", beta=1.0)))
    _check(g.build([x], [y]))


# ---- TRANSPOSE_CONV -------------------------------------------------------------------------------

def _tconv(wide: bool, padding: int, stride: tuple[int, int], out_hw: tuple[int, int], bias: bool = True,
           act: int = 0) -> bytes:
    g = Graph()
    in_c, out_c, kh, kw = 5, 6, 3, 4
    act_t, scale_in = (INT16, 0.0004) if wide else (INT8, 0.05)
    shape = g.t((4,), dtype=INT32, data=np.asarray([1, *out_hw, out_c], np.int32))
    w = g.t((out_c, kh, kw, in_c), scale=list(RNG.uniform(0.002, 0.006, out_c)), data=_w8(out_c, kh, kw, in_c))
    x = g.t((1, 4, 3, in_c), dtype=act_t, scale=scale_in, zp=0 if wide else -9)
    ins = [shape, w, x]
    if bias:
        b_type, b_np = (INT64, np.int64) if wide else (INT32, np.int32)
        ins.append(g.t((out_c,), dtype=b_type, scale=0.0, data=RNG.integers(-4000, 4000, out_c).astype(b_np)))
    y = g.t((1, *out_hw, out_c), dtype=act_t, scale=0.0009 if wide else 0.08, zp=0 if wide else 5)
    g.ops.append(Op(fb.BuiltinOperator.TRANSPOSE_CONV, ins, [y], fb.BuiltinOptions.TransposeConvOptions,
                    _opts("TransposeConvOptionsT", padding=padding, strideH=stride[0], strideW=stride[1],
                          fusedActivationFunction=act)))
    return g.build([x], [y])


@pytest.mark.parametrize("wide", [False, True], ids=["int8", "16x8"])
@pytest.mark.parametrize("padding,stride,out_hw,bias,act", [
    (0, (2, 2), (8, 6), True, 0),   # SAME, stride 2
    (1, (1, 2), (6, 8), True, 1),   # VALID, relu
    (0, (2, 1), (7, 3), False, 0),  # no bias, odd output
])
def test_transpose_conv_bit_exact(wide: bool, padding: int, stride: tuple[int, int], out_hw: tuple[int, int],
                                  bias: bool, act: int) -> None:
    _check(_tconv(wide, padding, stride, out_hw, bias, act), runs=3)


# ---- UNIDIRECTIONAL_SEQUENCE_LSTM -----------------------------------------------------------------

def _lstm(time_major: bool, batches: int, steps: int, cell_power: int, clip: float, hidden_zp: int) -> bytes:
    """The int8x8_16 LSTM TFLM's converter emits (mnist_lstm, micro_speech_lstm, dtln)."""
    g = Graph()
    n_in, n_state = 7, 6
    shape = (steps, batches, n_in) if time_major else (batches, steps, n_in)
    x = g.t(shape, scale=0.02, zp=-128)
    ins = [x]
    for _ in range(4):
        ins.append(g.t((n_state, n_in), scale=float(RNG.uniform(0.004, 0.012)), data=_w8(n_state, n_in)))
    for _ in range(4):
        ins.append(g.t((n_state, n_state), scale=float(RNG.uniform(0.004, 0.012)), data=_w8(n_state, n_state)))
    ins += [-1, -1, -1]  # no peepholes
    for k in range(4):
        ins.append(g.t((n_state,), dtype=INT32, scale=0.02 * 0.008,
                       data=RNG.integers(-9000, 9000, n_state).astype(np.int32)))
    ins += [-1, -1]  # no projection
    hidden = g.t((batches, n_state), scale=1.0 / 128, zp=hidden_zp)
    cell = g.t((batches, n_state), dtype=INT16, scale=2.0 ** cell_power)
    ins += [hidden, cell, -1, -1, -1, -1]
    y_shape = (steps, batches, n_state) if time_major else (batches, steps, n_state)
    y = g.t(y_shape, scale=1.0 / 128, zp=hidden_zp)
    g.ops.append(Op(fb.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM, ins, [y],
                    fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions,
                    _opts("UnidirectionalSequenceLSTMOptionsT", fusedActivationFunction=4, cellClip=clip,
                          timeMajor=time_major)))
    return _mark_variables(g.build([x], [y]), [hidden, cell])


@pytest.mark.parametrize("time_major,batches,steps,cell_power,clip,hidden_zp", [
    (False, 1, 5, -11, 10.0, 0),   # mnist_lstm / micro_speech_lstm shape: cell Q4.11, clip 10
    (False, 2, 3, -12, 0.0, -3),   # two batch rows, no clip, dtln's cell scale
    (True, 2, 4, -15, 0.5, 5),     # time major, tanh with a rounding right shift, tight clip
])
def test_lstm_bit_exact(time_major: bool, batches: int, steps: int, cell_power: int, clip: float,
                        hidden_zp: int) -> None:
    _check(_lstm(time_major, batches, steps, cell_power, clip, hidden_zp), runs=6)
