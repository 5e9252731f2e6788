"""Quantization-aware training with TensorFlow Model Optimization (tfmot) on a tf_keras model.

`tfmot.quantization.keras.quantize_model` wraps every supported layer with fake-quantization
(8-bit weights and activations, the scheme the TFLite int8 kernels run), the wrapped model is
fine-tuned on the training set with a small learning rate, and TensorFlow's converter turns it
into a full-int8 model with int8 input and output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError
from ..report import Reporter
from .data import Labelled
from .keras import import_tfmot, quiet_stdout


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 3
    learning_rate: float = 1e-4
    batch_size: int = 32
    seed: int = 0


def outputs_are_probabilities(model: Any, x: np.ndarray) -> bool:
    """True when the model ends in a softmax (rows in [0, 1] summing to 1), False for logits."""
    out = np.asarray(model(x[:16], training=False), dtype=np.float64)
    return bool(np.all(out >= 0) and np.all(out <= 1) and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3))


def train_qat(model: Any, train: Labelled, options: TrainOptions, reporter: Reporter) -> Any:
    """The fine-tuned quantization-aware tf_keras model (fake-quant nodes with learned ranges)."""
    tf_keras, tfmot = import_tfmot()
    tf_keras.utils.set_random_seed(options.seed)
    try:
        with quiet_stdout():
            q_model = tfmot.quantization.keras.quantize_model(model)
    except (ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"tfmot cannot make this model quantization-aware: {first}",
                         hint="tfmot quantizes built-in layers; BatchNormalization only right after a convolution (it is folded)") from exc
    from_logits = not outputs_are_probabilities(model, train.x)
    q_model.compile(optimizer=tf_keras.optimizers.Adam(options.learning_rate),
                    loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
                    metrics=["accuracy"])
    reporter.step(f"quantization-aware training: {options.epochs} epoch(s) on {len(train.x)} samples, "
                  f"learning rate {options.learning_rate:g}")
    with quiet_stdout():
        history = q_model.fit(train.x, train.y, epochs=options.epochs, batch_size=options.batch_size,
                              shuffle=True, verbose=0)
    losses = history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise ModelError(f"quantization-aware training diverged (loss {losses[-1]})",
                         hint="lower --learning-rate")
    return q_model
