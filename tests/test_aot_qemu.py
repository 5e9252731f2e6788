"""The AOT C on the emulated Cortex-M4F (QEMU mps2-an386), DSP path on: bit-exact with TFLM.

Every zoo model is cross-compiled with arm-none-eabi-gcc (SMLAD/SXTB16 kernels), run under QEMU with
semihosting, and compared with the PyPI tflite-micro interpreter: random inputs, streaming models as
one 100-step stream, and the real micro_speech audio through the audio frontend and the keyword model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinygen.hostrun.check import random_input
from tinygen.hostrun.qemu import run_on_m4
from tinygen.model import load_model
from tinygen.reference import Reference

from .conftest import INT8_MODELS

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="qemu-system-arm / arm-none-eabi-gcc not installed"),
]


def _compare(info, records: list[list[np.ndarray]], dsp: bool = True) -> list[int]:
    run = run_on_m4(info, records, dsp=dsp)
    ref = Reference.from_bytes(info.data)
    bad = []
    for k, (xs, got) in enumerate(zip(records, run.outputs)):
        want = ref.run(*xs)
        if not all(np.array_equal(w.reshape(-1), g.reshape(-1)) for w, g in zip(want, got)):
            bad.append(k)
    assert all(n > 0 for n in run.instructions)
    return bad


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_m4_dsp_bit_exact(models_dir: Path, rel: str) -> None:
    info = load_model(models_dir / rel)
    rng = np.random.default_rng(99)
    steps = 100 if len(info.subgraphs) > 1 else 4
    records = [[random_input(t, rng) for t in info.inputs] for _ in range(steps)]
    bad = _compare(info, records)
    assert not bad, f"{len(bad)} of {steps} runs differ on the emulated M4, first at {bad[0]}"


def test_m4_portable_path_bit_exact(models_dir: Path) -> None:
    """-DTG_AOT_NO_DSP on the same core gives the same bits (the DSP path is only an optimisation)."""
    info = load_model(models_dir / "mlperf_tiny" / "kws_ref_model.tflite")
    rng = np.random.default_rng(3)
    records = [[random_input(t, rng) for t in info.inputs] for _ in range(2)]
    assert not _compare(info, records, dsp=False)


def test_m4_real_audio_frontend_and_keyword_model(models_dir: Path) -> None:
    from tinygen.audio import ReferenceFrontend, clip_path, frame_audio, read_wav

    fe_info = load_model(models_dir / "micro_speech" / "audio_preprocessor_int8.tflite")
    frames = np.concatenate([frame_audio(read_wav(clip_path(c))) for c in ("yes_1000ms.wav", "no_1000ms.wav")])
    run = run_on_m4(fe_info, [[f.reshape(fe_info.inputs[0].shape)] for f in frames])
    got = np.stack([o[0].reshape(-1) for o in run.outputs])
    want = ReferenceFrontend(fe_info.path).run_frames(frames)
    assert np.array_equal(got, want), f"{int((got != want).any(axis=1).sum())} feature frames differ"

    kws = load_model(models_dir / "micro_speech" / "micro_speech_quantized.tflite")
    inputs = [[got[:49].reshape(kws.inputs[0].shape)], [got[49:98].reshape(kws.inputs[0].shape)]]
    assert not _compare(kws, inputs)


def test_m4_dsp_synthetic_ops_bit_exact() -> None:
    """The DSP kernels' edge paths (k % 4 tails, odd channel counts, grouped, dilated, depth
    multiplier, in-place strided depthwise, the row depthwise, pools, table ADD) on the emulated M4."""
    from tinygen.model import parse_model

    from .test_aot_ops import CONV_CASES, _pool, add_model, conv_model, fc_model

    models = [conv_model(c) for c in CONV_CASES] + [fc_model(1), fc_model(3), fc_model(9), fc_model(9, 64, 70), _pool(17, 0), _pool(1, 1),
                                                    add_model((0.5, 0.01, 0.06), (-128, 127, -3), 1)]
    rng = np.random.default_rng(8)
    for data in models:
        info = parse_model(data)
        records = [[rng.integers(-128, 128, size=t.shape).astype(np.int8) for t in info.inputs] for _ in range(3)]
        assert not _compare(info, records)


def test_m4_dsp_int8_weight_products(monkeypatch: pytest.MonkeyPatch) -> None:
    """With widening switched off: the int8-weight products (pairs, quads with the asm loop)."""
    from tinygen.codegen.aot.ops import nn
    from tinygen.model import parse_model

    from .test_aot_ops import conv_model, fc_model

    monkeypatch.setattr(nn, "WIDE_MIN_ROWS", 1 << 30)
    rng = np.random.default_rng(9)
    for data in [fc_model(3, 24), fc_model(1, 32), fc_model(2, 64, 70), conv_model("strided_same"),
                 conv_model("dilated")]:
        info = parse_model(data)
        records = [[rng.integers(-128, 128, size=t.shape).astype(np.int8) for t in info.inputs] for _ in range(3)]
        assert not _compare(info, records)
