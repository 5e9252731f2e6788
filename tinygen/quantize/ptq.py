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


def _from_model(tf: Any, model: Any) -> Any:
    """tf_keras models convert with batch 1 as they are; a Keras 3 model is traced with batch 1
    first, or its Flatten/Reshape keep a dynamic batch (SHAPE, STRIDED_SLICE, PACK ops on the MCU)."""
    from .keras import SavedModel

    if isinstance(model, SavedModel):
        return tf.lite.TFLiteConverter.from_saved_model(str(model.path))
    if type(model).__module__.startswith("tf_keras"):
        return tf.lite.TFLiteConverter.from_keras_model(model)
    import keras  # type: ignore[import-untyped]

    inp = keras.Input(batch_shape=(1, *model.inputs[0].shape[1:]), dtype="float32")
    return tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, model(inp, training=False)))


def converter(tf: Any, model: Any, calibration: np.ndarray, activations: str, integer_io: bool = True) -> Any:
    """A TFLiteConverter set up for `activations` (int8 or int16, weights int8 either way)."""
    conv = _from_model(tf, model)

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


def ptq(tf: Any, model: Any, calibration: np.ndarray, activations: str, what: str) -> bytes:
    return convert(converter(tf, model, calibration, activations), f"{what} to {KIND[activations]}")
