"""TFLite conversion with TensorFlow's converter: full-int8 or int16x8, integer input and output.

Post-training quantization (PTQ) calibrates activation ranges on representative samples; a
quantization-aware-trained model (qat.py) goes through the same converter, which then reads the
ranges its fake-quant nodes learned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ModelError
from .keras import quiet_stdout

ACTIVATIONS = ("int8", "int16")
KIND = {"int8": "full-int8", "int16": "int16x8"}


def converter(tf: Any, model: Any, calibration: np.ndarray, activations: str, integer_io: bool = True) -> Any:
    """A TFLiteConverter set up for `activations` (int8 or int16, weights int8 either way)."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)

    def representative() -> Iterator[list[np.ndarray]]:
        for sample in calibration:
            yield [sample[None, ...]]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    if activations == "int16":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        io_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.int8
    if integer_io:
        conv.inference_input_type = io_type
        conv.inference_output_type = io_type
    return conv


def convert(conv: Any, what: str) -> bytes:
    """Run the converter; its failures become one ModelError line."""
    from tensorflow.lite.python.convert_phase import ConverterError  # type: ignore[import-untyped]

    try:
        with quiet_stdout():
            return bytes(conv.convert())
    except (ConverterError, ValueError, RuntimeError, TypeError) as exc:
        text = str(exc).strip()
        first = text.splitlines()[0][:300] if text else type(exc).__name__
        raise ModelError(f"TensorFlow could not convert {what}: {first}",
                         hint="the model needs ops TFLite can quantize (Conv, Dense, pooling, ReLU, ...)") from exc


def float_tflite(tf: Any, model: Any, what: str) -> bytes:
    """The unquantized TFLite model (what the per-layer debugger compares against)."""
    return convert(tf.lite.TFLiteConverter.from_keras_model(model), what)


def ptq(tf: Any, model: Any, calibration: np.ndarray, activations: str, what: str) -> bytes:
    return convert(converter(tf, model, calibration, activations), f"{what} to {KIND[activations]}")
