"""The device's keyword-spotting C (firmware/apps/kws/tg_kws.c + AOT frontend + AOT classifier),
compiled for the host, against the Python reference pipeline: features, scores and detections
identical frame for frame, with audio pushed in odd-sized chunks as a serial link or a DMA would."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from tinygen.kws import KwsPipeline
from tinygen.kws.config import config_for_model
from tinygen.kws.firmware import kws_sources
from tinygen.kws.hostrun import HostKws, app_sources
from tinygen.model import load_model
from tinygen.reference import Reference
from tinygen.resources import firmware_dir

LABELS = ["silence", "unknown", "yes", "no"]
ORDER = ("yes", "no", "silence", "noise")


def _clip(models_dir: Path, name: str) -> np.ndarray:
    return scipy.io.wavfile.read(models_dir / "micro_speech/testdata" / f"{name}_1000ms.wav")[1]


def _push_in_chunks(host: HostKws, audio: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(audio):
        n = int(rng.integers(1, 700))
        host.push(audio[i:i + n])
        i += n


def _compare(models_dir: Path, model_rel: str, audio: np.ndarray, every: int = 1, **cfg_args: object) -> KwsPipeline:
    model = load_model(models_dir / model_rel)
    cfg = config_for_model(model, **cfg_args)  # type: ignore[arg-type]
    if every != 1:
        cfg = replace(cfg, new_frames_per_inference=every)
    ref = KwsPipeline(cfg, Reference.from_file(models_dir / "micro_speech/audio_preprocessor_int8.tflite"),
                      Reference.from_file(models_dir / model_rel))
    ref.push(audio)
    host = HostKws(cfg, model)
    _push_in_chunks(host, audio, seed=len(audio))
    assert len(host.trace.features) == len(ref.trace.features)
    for i, (a, b) in enumerate(zip(ref.trace.features, host.trace.features)):
        assert np.array_equal(a, b), f"features differ at frame {i}"
    out_dtype = np.dtype(model.outputs[0].dtype)
    assert len(host.trace.scores) == len(ref.trace.scores)
    for i, (a, b) in enumerate(zip(ref.trace.scores, host.trace.scores)):
        assert np.array_equal(a, b.view(out_dtype)), f"scores differ at inference {i}"
    assert host.trace.inference_frames == ref.trace.inference_frames
    scale = model.outputs[0].quantization.scale[0]
    assert [(d[0], d[2], d[3], d[4]) for d in host.trace.detections] == \
        [(d.index, d.frame, d.inference, int(d.time_ms)) for d in ref.trace.detections]
    assert [d[1] / cfg.average_window * scale for d in host.trace.detections] == \
        pytest.approx([d.score for d in ref.trace.detections])
    return ref


def test_micro_speech_c_pipeline_bit_exact_and_same_detections(models_dir: Path) -> None:
    audio = np.concatenate([_clip(models_dir, n) for n in ORDER])
    ref = _compare(models_dir, "micro_speech/micro_speech_quantized.tflite", audio, labels=LABELS)
    assert [(d.label, d.time_ms) for d in ref.trace.detections] == [("yes", 1030.0), ("no", 2050.0)]


def test_micro_speech_every_second_frame(models_dir: Path) -> None:
    """Inference on every 2nd frame (half the classifier cost): still the reference's integers. (It is
    a different detector: the averaging window counts inferences; here "no" no longer fires.)"""
    audio = np.concatenate([_clip(models_dir, n) for n in ORDER])
    ref = _compare(models_dir, "micro_speech/micro_speech_quantized.tflite", audio, every=2, labels=LABELS)
    assert len(ref.trace.scores) == (len(ref.trace.features) - 49) // 2 + 1
    assert [d.label for d in ref.trace.detections] == ["yes"]


def test_okay_nabu_streaming_c_pipeline_bit_exact(models_dir: Path) -> None:
    audio = np.concatenate([_clip(models_dir, n) for n in ORDER])
    ref = _compare(models_dir, "micro_wake_word/okay_nabu.tflite", audio,
                   manifest=models_dir / "micro_wake_word/okay_nabu.json")
    assert len(ref.trace.scores) == len(ref.trace.features) // 3


def test_kws_config_header_and_frontend_prefix(models_dir: Path) -> None:
    model = load_model(models_dir / "micro_speech/micro_speech_quantized.tflite")
    cfg = config_for_model(model, labels=LABELS)
    files = kws_sources(cfg, model, microphone=True)
    header = files["kws_config.h"]
    assert '#define KWS_LABELS {"silence", "unknown", "yes", "no"}' in header
    assert "#define KWS_IGNORED {1, 1, 0, 0}" in header
    # threshold 0.8 at scale 1/256 -> 205 steps, summed over 3 inferences
    assert "#define KWS_THRESHOLD_SUM 615" in header and "#define KWS_MIC 1" in header
    # Only the classifier provides the tg_runtime glue; the frontend's symbols are prefixed.
    assert "tg_runtime.h" not in files and not any(n.endswith("_tg_runtime.c") for n in files)
    assert "kws_frontend_invoke" in str(files["kws_frontend_model.h"])


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_kws_app_compiles_for_cortex_m4_with_werror(models_dir: Path, tmp_path: Path) -> None:
    """The portable app (pipeline + serial protocol) with both AOT models and the link library,
    compiled (not linked) for Cortex-M4F with -Werror, as in every generated project."""
    model = load_model(models_dir / "micro_speech/micro_speech_quantized.tflite")
    files = app_sources(config_for_model(model, labels=LABELS), model)
    fw = firmware_dir()
    for src in [fw / "apps/kws/kws_app.c", fw / "apps/kws/kws_mic.h", fw / "apps/kws/kws_mic_arduino.cpp",
                *sorted((fw / "link").glob("*")), fw / "boards/tg_app.h"]:
        files[src.name] = src.read_text()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    cflags = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2",
              "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path), "-c"]
    for name in sorted(files):
        if name.endswith((".c", ".cpp")):
            std = ["-std=c99"] if name.endswith(".c") else ["-std=c++14"]
            cc = "arm-none-eabi-gcc" if name.endswith(".c") else "arm-none-eabi-g++"
            proc = subprocess.run([cc, *cflags, *std, str(tmp_path / name), "-o", str(tmp_path / (name + ".o"))],
                                  check=False, capture_output=True, text=True)
            assert proc.returncode == 0, f"{name}: {proc.stderr[:800]}"
    # Microphone boards: the same app with KWS_MIC 1 (detection events + capture loop).
    cfg = config_for_model(model, labels=LABELS)
    (tmp_path / "kws_config.h").write_text(str(kws_sources(cfg, model, microphone=True)["kws_config.h"]))
    proc = subprocess.run(["arm-none-eabi-gcc", *cflags, "-std=c99", str(tmp_path / "kws_app.c"), "-o",
                           str(tmp_path / "mic.o")], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[:800]
