"""AOT C of the TFLM Signal frontend is bit-exact with the TFLM interpreter, frame by frame.

audio_preprocessor_int8.tflite (window, FFT, filterbank, noise reduction, PCAN, log + integer
post-processing) is generated as AOT C, compiled for the host with -Werror, and streamed through
next to the interpreter with state carried across frames: every test clip, noise at several levels,
full-scale extremes and digital silence.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest

from tinygen.audio import TEST_CLIPS, ReferenceFrontend, clip_path, frame_audio, preprocessor_model_path, read_wav

pytest.importorskip("tinygen.codegen.aot.generator", reason="the AOT code generator is not in this tree")
pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no host C compiler")


@pytest.fixture(scope="module")
def aot() -> Iterator[object]:
    from tinygen.audio.aot import AotFrontend

    with AotFrontend(preprocessor_model_path()) as fe:
        yield fe


@pytest.fixture(scope="module")
def ref() -> ReferenceFrontend:
    return ReferenceFrontend()


def _assert_same(aot: object, ref: ReferenceFrontend, frames: np.ndarray) -> None:
    want = ref.run_frames(frames)
    got = aot.run_frames(frames)  # type: ignore[attr-defined]
    bad = np.nonzero((got != want).any(axis=1))[0]
    assert len(bad) == 0, f"{len(bad)} of {len(frames)} frames differ, first {bad[:5].tolist()}"


@pytest.mark.parametrize("clip", TEST_CLIPS)
def test_clips_bit_exact(aot: object, ref: ReferenceFrontend, clip: str) -> None:
    _assert_same(aot, ref, frame_audio(read_wav(clip_path(clip))))


def test_noise_levels_extremes_and_silence_bit_exact(aot: object, ref: ReferenceFrontend) -> None:
    rng = np.random.default_rng(7)
    levels = np.logspace(0, 4.6, 40)[:, None]  # from 1 LSB to clipping, so every PCAN/log range is hit
    frames = np.concatenate([
        np.clip(rng.normal(size=(40, 480)) * levels, -32768, 32767),
        rng.integers(-32768, 32768, size=(10, 480)),
        rng.choice([-32768, 32767], size=(4, 480)),
        np.full((2, 480), -32768), np.zeros((3, 480)), np.full((2, 480), 32767),
        32767 * np.sin(np.arange(4 * 480).reshape(4, 480) * 0.7),
    ]).astype(np.int16)
    _assert_same(aot, ref, frames)


def test_reset_restarts_the_stream(aot: object) -> None:
    frames = frame_audio(read_wav(clip_path("noise_1000ms.wav")))[:8]
    first = aot.run_frames(frames)  # type: ignore[attr-defined]
    again = aot.run_frames(frames)  # type: ignore[attr-defined]  (run_frames resets first)
    assert np.array_equal(first, again)
    # without a reset the noise estimate carries over and the features change
    carried = np.stack([aot.run(f) for f in frames])  # type: ignore[attr-defined]
    assert not np.array_equal(first, carried)


@pytest.mark.qemu
def test_bit_exact_on_emulated_cortex_m4(ref: ReferenceFrontend) -> None:
    """The same C cross-compiled for Cortex-M4F and run on QEMU mps2-an386 as one stream."""
    from tinygen.errors import ToolMissingError
    from tinygen.hostrun.qemu import run_on_m4, tools
    from tinygen.model import load_model

    try:
        tools()
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    rng = np.random.default_rng(5)
    frames = np.concatenate([
        frame_audio(read_wav(clip_path("yes_1000ms.wav"))),
        np.clip(rng.normal(size=(12, 480)) * np.logspace(0, 4.6, 12)[:, None], -32768, 32767),
        rng.choice([-32768, 32767], size=(2, 480)), np.zeros((2, 480)),
    ]).astype(np.int16)
    run = run_on_m4(load_model(preprocessor_model_path()), [[f.reshape(1, 480)] for f in frames])
    got = np.stack([o[0].reshape(-1) for o in run.outputs])
    assert np.array_equal(got, ref.run_frames(frames))
