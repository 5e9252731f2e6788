"""`tinygen quantize` with real TensorFlow on a small Keras classifier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen.model import classify_quantization, load_model

tf = pytest.importorskip("tensorflow", reason="TensorFlow not installed (pip install 'tinygen[quantize]')")


@pytest.fixture(scope="module")
def keras_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("q")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int32)
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)),
        tf.keras.layers.Conv2D(4, 3, activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(2),
        tf.keras.layers.Softmax(),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0)
    path = d / "m.keras"
    model.save(path)
    calib = d / "calib.npy"
    np.save(calib, x[:64])
    return path, calib


def test_quantize_keras_model_to_full_int8(keras_model: tuple[Path, Path], tmp_path: Path) -> None:
    src, calib = keras_model
    out = tmp_path / "m_int8.tflite"
    proc = subprocess.run(
        [sys.executable, "-m", "tinygen.cli.main", "quantize", str(src), "--calibration", str(calib),
         "-o", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tinygen.quantize" and doc["samples"] == 64
    assert doc["top1_agreement"] >= 0.9 and doc["cosine"] > 0.98
    model = load_model(out)
    assert classify_quantization(model).kind == "full-int8"
    assert model.inputs[0].dtype == "int8" and model.outputs[0].dtype == "int8"


def test_quantize_refuses_missing_calibration(keras_model: tuple[Path, Path], tmp_path: Path) -> None:
    src, _ = keras_model
    out = tmp_path / "x.tflite"
    proc = subprocess.run(
        [sys.executable, "-m", "tinygen.cli.main", "quantize", str(src), "--calibration",
         str(tmp_path / "nope.npy"), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and not out.exists()
