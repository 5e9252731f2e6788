"""Model intake: parse a .tflite, describe it, and decide whether tinygen can deploy it."""

from .checks import Int8Report, QuantReport, check_deployable, classify_quantization
from .info import ModelInfo, OperatorInfo, Quantization, SubgraphInfo, TensorInfo
from .reader import load_model, parse_model

__all__ = [
    "Int8Report", "ModelInfo", "OperatorInfo", "QuantReport", "Quantization", "SubgraphInfo",
    "TensorInfo",
    "check_deployable", "classify_quantization", "load_model", "parse_model",
]
