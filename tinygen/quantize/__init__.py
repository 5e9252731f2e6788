"""`tinygen quantize`: a float Keras model to a full-int8 or int16x8 .tflite, with the evidence to choose.

Stages: data (read and check arrays, no TensorFlow) -> keras (TensorFlow imported here only, the
model loaded) -> ptq / qat (TensorFlow's converter, tfmot fine-tuning) -> evaluate (accuracy through
TFLM's interpreter) -> cost (tinygen's arena and AOT estimates) -> layers (TensorFlow's per-layer
debugger). `run.quantize` ties them together and writes nothing until every stage has succeeded.
"""

from __future__ import annotations

from .data import load_calibration
from .qat import TrainOptions
from .run import QuantizeResult, Request, Variant, quantize

__all__ = ["QuantizeResult", "Request", "TrainOptions", "Variant", "load_calibration", "quantize"]
