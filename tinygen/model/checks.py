"""Is this model deployable by tinygen? Full-int8 only, and only ops TFLM has.

Classification looks at activations (non-constant tensors), because that is what decides the
arithmetic on the device: float activations mean a float or hybrid model, int16 activations feeding
weighted ops mean int16x8 quantization. Integer-only audio preprocessing (int16 samples, int32
spectra) is full-integer and allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError, UnsupportedOpError
from .info import ModelInfo
from .ops import resolver_method

_FLOAT_TYPES = {"float32", "float16", "float64", "bfloat16", "complex64", "complex128"}
# Ops with a weight tensor: their activation type names the quantization scheme. Op -> (activation
# input, weight input); TRANSPOSE_CONV's inputs are (output_shape, weights, activation, bias).
_WEIGHTED_OPS: dict[str, tuple[int, int]] = {
    "CONV_2D": (0, 1), "DEPTHWISE_CONV_2D": (0, 1), "FULLY_CONNECTED": (0, 1),
    "TRANSPOSE_CONV": (2, 1), "BATCH_MATMUL": (0, 1), "SVDF": (0, 1),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (0, 2), "CONV_3D": (0, 1),
}


@dataclass(frozen=True)
class Int8Report:
    """`kind` is one of: full-int8, float, hybrid, int16x8."""

    kind: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.kind == "full-int8"


def classify_quantization(model: ModelInfo) -> Int8Report:
    """Decide which quantization scheme the model uses."""
    for sg in model.subgraphs:
        tensors = sg.tensors
        for op in sg.operators:
            if op.op not in _WEIGHTED_OPS:
                continue
            a, w = _WEIGHTED_OPS[op.op]
            if len(op.inputs) <= max(a, w) or op.inputs[a] < 0 or op.inputs[w] < 0:
                continue
            act, weight = tensors[op.inputs[a]], tensors[op.inputs[w]]
            if act.dtype in _FLOAT_TYPES and weight.dtype in ("int8", "uint8", "int4"):
                return Int8Report(
                    "hybrid",
                    f"{op.op} (operator {op.index}) has {weight.dtype} weights but {act.dtype} activations",
                )
            if act.dtype == "int16" and weight.dtype == "int8":
                return Int8Report(
                    "int16x8", f"{op.op} (operator {op.index}) has int16 activations with int8 weights"
                )
        for t in tensors:
            if not t.is_constant and t.dtype in _FLOAT_TYPES:
                return Int8Report("float", f"tensor '{t.name}' is {t.dtype}")
    return Int8Report("full-int8", "every activation is an integer type")


def check_deployable(model: ModelInfo) -> None:
    """Raise a one-line `ModelError` unless the model is full-int8 with ops TFLM has."""
    report = classify_quantization(model)
    hint = (
        "re-export it with full-integer post-training quantization "
        "(`tinygen quantize MODEL --calibration DATA -o OUT.tflite`)"
    )
    if report.kind == "float":
        raise ModelError(f"{model.path}: float model, not full-int8 ({report.reason})", hint=hint)
    if report.kind == "hybrid":
        raise ModelError(
            f"{model.path}: hybrid-quantized model (int8 weights, float activations): {report.reason}",
            hint=hint,
        )
    if report.kind == "int16x8":
        raise ModelError(
            f"{model.path}: int16x8-quantized model, tinygen deploys full-int8 only: {report.reason}",
            hint=hint,
        )
    missing = [name for name in model.op_counts if resolver_method(name) is None]
    if missing:
        raise UnsupportedOpError(
            f"{model.path}: op(s) not available in TensorFlow Lite Micro: {', '.join(missing)}",
            hint="replace them in the model, or add a custom kernel to your firmware",
        )
