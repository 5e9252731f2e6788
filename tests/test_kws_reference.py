"""The host keyword-spotting pipeline on the real micro_speech clips and the microWakeWord models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from tinygen.errors import UsageError
from tinygen.kws import KwsPipeline
from tinygen.kws.config import config_for_model
from tinygen.model import load_model
from tinygen.reference import Reference

LABELS = ["silence", "unknown", "yes", "no"]


def _clip(models_dir: Path, name: str) -> np.ndarray:
    return scipy.io.wavfile.read(models_dir / "micro_speech/testdata" / f"{name}_1000ms.wav")[1]


@pytest.fixture(scope="module")
def frontend(models_dir: Path) -> Reference:
    return Reference.from_file(models_dir / "micro_speech/audio_preprocessor_int8.tflite")


def test_yes_no_detected_in_their_clips_nothing_in_silence_or_noise(models_dir: Path, frontend: Reference) -> None:
    model = models_dir / "micro_speech/micro_speech_quantized.tflite"
    cfg = config_for_model(load_model(model), labels=LABELS)
    pipe = KwsPipeline(cfg, frontend, Reference.from_file(model))
    names = ["yes", "no", "silence", "noise"]
    pipe.push(np.concatenate([_clip(models_dir, n) for n in names]))
    found = []
    for d in pipe.trace.detections:
        # A detection belongs to the clip holding most of the classifier's 1 s window.
        window_mid_ms = d.time_ms - 500
        found.append((d.label, names[int(window_mid_ms // 1000)]))
    assert found == [("yes", "yes"), ("no", "no")]
    # 30 ms frames every 20 ms over 4 s of audio, and one inference per frame once the window is full.
    assert len(pipe.trace.features) == 1 + (64000 - 480) // 320
    assert len(pipe.trace.scores) == len(pipe.trace.features) - 48


def test_streaming_wake_word_model_runs_with_manifest(models_dir: Path, frontend: Reference) -> None:
    model = models_dir / "micro_wake_word/okay_nabu.tflite"
    cfg = config_for_model(load_model(model), manifest=models_dir / "micro_wake_word/okay_nabu.json")
    assert cfg.streaming and cfg.stride_samples == 160 and cfg.new_frames_per_inference == 3
    assert cfg.threshold == pytest.approx(0.97) and cfg.average_window == 5 and cfg.labels == ("Okay Nabu",)
    pipe = KwsPipeline(cfg, frontend, Reference.from_file(model))
    pipe.push(np.concatenate([_clip(models_dir, n) for n in ("yes", "no", "noise")]))
    assert len(pipe.trace.scores) == len(pipe.trace.features) // 3
    # None of these clips says "okay nabu".
    assert pipe.trace.detections == []


def test_model_without_spectrogram_input_is_refused(models_dir: Path) -> None:
    with pytest.raises(UsageError, match="feature frames"):
        config_for_model(load_model(models_dir / "mlperf_tiny/kws_ref_model.tflite"))
