"""Host audio frontend: WAV intake and refusals, framing, reference features, micro_speech check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tinygen.audio import (
    MICRO_SPEECH_LABELS,
    TEST_CLIPS,
    AudioError,
    FrameSpec,
    ReferenceFrontend,
    clip_path,
    features,
    frame_audio,
    micro_speech_input,
    read_wav,
    stride_ms_from_manifest,
)
from tinygen.reference import Reference


@pytest.fixture(scope="module")
def frontend() -> ReferenceFrontend:
    return ReferenceFrontend()


def test_bundled_clips_are_16k_mono_int16() -> None:
    for name in TEST_CLIPS:
        x = read_wav(clip_path(name))
        assert x.dtype == np.int16 and x.ndim == 1
        assert len(x) == (16000 if "1000ms" in name else 480)


@pytest.mark.parametrize(
    "rate, data, match",
    [
        (8000, np.zeros(800, np.int16), "sample rate 8000 Hz"),
        (16000, np.zeros((800, 2), np.int16), "2 channels"),
        (16000, np.zeros(800, np.float32), "float32 samples"),
        (16000, np.zeros(800, np.int32), "int32 samples"),
        (48000, np.zeros(4800, np.int16), "resample"),
    ],
)
def test_unusable_wavs_are_refused_with_a_reason(tmp_path: Path, rate: int, data: np.ndarray, match: str) -> None:
    p = tmp_path / "bad.wav"
    wavfile.write(p, rate, data)
    with pytest.raises(AudioError, match=match) as exc:
        read_wav(p)
    assert exc.value.hint and "16000" in exc.value.hint


def test_not_a_wav_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    p.write_bytes(b"not a riff file at all")
    with pytest.raises(AudioError, match="not a readable WAV"):
        read_wav(p)
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_48k_is_decimated_when_asked(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    p = tmp_path / "tone48k.wav"
    wavfile.write(p, 48000, (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))
    y = read_wav(p, resample=True)
    assert y.dtype == np.int16 and len(y) == 16000
    # still a 440 Hz tone after decimation
    spectrum = np.abs(np.fft.rfft(y.astype(float)))
    assert abs(int(np.argmax(spectrum)) - 440) <= 1


def test_framing_counts_and_offsets() -> None:
    x = np.arange(16000, dtype=np.int16)
    f20 = frame_audio(x)
    assert f20.shape == (49, 480)
    assert f20[1, 0] == 320 and f20[48, -1] == 48 * 320 + 479
    f10 = frame_audio(x, FrameSpec(stride_ms=10))
    assert f10.shape == (98, 480) and f10[1, 0] == 160
    assert frame_audio(x[:479]).shape == (0, 480)


def test_manifest_stride(models_dir: Path) -> None:
    assert stride_ms_from_manifest(models_dir / "micro_wake_word" / "okay_nabu.json") == 10.0
    with pytest.raises(AudioError, match="feature_step_size"):
        stride_ms_from_manifest(models_dir / "micro_speech" / "micro_speech_quantized.tflite")


def test_features_stream_through_one_interpreter(frontend: ReferenceFrontend) -> None:
    x = read_wav(clip_path("yes_1000ms.wav"))
    f = features(x, frontend=frontend)
    assert f.shape == (49, 40) and f.dtype == np.int8
    # state carries over: the same frame gives different features first and after 10 frames
    frames = frame_audio(x)
    frontend.reset()
    first = frontend.run(frames[10])
    frontend.reset()
    for fr in frames[:10]:
        frontend.run(fr)
    assert np.array_equal(frontend.run(frames[10]), f[10])
    assert not np.array_equal(first, f[10])
    # and the whole thing is deterministic
    assert np.array_equal(features(x, frontend=frontend), f)


@pytest.mark.parametrize("clip, label", [("yes_1000ms.wav", "yes"), ("no_1000ms.wav", "no"), ("silence_1000ms.wav", "silence")])
def test_micro_speech_recognises_the_clips(models_dir: Path, frontend: ReferenceFrontend, clip: str, label: str) -> None:
    model = Reference.from_file(models_dir / "micro_speech" / "micro_speech_quantized.tflite")
    x = micro_speech_input(features(read_wav(clip_path(clip)), frontend=frontend))
    assert x.shape == (1, 1960) and x.dtype == np.int8
    scores = model.run(x)[0].reshape(-1)
    assert MICRO_SPEECH_LABELS[int(np.argmax(scores))] == label
