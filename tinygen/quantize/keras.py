"""TensorFlow, tf_keras and tfmot imported on demand, and the float model loaded from a file.

The only place tinygen imports TensorFlow. PTQ converts whatever Keras saved (Keras 3 reads both
Keras 3 and tf_keras files) or a SavedModel directory. QAT needs a tf_keras model, because TensorFlow
Model Optimization works on tf_keras only: a tf_keras file loads directly, a Keras 3 file is rebuilt
in tf_keras (bridge.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, UsageError

EXTRA_HINT = "pip install 'tinygen[quantize]' (TensorFlow, tf-keras, tensorflow-model-optimization)"
# what Keras raises for a file it cannot read (truncated zip, wrong HDF5, unknown layer config)
LOAD_ERRORS = (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile, AttributeError)


def require_extra(qat: bool) -> None:
    """Fail in one line, before reading data or importing TensorFlow, when the extra is missing."""
    import importlib.util

    needed = ["tensorflow", "tf_keras", "tensorflow_model_optimization"] if qat else ["tensorflow"]
    for name in needed:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ValueError, ImportError):  # ValueError: the module is in sys.modules as None
            found = False
        if not found:
            what = "--qat" if qat and name != "tensorflow" else "`tinygen quantize`"
            raise UsageError(f"{what} needs the `quantize` extra: {name} is not installed", hint=EXTRA_HINT)


def import_tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise UsageError("TensorFlow is not installed: `tinygen quantize` needs the `quantize` extra",
                         hint=EXTRA_HINT) from exc
    return tf


def import_tfmot() -> tuple[Any, Any]:
    """(tf_keras, tensorflow_model_optimization) for QAT."""
    try:
        import tensorflow_model_optimization as tfmot  # type: ignore[import-untyped]
        import tf_keras  # type: ignore[import-untyped]
    except ImportError as exc:
        raise UsageError(f"--qat needs the `quantize` extra: {exc.name} is not installed", hint=EXTRA_HINT) from exc
    return tf_keras, tfmot


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """TensorFlow prints to stdout while converting and training (stdout belongs to --json), and
    warns about its own internals (deprecated tf.lite.Interpreter, I/O statistics) in every run."""
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorflow\.")
        yield


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class SavedModel:
    """A TensorFlow SavedModel directory (PTQ only) with the parts of a Keras model quantize uses."""

    def __init__(self, tf: Any, path: Path) -> None:
        self.path = path
        try:
            with quiet_stdout():
                self._fn = tf.saved_model.load(str(path)).signatures["serving_default"]
        except (ValueError, OSError, KeyError, RuntimeError) as exc:
            raise ModelError(f"TensorFlow cannot load the SavedModel {path}: {first_line(exc)}",
                             hint="pass a SavedModel with a serving_default signature, or a .keras file") from exc
        self._tf = tf
        specs = list(self._fn.structured_input_signature[1].values())
        self.inputs = [_Shape(tuple(s.shape)) for s in specs]
        self.outputs = [_Shape(tuple(s.shape)) for s in self._fn.structured_outputs.values()]

    def predict(self, x: np.ndarray, batch_size: int = 256, verbose: int = 0) -> list[np.ndarray]:
        rows = [self._fn(self._tf.constant(x[i:i + 1])) for i in range(len(x))]
        keys = list(rows[0].keys())
        return [np.concatenate([r[k].numpy() for r in rows]) for k in keys]


@dataclass(frozen=True)
class _Shape:
    shape: tuple[int | None, ...]


def load_float_model(source: Path, for_qat: bool) -> Any:
    """The float model in `source`: .keras/.h5 (tf_keras when `for_qat`, else Keras 3) or a SavedModel."""
    if not source.exists():
        raise UsageError(f"{source}: no such file or directory", hint="pass the float model (.keras or .h5)")
    if source.is_dir():
        if for_qat:
            raise UsageError(f"{source}: --qat needs a Keras model file, not a SavedModel",
                             hint="save the model with model.save('model.keras')")
        return SavedModel(import_tf(), source)
    if source.suffix not in (".keras", ".h5"):
        raise UsageError(f"{source}: expected a Keras model file (.keras or .h5)",
                         hint="save the float model with model.save('model.keras')")
    import_tf()
    import keras  # type: ignore[import-untyped]  # Keras 3 (tfmot points tf.keras at tf_keras)

    if not for_qat:
        return _load(keras.models.load_model, source)
    tf_keras, _ = import_tfmot()
    try:
        with quiet_stdout():
            return tf_keras.models.load_model(str(source), compile=False)
    except LOAD_ERRORS:
        pass  # not a tf_keras file: a Keras 3 one is rebuilt below
    from .bridge import keras3_to_tf_keras

    model3 = _load(keras.models.load_model, source)
    return keras3_to_tf_keras(model3, tf_keras, source)


def _load(loader: Any, source: Path) -> Any:
    try:
        with quiet_stdout():
            return loader(str(source), compile=False)
    except LOAD_ERRORS as exc:
        raise ModelError(f"Keras cannot load {source}: {first_line(exc)}",
                         hint="pass the float model saved with model.save('model.keras') (Keras 3 or tf_keras)") from exc
