"""Each Signal kernel on its own, fed the interpreter's intermediate tensors, equals the interpreter's
output of that op: a regression points at one kernel, not just at "features differ".

The interpreter runs the bundled audio_preprocessor with every tensor preserved; for each frame and
each Signal op, the C kernel (firmware/aot/signal, built for the host) gets the op's inputs and
must produce its outputs bit for bit; the spectral-subtraction noise estimate is carried across
frames in the test, as the generated code carries it.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from flatbuffers import flexbuffers

from tinygen.audio import clip_path, frame_audio, preprocessor_model_path, read_wav
from tinygen.model import load_model
from tinygen.resources import firmware_dir

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
P = ctypes.c_void_p


class Plan(ctypes.Structure):
    _fields_ = [("half_length", ctypes.c_int32), ("factors", P), ("twiddles", P), ("split_twiddles", P)]


class FilterBankCfg(ctypes.Structure):
    _fields_ = [("num_channels", ctypes.c_int32)] + [(n, P) for n in ("w", "uw", "fs", "ws", "wd")]


class SpecSubCfg(ctypes.Structure):
    _fields_ = [("num_channels", ctypes.c_int32)] + [(n, ctypes.c_uint32) for n in (
        "smoothing", "one_minus_smoothing", "alternate_smoothing", "alternate_one_minus_smoothing",
        "min_signal_remaining", "smoothing_bits", "spectral_subtraction_bits")] + [("clamping", ctypes.c_int32)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    d = firmware_dir() / "aot" / "signal"
    so = tmp_path_factory.mktemp("sig") / "libsig.so"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-shared", "-fPIC",
                    "-I", str(firmware_dir() / "aot"),  # tg_aot_opt.h
                    *map(str, sorted(d.glob("tg_sig_*.c"))), "-o", str(so)], check=True)
    lib = ctypes.CDLL(str(so))
    lib.tg_sig_fft_auto_scale.restype = ctypes.c_int32
    return lib


def _p(a: np.ndarray) -> P:
    return a.ctypes.data_as(P)


def _frames() -> np.ndarray:
    rng = np.random.default_rng(11)
    speech = np.concatenate([frame_audio(read_wav(clip_path(c))) for c in ("yes_1000ms.wav", "noise_1000ms.wav")])
    levels = np.logspace(0, 4.6, 24)[:, None]
    synthetic = np.clip(rng.normal(size=(24, 480)) * levels, -32768, 32767)
    extremes = rng.choice([-32768, 32767], size=(3, 480))
    return np.concatenate([speech, synthetic, extremes, np.zeros((2, 480))]).astype(np.int16)


def test_every_signal_kernel_matches_the_interpreter(lib: ctypes.CDLL) -> None:
    pytest.importorskip("tinygen.codegen.aot.generator", reason="the AOT code generator is not in this tree")
    from tflite_micro.python.tflite_micro import runtime

    from tinygen.codegen.aot.ops.signal import rfft_tables

    path = preprocessor_model_path()
    sg = load_model(path).main
    interp = runtime.Interpreter.from_file(str(path), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)

    def t(i: int) -> np.ndarray:
        return np.ascontiguousarray(interp.GetTensor(i, 0)["tensor_data"]).reshape(-1)

    noise: dict[int, np.ndarray] = {}
    keep: list[object] = []  # tables the ctypes structs point into
    checked: dict[str, int] = {}
    for frame in _frames():
        interp.set_input(frame.reshape(1, 480), 0)
        interp.invoke()
        for op in sg.operators:
            if not op.op.startswith("Signal"):
                continue
            o = flexbuffers.Loads(op.custom_options) if op.custom_options else {}
            ins = [t(i) for i in op.inputs]
            want = [t(i) for i in op.outputs]
            got = [np.zeros_like(w) for w in want]
            if op.op == "SignalWindow":
                lib.tg_sig_window(_p(ins[0]), ins[0].size, _p(ins[1]), ins[1].size, o["shift"], _p(got[0]))
            elif op.op == "SignalFftAutoScale":
                got[1][0] = lib.tg_sig_fft_auto_scale(_p(ins[0]), ins[0].size, _p(got[0]))
            elif op.op == "SignalRfft":
                factors, tw, split = (np.array(v, dtype=np.int16) for v in rfft_tables(o["fft_length"]))
                keep[:] = [factors, tw, split]
                plan = Plan(o["fft_length"] // 2, _p(factors), _p(tw), _p(split))
                scratch = np.zeros(2 * o["fft_length"], dtype=np.int16)
                lib.tg_sig_rfft16(ctypes.byref(plan), _p(ins[0]), ins[0].size, _p(scratch),
                                  _p(scratch[o["fft_length"]:]), _p(got[0]))
            elif op.op == "SignalEnergy":
                lib.tg_sig_energy(_p(ins[0]), o["start_index"], o["end_index"], _p(got[0]))
                s = slice(o["start_index"], o["end_index"])  # TFLM leaves the other bins untouched
                want[0], got[0] = want[0][s], got[0][s]
            elif op.op == "SignalFilterBank":
                cfg = FilterBankCfg(o["num_channels"], *(_p(x) for x in ins[1:]))
                lib.tg_sig_filter_bank(ctypes.byref(cfg), _p(ins[0]), _p(got[0]))
            elif op.op == "SignalFilterBankSquareRoot":
                lib.tg_sig_filter_bank_sqrt(_p(ins[0]), ins[0].size, int(ins[1][0]), _p(got[0]))
            elif op.op == "SignalFilterBankSpectralSubtraction":
                keys = [f[0] for f in SpecSubCfg._fields_]
                cfg = SpecSubCfg(*[int(o[k]) for k in keys[:-1]], int(bool(o.get("clamping"))))
                state = noise.setdefault(op.index, np.zeros(o["num_channels"], dtype=np.uint32))
                lib.tg_sig_spectral_subtraction(ctypes.byref(cfg), _p(ins[0]), _p(state), _p(got[0]), _p(got[1]))
            elif op.op == "SignalPCAN":
                lib.tg_sig_pcan(_p(ins[0]), _p(ins[1]), _p(ins[2]), o["snr_shift"], ins[0].size, _p(got[0]))
            elif op.op == "SignalFilterBankLog":
                lib.tg_sig_filter_bank_log(_p(ins[0]), ins[0].size, o["output_scale"], o["input_correction_bits"], _p(got[0]))
            else:
                pytest.fail(f"no kernel check for {op.op}")
            for k, (w, g) in enumerate(zip(want, got)):
                assert np.array_equal(w, g), f"{op.op} output {k} differs at {np.nonzero(w != g)[0][:5].tolist()}"
            checked[op.op] = checked.get(op.op, 0) + 1
    assert len(checked) == 9 and min(checked.values()) == len(_frames())
