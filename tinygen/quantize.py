"""Full-int8 post-training quantization with TensorFlow's converter (`tinygen quantize`).

TensorFlow is imported here only, inside the function: every other command starts without it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, ToolMissingError, UsageError
from .model import check_deployable, parse_model
from .report import Reporter, silent


@dataclass(frozen=True)
class QuantizeResult:
    output: Path
    bytes: int
    samples: int
    top1_agreement: float | None  # for classifier-like outputs (last dim > 1)
    max_abs_error: float
    rmse: float
    cosine: float


def load_calibration(path: Path) -> np.ndarray:
    """Calibration samples as float32 [N, ...]: a .npy file, or a directory of .npy files (one sample each)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"calibration data {path}: no such file or directory")
    try:
        if path.is_dir():
            files = sorted(path.glob("*.npy"))
            if not files:
                raise UsageError(f"calibration directory {path} holds no .npy files")
            data = np.stack([np.load(f) for f in files])
        else:
            data = np.load(path)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read calibration data {path}: {exc}") from exc
    if data.ndim < 2 or len(data) == 0:
        raise UsageError(f"calibration data {path} must be [N, ...] with N >= 1 samples, got shape {data.shape}")
    return data.astype(np.float32)


def _load_float_model(tf: Any, source: Path) -> Any:
    if source.is_dir():
        return tf.saved_model.load(str(source))
    if source.suffix in (".keras", ".h5"):
        return tf.keras.models.load_model(str(source), compile=False)
    raise UsageError(f"{source}: expected a .keras/.h5 file or a SavedModel directory")


def quantize(
    source: str | Path,
    calibration: str | Path,
    output: str | Path,
    reporter: Reporter | None = None,
) -> QuantizeResult:
    reporter = reporter or silent()
    source, output = Path(source), Path(output)
    if not source.exists():
        raise UsageError(f"{source}: no such file or directory")
    data = load_calibration(Path(calibration))
    reporter.step("importing TensorFlow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise ToolMissingError(
            "TensorFlow is not installed; `tinygen quantize` needs it",
            hint="pip install 'tinygen[quantize]'",
        ) from exc

    reporter.step(f"loading {source}")
    is_saved_model = source.is_dir()
    float_model = _load_float_model(tf, source)
    if is_saved_model:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(source))
        fn = float_model.signatures["serving_default"]

        def run_float(x: np.ndarray) -> np.ndarray:
            out = fn(tf.constant(x))
            result: np.ndarray = next(iter(out.values())).numpy()
            return result
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(float_model)

        def run_float(x: np.ndarray) -> np.ndarray:
            return np.asarray(float_model(x, training=False))

    def representative() -> Any:
        for sample in data:
            yield [sample[None, ...]]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    reporter.step(f"quantizing with {len(data)} calibration samples")
    try:
        # TensorFlow prints to stdout while exporting; stdout belongs to --json.
        with contextlib.redirect_stdout(sys.stderr):
            flatbuffer = bytes(converter.convert())
    except Exception as exc:  # the converter reports problems as many exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"TensorFlow could not quantize {source} to full int8: {first}") from exc

    model = parse_model(flatbuffer, output)
    check_deployable(model)
    reporter.step("comparing int8 and float outputs on the calibration data")
    metrics = _agreement(flatbuffer, data, run_float)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tinygen-", dir=output.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(flatbuffer)
    os.replace(tmp, output)
    return QuantizeResult(output=output, bytes=len(flatbuffer), samples=len(data), **metrics)


def _agreement(flatbuffer: bytes, data: np.ndarray, run_float: Any) -> dict[str, Any]:
    """Run both models on every calibration sample; dequantized int8 vs float outputs."""
    from .reference import Reference

    ref = Reference.from_bytes(flatbuffer)
    qs, fs = [], []
    for sample in data:
        x = sample[None, ...]
        qs.append(ref.run_float(x))
        fs.append(np.asarray(run_float(x), dtype=np.float32).reshape(qs[-1].shape))
    q, f = np.concatenate([a.reshape(1, -1) for a in qs]), np.concatenate([a.reshape(1, -1) for a in fs])
    err = q - f
    cos = float(np.dot(q.ravel(), f.ravel()) / (np.linalg.norm(q) * np.linalg.norm(f) + 1e-12))
    top1 = float(np.mean(q.argmax(axis=1) == f.argmax(axis=1))) if q.shape[1] > 1 else None
    return {
        "top1_agreement": top1,
        "max_abs_error": float(np.abs(err).max()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "cosine": cos,
    }
