"""A Keras 3 model rebuilt in tf_keras (same layers, same weights), for tfmot's QAT.

The Keras 3 config is translated to tf_keras's: dtype policies become dtype names, `batch_shape`
becomes `batch_input_shape`, inbound nodes go back to `[layer, node, tensor, {}]` lists, and layer or
initializer arguments tf_keras does not know (new in Keras 3) are dropped. The rebuilt model is run
beside the original on one input and refused unless both compute the same.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .keras import LOAD_ERRORS, first_line, quiet_stdout


def keras3_to_tf_keras(model3: Any, tf_keras: Any, source: Path) -> Any:
    """Rebuild a Keras 3 model in tf_keras (same layers, same weights) for tfmot."""
    config = _translate(json.loads(model3.to_json()), tf_keras)
    try:
        with quiet_stdout():
            model2 = tf_keras.models.model_from_json(json.dumps(config))
            model2.set_weights(model3.get_weights())
    except LOAD_ERRORS as exc:
        raise ModelError(f"{source}: tf_keras cannot rebuild this Keras 3 model for QAT: {first_line(exc)}",
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
