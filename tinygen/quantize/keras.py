"""TensorFlow, tf_keras and tfmot imported on demand, and the float model loaded from a file.

The only place tinygen imports TensorFlow. PTQ converts whatever Keras saved (Keras 3 reads both
Keras 3 and tf_keras files). QAT needs a tf_keras model, because TensorFlow Model Optimization works
on tf_keras only: a tf_keras file loads directly, a Keras 3 file is rebuilt in tf_keras from its
config (layer arguments tf_keras does not know are dropped) and gets the same weights, checked by
running both on the same input.
"""

from __future__ import annotations

import contextlib
import json
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
        import tensorflow as tf  # type: ignore[import-untyped]
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


def _first_line(exc: BaseException) -> str:
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
            raise ModelError(f"TensorFlow cannot load the SavedModel {path}: {_first_line(exc)}",
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
    model3 = _load(keras.models.load_model, source)
    return keras3_to_tf_keras(model3, tf_keras, source)


def _load(loader: Any, source: Path) -> Any:
    try:
        with quiet_stdout():
            return loader(str(source), compile=False)
    except LOAD_ERRORS as exc:
        raise ModelError(f"Keras cannot load {source}: {_first_line(exc)}",
                         hint="pass the float model saved with model.save('model.keras') (Keras 3 or tf_keras)") from exc


def keras3_to_tf_keras(model3: Any, tf_keras: Any, source: Path) -> Any:
    """Rebuild a Keras 3 model in tf_keras (same layers, same weights) for tfmot."""
    config = _translate(json.loads(model3.to_json()), tf_keras)
    try:
        with quiet_stdout():
            model2 = tf_keras.models.model_from_json(json.dumps(config))
            model2.set_weights(model3.get_weights())
    except LOAD_ERRORS as exc:
        raise ModelError(f"{source}: tf_keras cannot rebuild this Keras 3 model for QAT: {_first_line(exc)}",
                         hint="tfmot needs tf_keras: build and save the model with `import tf_keras as keras`") from exc
    shape = [1 if d is None else d for d in model3.inputs[0].shape]
    probe = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    a, b = np.asarray(model3(probe, training=False)), np.asarray(model2(probe, training=False))
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        raise ModelError(f"{source}: the tf_keras rebuild of this Keras 3 model computes something else",
                         hint="tfmot needs tf_keras: build and save the model with `import tf_keras as keras`")
    return model2


_DTYPE_POLICIES = ("DTypePolicy", "FloatDTypePolicy")
_LAYER_BASE_ARGS = {"name", "trainable", "dtype", "batch_input_shape", "batch_size", "input_shape", "input_dim"}


def _translate(obj: Any, tf_keras: Any) -> Any:
    """A Keras 3 serialized config -> the tf_keras one (recursive)."""
    if isinstance(obj, list):
        return [_translate(v, tf_keras) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") in _DTYPE_POLICIES:
        return obj["config"]["name"]
    out = {}
    for key, value in obj.items():
        if key in ("module", "registered_name", "build_config", "compile_config"):
            continue
        out[key] = _nodes(value) if key == "inbound_nodes" else _translate(value, tf_keras)
    config = out.get("config")
    if isinstance(config, dict) and "class_name" in out:
        if "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        _drop_unknown_args(out["class_name"], config, str(obj.get("module") or ""), tf_keras)
    return out


def _drop_unknown_args(class_name: str, config: dict[str, Any], module: str, tf_keras: Any) -> None:
    import inspect

    registry = {"layers": tf_keras.layers, "initializers": tf_keras.initializers,
                "regularizers": tf_keras.regularizers, "constraints": tf_keras.constraints}
    kind = module.rsplit(".", 1)[-1]
    cls = getattr(registry.get(kind), class_name, None) if kind in registry else None
    if cls is None or class_name in ("Sequential", "Functional", "Model"):
        return
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    if kind == "layers":
        allowed |= _LAYER_BASE_ARGS
    for key in [k for k in config if k not in allowed]:
        del config[key]


def _nodes(nodes: Any) -> Any:
    """Keras 3 inbound nodes ({"args": [keras tensors]}) -> tf_keras [[layer, node, tensor, {}], ...]."""
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        return nodes
    out = []
    for node in nodes:
        args = node.get("args", [])
        first = args[0] if len(args) == 1 else args
        tensors = first if isinstance(first, list) else [first]
        out.append([[*t["config"]["keras_history"], {}] for t in tensors])
    return out
