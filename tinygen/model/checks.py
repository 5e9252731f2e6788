"""Is this model deployable by tinygen? Integer-quantized (full-int8 or int16x8), ops TFLM has.

The verdict looks at activations, because they decide the arithmetic on the device. An activation
here is a tensor an operator reads or writes at run time that holds data: constants, zero-element
placeholders (the float32 `(0,)` intermediates the converter attaches to quantized LSTMs) and
operator intermediates are not activations.

- **float**: some activation is float (this includes float input/output around an integer body).
- **hybrid**: a weighted op reads float activations with integer weights (dynamic-range models).
- **int16x8**: int16 activations with symmetric quantization (zero point 0) reach arithmetic, with
  int8 weights where there are weights: the 16x8 scheme TFLM runs for audio models.
- **full-int8**: every activation is an integer type and the arithmetic is int8. Integer-only
  audio preprocessing (unquantized int16 samples, int32 spectra), the int16 state of int8 LSTM /
  SVDF kernels, an int16 softmax output and int16 model I/O converted by QUANTIZE are part of it.

tinygen deploys full-int8 and int16x8 on both runtimes; float and hybrid models are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError, UnsupportedOpError
from .info import ModelInfo, OperatorInfo, SubgraphInfo, TensorInfo
from .ops import resolver_method

FULL_INT8 = "full-int8"
INT16X8 = "int16x8"
HYBRID = "hybrid"
FLOAT = "float"

_FLOAT_TYPES = {"float32", "float16", "float64", "bfloat16", "complex64", "complex128"}
_INT_WEIGHT_TYPES = {"int8", "uint8", "int4"}
# Weighted ops: which input is the activation and which inputs are weights.
_WEIGHTED_OPS: dict[str, tuple[int, tuple[int, ...]]] = {
    "CONV_2D": (0, (1,)),
    "DEPTHWISE_CONV_2D": (0, (1,)),
    "FULLY_CONNECTED": (0, (1,)),
    "CONV_3D": (0, (1,)),
    "BATCH_MATMUL": (0, (1,)),
    "TRANSPOSE_CONV": (2, (1,)),  # inputs: output_shape, weights, activation, bias
    "SVDF": (0, (1, 2)),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (0, (1, 2, 3, 4, 5, 6, 7, 8)),
}
_CONVERSION_OPS = {"QUANTIZE", "DEQUANTIZE"}
# Runtimes tinygen can deploy a model of each kind on.
_RUNTIMES: dict[str, tuple[str, ...]] = {
    FULL_INT8: ("tflm", "aot"), INT16X8: ("tflm", "aot"), HYBRID: (), FLOAT: (),
}


@dataclass(frozen=True)
class QuantReport:
    """The intake verdict: `kind` is one of full-int8, int16x8, hybrid, float."""

    kind: str
    reason: str

    @property
    def deployable(self) -> bool:
        return self.kind in (FULL_INT8, INT16X8)

    @property
    def ok(self) -> bool:
        """Deployable by tinygen (kept under the old name for callers that ask `ok`)."""
        return self.deployable

    @property
    def runtimes(self) -> tuple[str, ...]:
        """tinygen runtimes that can run a model of this kind."""
        return _RUNTIMES[self.kind]

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "reason": self.reason, "deployable": self.deployable,
                "runtimes": list(self.runtimes)}


Int8Report = QuantReport  # the name before int16x8 became a supported kind


def _activations(sg: SubgraphInfo) -> set[int]:
    """Tensor indices that carry data at run time: operator inputs/outputs and subgraph I/O."""
    used = set(sg.inputs) | set(sg.outputs)
    for op in sg.operators:
        used.update(i for i in op.inputs if i >= 0)
        used.update(op.outputs)
    for op in sg.operators:
        used.difference_update(op.intermediates)
    return {i for i in used if not sg.tensors[i].is_constant and sg.tensors[i].num_elements > 0}


def _symmetric_int16(t: TensorInfo) -> bool:
    q = t.quantization
    return t.dtype == "int16" and q is not None and bool(q.scale) and all(z == 0 for z in q.zero_point)


def _where(op: OperatorInfo) -> str:
    return f"{op.op} (operator {op.index})"


def _float_reason(sg: SubgraphInfo, acts: set[int]) -> str | None:
    floats = [sg.tensors[i] for i in sorted(acts) if sg.tensors[i].dtype in _FLOAT_TYPES]
    if not floats:
        return None
    io = set(sg.inputs) | set(sg.outputs)
    if all(t.index in io for t in floats):
        # Float I/O only: the body is integer, converted by QUANTIZE/DEQUANTIZE at the edges.
        names = ", ".join(f"'{t.name}' ({t.dtype})" for t in floats)
        return (f"float input/output around an integer body: {names}; "
                "export with inference_input_type/inference_output_type = tf.int8 (or tf.int16)")
    inner = next((t for t in floats if t.index not in io), floats[0])
    return f"activation '{inner.name}' is {inner.dtype}"


def _int16x8_reason(sg: SubgraphInfo, acts: set[int]) -> str | None:
    tensors = sg.tensors
    for op in sg.operators:
        spec = _WEIGHTED_OPS.get(op.op)
        if spec is None:
            continue
        a, _ = spec
        if a < len(op.inputs) and op.inputs[a] >= 0 and tensors[op.inputs[a]].dtype == "int16":
            w = tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
            weights = f" with {w.dtype} weights" if w is not None else ""
            return f"{_where(op)} has int16 activations{weights}"
    for op in sg.operators:
        if op.op in _CONVERSION_OPS:
            continue
        for i in (*op.inputs, *op.outputs):
            if i in acts and _symmetric_int16(tensors[i]) and not tensors[i].is_variable:
                return f"{_where(op)} works on int16 activations quantized symmetrically (zero point 0)"
    for op in sg.operators:
        # A lone QUANTIZE/DEQUANTIZE between int16 and a non-int8 type (int32, float) is 16x8 too.
        if op.op not in _CONVERSION_OPS or not op.inputs or not op.outputs:
            continue
        src, dst = tensors[op.inputs[0]], tensors[op.outputs[0]]
        for t, other in ((src, dst), (dst, src)):
            if _symmetric_int16(t) and other.dtype not in ("int8", "uint8"):
                return f"{_where(op)} converts {src.dtype} to {dst.dtype} at int16 (zero point 0)"
    return None


def classify_quantization(model: ModelInfo) -> QuantReport:
    """Decide which quantization scheme the model uses (see the module docstring)."""
    for sg in model.subgraphs:
        tensors = sg.tensors
        for op in sg.operators:
            spec = _WEIGHTED_OPS.get(op.op)
            if spec is None:
                continue
            a, weights = spec
            if a >= len(op.inputs) or op.inputs[a] < 0:
                continue
            act = tensors[op.inputs[a]]
            for w in weights:
                if w < len(op.inputs) and op.inputs[w] >= 0:
                    weight = tensors[op.inputs[w]]
                    if act.dtype in _FLOAT_TYPES and weight.dtype in _INT_WEIGHT_TYPES:
                        return QuantReport(
                            HYBRID,
                            f"{_where(op)} has {weight.dtype} weights but {act.dtype} activations",
                        )
    acts = {sg.index: _activations(sg) for sg in model.subgraphs}
    for sg in model.subgraphs:
        reason = _float_reason(sg, acts[sg.index])
        if reason:
            return QuantReport(FLOAT, reason)
    for sg in model.subgraphs:
        reason = _int16x8_reason(sg, acts[sg.index])
        if reason:
            return QuantReport(INT16X8, reason)
    return QuantReport(FULL_INT8, "every activation is an integer type, arithmetic in int8")


def check_deployable(model: ModelInfo) -> QuantReport:
    """Raise a one-line `ModelError` unless the model is integer-quantized with ops TFLM has."""
    report = classify_quantization(model)
    hint = (
        "re-export it with full-integer post-training quantization "
        "(`tinygen quantize MODEL --calibration DATA -o OUT.tflite`)"
    )
    if report.kind == FLOAT:
        raise ModelError(f"{model.path}: float model, not integer-quantized ({report.reason})", hint=hint)
    if report.kind == HYBRID:
        raise ModelError(
            f"{model.path}: hybrid-quantized model (int8 weights, float activations): {report.reason}",
            hint=hint,
        )
    if "ethos-u" in model.op_counts:
        raise UnsupportedOpError(
            f"{model.path}: compiled by Vela for an Arm Ethos-U NPU (operator 'ethos-u' holds the network as an NPU "
            "command stream); it runs only on a Cortex-M with an Ethos-U, which no tinygen board has",
            hint="give tinygen the model as it was before Vela compiled it",
        )
    missing = [name for name in model.op_counts if resolver_method(name) is None]
    if missing:
        raise UnsupportedOpError(
            f"{model.path}: op(s) not available in TensorFlow Lite Micro: {', '.join(missing)}",
            hint="replace them in the model, or add a custom kernel to your firmware",
        )
    return report
