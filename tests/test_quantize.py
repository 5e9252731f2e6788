"""`tinygen quantize` with real TensorFlow, tfmot and TFLM on a tiny CNN trained here on load_digits.

scikit-learn ships the 8x8 digits (1,797 images, 10 classes) inside the package, so nothing is
downloaded. The CNN trains for a few seconds with fixed seeds; the quantize runs happen in this
process (TensorFlow is imported once) except where a fresh process is the point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from tinygen.emulator import qemu_available
from tinygen.model import classify_quantization, load_model
from tinygen.reference import Reference

tf = pytest.importorskip("tensorflow", reason="TensorFlow not installed (pip install 'tinygen[quantize]')")
tf_keras = pytest.importorskip("tf_keras", reason="tf-keras not installed (pip install 'tinygen[quantize]')")
pytest.importorskip("tensorflow_model_optimization", reason="tfmot not installed (pip install 'tinygen[quantize]')")
datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn not installed (pip install 'tinygen[quantize]')")


@dataclass(frozen=True)
class Digits:
    model: Path
    calib: Path
    train: Path
    eval: Path
    x_eval: np.ndarray
    y_eval: np.ndarray
    float_accuracy: float


def _cli(args: list[str]) -> Result:
    from tinygen.cli.main import _register, cli

    _register()
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Digits:
    d = tmp_path_factory.mktemp("digits")
    data = datasets.load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    y = data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    np.savez(d / "train.npz", x=x[:1200], y=y[:1200])
    np.savez(d / "eval.npz", x=x[1200:], y=y[1200:])
    np.save(d / "calib.npy", x[:200])
    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([
        tf_keras.Input((8, 8, 1)),
        tf_keras.layers.Conv2D(8, 3, activation="relu"),
        tf_keras.layers.Conv2D(16, 3, activation="relu"),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(10),
    ])
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # deliberately short: the float model is usable (~85-90 %), and QAT's fine-tuning has room
    model.fit(x[:1200], y[:1200], epochs=2, batch_size=32, verbose=0)
    model.save(d / "digits.keras")
    acc = float(np.mean(model.predict(x[1200:], verbose=0).argmax(axis=1) == y[1200:]))
    return Digits(d / "digits.keras", d / "calib.npy", d / "train.npz", d / "eval.npz", x[1200:], y[1200:], acc)


@pytest.fixture(scope="module")
def qat_run(digits: Digits, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One QAT run with everything on: --eval, --report, --png, --variants (human output)."""
    out = tmp_path_factory.mktemp("qat")
    res = _cli(["quantize", str(digits.model), "--calibration", str(digits.calib), "-o", str(out / "d.tflite"),
                "--qat", "--train", str(digits.train), "--epochs", "3", "--learning-rate", "1e-3",
                "--eval", str(digits.eval), "--report", str(out / "layers.json"), "--png", str(out / "layers.png"),
                "--variants", str(out / "variants")])
    return res, out


def _tflm_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    ref = Reference.from_file(path)
    return float(np.mean([ref.run_float(s[None]).argmax() == label for s, label in zip(x, y)]))


def _printed_accuracy(stdout: str, name: str) -> float:
    m = re.search(rf"^\s+{re.escape(name)}\s+([0-9.]+)%", stdout, re.MULTILINE)
    assert m, f"no accuracy for {name} in:\n{stdout}"
    return float(m.group(1)) / 100


def test_qat_prints_float_ptq_qat_accuracy_measured_through_tflm(digits: Digits, qat_run: tuple[Result, Path]) -> None:
    res, out = qat_run
    assert res.exit_code == 0, res.output
    printed = {n: _printed_accuracy(res.stdout, n) for n in ("float", "int8 PTQ", "int8 QAT", "int16x8 PTQ")}
    assert abs(printed["float"] - digits.float_accuracy) < 0.001
    # the printed quantized accuracies are TFLM's: recompute them from the written models
    files = {"int8 QAT": out / "d.tflite", "int8 PTQ": out / "variants" / "d.int8-ptq.tflite",
             "int16x8 PTQ": out / "variants" / "d.int16x8-ptq.tflite"}
    for name, path in files.items():
        assert abs(_tflm_accuracy(path, digits.x_eval, digits.y_eval) - printed[name]) < 0.001, name
    # fixed seeds; QAT fine-tunes 3 epochs at 1e-3 from a 2-epoch float model, so it lands several
    # points above PTQ (which keeps the float weights) and no tolerance is needed
    assert printed["int8 QAT"] >= printed["int8 PTQ"]
    assert printed["int8 PTQ"] > 0.7 and printed["int16x8 PTQ"] > 0.7
    assert "<- written" in next(line for line in res.stdout.splitlines() if "int8 QAT" in line)


def test_written_models_are_full_int8_and_int16x8_with_integer_io(qat_run: tuple[Result, Path]) -> None:
    _, out = qat_run
    qat, i16 = load_model(out / "d.tflite"), load_model(out / "variants" / "d.int16x8-ptq.tflite")
    assert classify_quantization(qat).kind == "full-int8"
    assert qat.inputs[0].dtype == "int8" and qat.outputs[0].dtype == "int8"
    assert classify_quantization(i16).kind == "int16x8"
    assert i16.inputs[0].dtype == "int16" and i16.outputs[0].dtype == "int16"


def test_cost_is_reported_next_to_accuracy(qat_run: tuple[Result, Path]) -> None:
    res, out = qat_run
    row = next(line for line in res.stdout.splitlines() if line.strip().startswith("int8 PTQ"))
    arena, ram, flash = (int(v.replace(",", "")) for v in row.split()[5:8])
    from tinygen.arena import compute_arena
    from tinygen.codegen.aot import sizes

    model = load_model(out / "variants" / "d.int8-ptq.tflite")
    assert arena == compute_arena(model, kernels="reference").total
    assert (ram, flash) == (sizes(model).ram, sizes(model).flash)
    row16 = next(line for line in res.stdout.splitlines() if line.strip().startswith("int16x8 PTQ"))
    assert int(row16.split()[5].replace(",", "")) == compute_arena(
        load_model(out / "variants" / "d.int16x8-ptq.tflite"), kernels="reference").total


def test_layer_report_names_every_quantized_tensor(qat_run: tuple[Result, Path]) -> None:
    res, out = qat_run
    doc = json.loads((out / "layers.json").read_text())
    assert doc["schema"] == "tinygen.quantize.layers"
    reported = {e["tensor"] for e in doc["layers"]}
    # every tensor an op of the int8 PTQ model produces (the debugger's view) has a row
    ptq = load_model(out / "variants" / "d.int8-ptq.tflite").main
    produced = {ptq.tensors[i].name for op in ptq.operators for i in op.outputs}
    assert produced and produced <= reported, produced - reported
    errs = [e["rmse_scale"] for e in doc["layers"]]
    assert errs == sorted(errs, reverse=True)
    assert all(0 <= e["cosine"] <= 1.0 + 1e-9 for e in doc["layers"])
    # a quantized conv is at least rounding noise: sqrt(1/12) of its scale
    assert any(e["op"] == "CONV_2D" and e["rmse_scale"] > 0.25 for e in doc["layers"])
    assert "most sensitive first" in res.stderr and doc["layers"][0]["tensor"].split(";")[0] in res.stderr
    png = (out / "layers.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000


def test_int16_activations_write_an_int16x8_model(digits: Digits, tmp_path: Path) -> None:
    out = tmp_path / "d16.tflite"
    res = _cli(["quantize", str(digits.model), "--calibration", str(digits.calib), "-o", str(out),
                "--activations", "int16", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "int16x8" and doc["agreement_on"] == "calibration"
    assert doc["top1_agreement"] >= 0.98 and doc["cosine"] > 0.999
    assert classify_quantization(load_model(out)).kind == "int16x8"


def test_keras3_model_is_rebuilt_in_tf_keras_for_qat() -> None:
    import keras  # type: ignore[import-untyped]

    from tinygen.quantize.keras import keras3_to_tf_keras

    inp = keras.Input((8, 8, 1))
    h = keras.layers.ReLU()(keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(inp)))
    h = keras.layers.Add()([h, keras.layers.Conv2D(4, 1)(h)])
    out = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.MaxPooling2D()(h)))
    m3 = keras.Model(inp, out)
    m2 = keras3_to_tf_keras(m3, tf_keras, Path("k3.keras"))  # raises if the outputs differ
    assert type(m2).__module__.startswith("tf_keras")
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(m2(x)), np.asarray(m3(x)), rtol=1e-4, atol=1e-5)


def _assert_refused(res: Result, code: int, words: str, *unwritten: Path) -> None:
    assert res.exit_code == code, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and words in lines[0], res.stderr
    assert "hint:" in res.stderr
    for p in unwritten:
        assert not p.exists(), p


def test_model_keras_cannot_load(digits: Digits, tmp_path: Path) -> None:
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "o.tflite"
    res = _cli(["quantize", str(bad), "--calibration", str(digits.calib), "-o", str(out)])
    _assert_refused(res, 3, "Keras cannot load", out)


def test_data_shape_mismatch(digits: Digits, tmp_path: Path) -> None:
    calib = tmp_path / "c.npy"
    np.save(calib, np.zeros((4, 8, 8), np.float32))  # channel axis missing
    out, rep = tmp_path / "o.tflite", tmp_path / "r.json"
    res = _cli(["quantize", str(digits.model), "--calibration", str(calib), "-o", str(out), "--report", str(rep)])
    _assert_refused(res, 2, "the model's input is [N, 8, 8, 1]", out, rep)


def test_labels_outside_the_output_range(digits: Digits, tmp_path: Path) -> None:
    ev = tmp_path / "e.npz"
    np.savez(ev, x=digits.x_eval[:8], y=np.array([0, 1, 2, 3, 4, 5, 6, 10]))
    out = tmp_path / "o.tflite"
    res = _cli(["quantize", str(digits.model), "--calibration", str(digits.calib), "-o", str(out),
                "--eval", str(ev)])
    _assert_refused(res, 2, "label 10 is outside the model's 10 output classes", out)


def test_qat_needs_train(digits: Digits, tmp_path: Path) -> None:
    out = tmp_path / "o.tflite"
    res = _cli(["quantize", str(digits.model), "--calibration", str(digits.calib), "-o", str(out), "--qat"])
    _assert_refused(res, 2, "--qat needs --train", out)


@pytest.mark.parametrize("hidden", ["tensorflow", "tensorflow_model_optimization"])
def test_missing_quantize_extra(digits: Digits, tmp_path: Path, hidden: str) -> None:
    """A fresh process in which the package cannot be imported (sys.modules[name] = None)."""
    out = tmp_path / "o.tflite"
    code = (f"import sys; sys.modules[{hidden!r}] = None; sys.argv[0] = 'tinygen'; "
            "from tinygen.cli.main import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "quantize", str(digits.model), "--calibration",
                           str(digits.calib), "-o", str(out), "--qat", "--train", str(digits.train)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "quantize" in errors[0]
    assert "hint: pip install 'tinygen[quantize]'" in proc.stderr and not out.exists()


def test_quantize_keras3_model_in_a_fresh_process(tmp_path: Path) -> None:
    """PTQ of a Keras 3 model, --json on stdout with nothing else (TensorFlow's prints go to stderr)."""
    import keras  # type: ignore[import-untyped]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 8, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(2), keras.layers.Softmax()])
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", x)
    out = tmp_path / "m_int8.tflite"
    proc = subprocess.run(
        [sys.executable, "-m", "tinygen.cli.main", "quantize", str(tmp_path / "m.keras"), "--calibration",
         str(tmp_path / "calib.npy"), "-o", str(out), "--json"],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tinygen.quantize" and doc["samples"] == 64 and doc["kind"] == "full-int8"
    assert doc["top1_agreement"] >= 0.9 and doc["cosine"] > 0.98
    model_info = load_model(out)
    assert classify_quantization(model_info).kind == "full-int8"
    assert model_info.inputs[0].dtype == "int8" and model_info.outputs[0].dtype == "int8"


def test_quantize_refuses_missing_calibration(digits: Digits, tmp_path: Path) -> None:
    out = tmp_path / "x.tflite"
    res = _cli(["quantize", str(digits.model), "--calibration", str(tmp_path / "nope.npy"), "-o", str(out)])
    _assert_refused(res, 2, "no such file", out)


def _verify(model: Path, inputs: Path, *extra: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "verify", "--board", "qemu-m4", "--model",
                           str(model), "--inputs", str(inputs), *extra, "--json"],
                          check=False, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


@pytest.fixture(scope="module")
def digit_inputs(digits: Digits, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight held-out digits as float arrays: verify quantizes them with each model's input scale."""
    path = tmp_path_factory.mktemp("inputs") / "digits.npz"
    np.savez(path, **{f"digit{i}": digits.x_eval[i] for i in range(8)})
    return path


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
@pytest.mark.parametrize("variant", ["d.tflite", "variants/d.int8-ptq.tflite", "variants/d.int16x8-ptq.tflite"])
def test_quantized_models_verify_bit_exact_on_qemu(qat_run: tuple[Result, Path], digit_inputs: Path,
                                                   variant: str) -> None:
    """The QAT int8, PTQ int8 and PTQ int16x8 models, built with the default (AOT) runtime."""
    _, out = qat_run
    doc = _verify(out / variant, digit_inputs)
    assert doc["ok"] and doc["completed"] == 8 and doc["outputs"][0]["exact"] == 8, doc
