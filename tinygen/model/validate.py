"""Intake validation: the whole flatbuffer checked before any stage uses it.

`validate(raw, size)` runs on the schema's object tree (`ModelT`) right after the bytes are unpacked
and before `ModelInfo` is built, so every later stage may rely on a structurally valid model:

- every index (operator code, tensor, buffer, subgraph in options) points at something that exists;
- every tensor has a known type, a shape of at most MAX_RANK positive dimensions, and at most
  MAX_TENSOR_BYTES of data (Python integers: no overflow, no multi-gigabyte allocation later);
- a constant tensor's buffer holds exactly the bytes its shape and type need, inside the file;
- quantization arrays agree in length (per channel: the quantized dimension's size), scales are
  finite and positive, zero points fit the tensor type;
- each builtin operator carries its own options type (absent options get the schema's defaults,
  as TFLM's parser does), with strides, dilations and filter sizes of at least 1 and enum fields
  inside their enum;
- the ops TFLM's kernels check (SIGNATURES) have the inputs, outputs and ranks those kernels need,
  and convolutions, fully connected layers and pools have shapes that fit together (output size
  from padding and strides, channels, depth multiplier, bias length);
- operators read only tensors that exist by the time they run, write no constant and no tensor
  another operator writes, and every subgraph output is written (dataflow in execution order;
  Vela's `ethos-u` operator may read its driver-allocated scratch tensors);
- subgraph calls (CALL_ONCE, WHILE, IF, ...) never recurse;
- nothing on which TFLM's kernels abort the process instead of returning an error (_KERNEL_CHECKS:
  the TFLITE_CHECKs of their Prepare and Eval: multipliers that softmax, add, sub and comparisons
  cannot quantize, elementwise shapes that do not broadcast to the output, squeeze and strided-slice
  shapes), elementwise ops' outputs shaped as their inputs, concatenations whose shapes add up, and
  no model input, model output or operator output marked variable;
- custom operator names and metadata names are UTF-8, and Signal ops' custom options are a
  flexbuffer map of plain values.

A model it cannot accept raises `ModelError` (exit 3) naming the tensor or operator. Whether the
model is full-int8 and which ops a runtime has are later verdicts (model/checks.py), not checked here.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ModelError
from .info import DTYPE_SIZES
from .schema import builtin_name, fb, type_name

ETHOS_U_OP = "ethos-u"  # the custom op of a Vela-compiled model (model/checks.py refuses it)
MAX_RANK = 8
MAX_TENSOR_BYTES = 1 << 26  # 64 MiB: more than any microcontroller's RAM or flash
MAX_TOTAL_TENSOR_BYTES = 1 << 28  # all tensors of the model together
# Integer ranges of the quantized types' zero points.
_ZP_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int4": (-8, 7)}
# Ops whose options table is not named after the op.
_OPTIONS_BY_OP = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
    "L2_NORMALIZATION": "L2NormOptions", "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions", "MEAN": "ReducerOptions", "SUM": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions", "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions",
    "REDUCE_ANY": "ReducerOptions", "REDUCE_ALL": "ReducerOptions",
    "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions", "RANDOM_STANDARD_NORMAL": "RandomOptions",
    "RANDOM_UNIFORM": "RandomOptions", "MULTINOMIAL": "RandomOptions",
}
_OPTIONS_NAMES = {v: k for k, v in vars(fb.BuiltinOptions).items() if not k.startswith("_")}
_OPTIONS_CODES = {k: v for k, v in vars(fb.BuiltinOptions).items() if not k.startswith("_")}
_BUILTIN_CODES = {v for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_TYPE_CODES = {v for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
# Option fields that must be at least 1, and enum-valued fields with their enum.
_AT_LEAST_ONE = ("strideW", "strideH", "strideD", "dilationWFactor", "dilationHFactor", "dilationDFactor",
                 "filterWidth", "filterHeight")
_ENUMS = {"padding": fb.Padding, "fusedActivationFunction": fb.ActivationFunctionType}
# Custom ops whose options tinygen reads (a flexbuffer map).
_FLEXBUFFER_OPS_PREFIX = "Signal"
_MANY = 1 << 16
_RESOURCE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "WHILE", "IF")  # ops that take handles
# Arity and ranks TFLM's kernels require (their Prepare checks them): op -> (inputs min, max,
# outputs min, max, {"i1": rank of input 1, "o0": rank of output 0, ...}). Inputs below the minimum
# are required (not -1). Ops not listed are only checked structurally.
_Signature = tuple[int, int, int, int, dict[str, int]]
_UNARY: _Signature = (1, 1, 1, 1, {})
_BINARY: _Signature = (2, 2, 1, 1, {})
SIGNATURES: dict[str, _Signature] = {
    "CONV_2D": (2, 3, 1, 1, {"i0": 4, "i1": 4, "o0": 4}),
    "DEPTHWISE_CONV_2D": (2, 3, 1, 1, {"i0": 4, "i1": 4, "o0": 4}),
    "TRANSPOSE_CONV": (3, 4, 1, 1, {"i0": 1, "i1": 4, "i2": 4, "o0": 4}),
    "FULLY_CONNECTED": (2, 3, 1, 1, {"i1": 2}),
    "AVERAGE_POOL_2D": (1, 1, 1, 1, {"i0": 4, "o0": 4}),
    "MAX_POOL_2D": (1, 1, 1, 1, {"i0": 4, "o0": 4}),
    "L2_POOL_2D": (1, 1, 1, 1, {"i0": 4, "o0": 4}),
    "DEPTH_TO_SPACE": (1, 1, 1, 1, {"i0": 4, "o0": 4}),
    "SPACE_TO_DEPTH": (1, 1, 1, 1, {"i0": 4, "o0": 4}),
    "RESIZE_NEAREST_NEIGHBOR": (2, 2, 1, 1, {"i0": 4, "i1": 1, "o0": 4}),
    "RESIZE_BILINEAR": (2, 2, 1, 1, {"i0": 4, "i1": 1, "o0": 4}),
    "ADD": _BINARY, "SUB": _BINARY, "MUL": _BINARY, "DIV": _BINARY, "SQUARED_DIFFERENCE": _BINARY,
    "MAXIMUM": _BINARY, "MINIMUM": _BINARY, "EXPAND_DIMS": _BINARY, "TRANSPOSE": _BINARY,
    "GATHER": _BINARY, "MEAN": _BINARY, "SUM": _BINARY, "REDUCE_MAX": _BINARY, "REDUCE_MIN": _BINARY,
    "REDUCE_PROD": _BINARY, "ARG_MAX": _BINARY, "ARG_MIN": _BINARY, "BATCH_MATMUL": _BINARY,
    "PAD": _BINARY, "PADV2": (3, 3, 1, 1, {}), "SLICE": (3, 3, 1, 1, {}), "STRIDED_SLICE": (4, 4, 1, 1, {}),
    "SOFTMAX": _UNARY, "LOGISTIC": _UNARY, "TANH": _UNARY, "RELU": _UNARY, "RELU6": _UNARY,
    "HARD_SWISH": _UNARY, "LEAKY_RELU": _UNARY, "EXP": _UNARY, "QUANTIZE": _UNARY, "DEQUANTIZE": _UNARY,
    "CAST": _UNARY, "SQUEEZE": _UNARY, "ELU": _UNARY, "NEG": _UNARY, "ABS": _UNARY,
    "RESHAPE": (1, 2, 1, 1, {}),
    "CONCATENATION": (1, _MANY, 1, 1, {}), "PACK": (1, _MANY, 1, 1, {}), "UNPACK": (1, 1, 1, _MANY, {}),
    "SPLIT": (2, 2, 1, _MANY, {}), "SPLIT_V": (3, 3, 1, _MANY, {}),
    "VAR_HANDLE": (0, 0, 1, 1, {}), "READ_VARIABLE": (1, 1, 1, 1, {}), "ASSIGN_VARIABLE": (2, 2, 0, 0, {}),
    "CALL_ONCE": (0, 0, 0, 0, {}),
    "SVDF": (5, 5, 1, 1, {"i0": 2, "i1": 2, "i2": 2, "i4": 2, "o0": 2}),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (24, 24, 1, 1, {"i0": 3, "i18": 2, "i19": 2, "o0": 3}),
}
# Inputs below a signature's minimum that the kernel treats as optional (-1 allowed).
# Bias slots a -1 may not fill: the op's Prepare deallocates the (null) bias tensor when the slot is
# listed (depthwise_conv_common.cc checks the input count, svdf_common.cc nothing).
_BIAS_SLOT_TFLM_FREES = {"DEPTHWISE_CONV_2D": 2, "SVDF": 3}
_OPTIONAL_INPUTS: dict[str, frozenset[int]] = {
    "SVDF": frozenset({3}),  # bias
    "UNIDIRECTIONAL_SEQUENCE_LSTM": frozenset({1, 5, 9, 10, 11, 12, 16, 17, 20, 21, 22, 23}),  # CIFG, peepholes, projection, layer norm
}


def _enum_values(enum: type) -> set[int]:
    return {v for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


_ENUM_VALUES = {field: _enum_values(enum) for field, enum in _ENUMS.items()}


def _camel(op: str) -> str:
    return "".join(part.capitalize() for part in op.split("_")) + "Options"


def expected_options(op: str) -> str | None:
    """The BuiltinOptions table a builtin op carries ('Conv2DOptions'), or None when it has none."""
    if op in _OPTIONS_BY_OP:
        return _OPTIONS_BY_OP[op]
    wanted = _camel(op).lower()
    return next((name for name in _OPTIONS_CODES if name.lower() == wanted), None)


def _len(vector: Any) -> int:
    return 0 if vector is None else len(vector)


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value or "")


def validate(raw: Any, size: int) -> None:
    """Check the unpacked model (`fb.ModelT`) of a `size`-byte file; raise ModelError on the first problem.

    Fills absent builtin options with the schema's defaults (as TFLM's parser does)."""
    codes = raw.operatorCodes or []
    names = [_operator_code(i, code) for i, code in enumerate(codes)]
    buffers = raw.buffers or []
    for i, buf in enumerate(buffers):
        if buf.offset and (buf.offset < 0 or buf.size < 0 or buf.offset + buf.size > size):
            raise ModelError(f"buffer {i} points past the end of the file: truncated .tflite file")
    for i, meta in enumerate(raw.metadata or []):
        if isinstance(meta.name, bytes):
            try:
                meta.name.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ModelError(f"metadata entry {i}: its name is not UTF-8 text: damaged file") from exc
        if not 0 <= int(meta.buffer) < max(len(buffers), 1):
            raise ModelError(f"metadata entry {i} '{_text(meta.name)}' refers to buffer {int(meta.buffer)}, "
                             f"but the file has {len(buffers)}: damaged file")
    subgraphs = raw.subgraphs or []
    if subgraphs:
        for kind in ("inputs", "outputs"):
            if _len(getattr(subgraphs[0], kind)) == 0:
                raise ModelError(f"the model's main subgraph has no {kind}: there is nothing to "
                                 f"{'feed' if kind == 'inputs' else 'read'} on a device")
    total = 0
    for si, sg in enumerate(subgraphs):
        total += _subgraph(raw, si, sg, names, len(subgraphs))
        if total > MAX_TOTAL_TENSOR_BYTES:
            raise ModelError(f"the model's tensors need more than {MAX_TOTAL_TENSOR_BYTES >> 20} MiB: "
                             "too large for a microcontroller, or a damaged file")
    _no_recursion(subgraphs)
    _var_handle_containers(subgraphs)


def _var_handle_containers(subgraphs: list[Any]) -> None:
    """TFLM looks a variable up with strcmp(container, each known container) once the container is not
    null: a model whose VAR_HANDLEs have a container for some and none for others segfaults there."""
    handles = [op.builtinOptions for sg in subgraphs for op in (sg.operators or [])
               if isinstance(op.builtinOptions, fb.VarHandleOptionsT)]
    with_container = sum(1 for h in handles if h.container is not None)
    if 0 < with_container < len(handles):
        raise ModelError(f"{with_container} of the model's {len(handles)} VAR_HANDLEs name a container and the "
                         "others have none: TFLite Micro's variable lookup then reads a null name (damaged file)")


def _calls(sg: Any) -> list[int]:
    """Subgraphs the operators of `sg` run (their *SubgraphIndex options)."""
    return [int(v) for op in (sg.operators or []) if op.builtinOptions is not None
            for k, v in vars(op.builtinOptions).items() if k.endswith("SubgraphIndex")]


def _no_recursion(subgraphs: list[Any]) -> None:
    calls = [_calls(sg) for sg in subgraphs]
    state = [0] * len(subgraphs)  # 0 unvisited, 1 on the path, 2 done
    for root in range(len(subgraphs)):
        stack = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                if state[node] == 2:
                    continue
                state[node] = 1
            if i < len(calls[node]):
                stack.append((node, i + 1))
                callee = calls[node][i]
                if state[callee] == 1:
                    raise ModelError(f"subgraph {node} calls subgraph {callee}, which is running already: "
                                     "recursive subgraph calls never end")
                if state[callee] == 0:
                    stack.append((callee, 0))
            else:
                state[node] = 2


def _operator_code(index: int, code: Any) -> tuple[str, bool]:
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    if builtin not in _BUILTIN_CODES:
        raise ModelError(f"operator code {index} has unknown builtin operator {builtin}: damaged file, "
                         "or an op newer than the TFLite schema tinygen reads")
    if builtin != fb.BuiltinOperator.CUSTOM:
        return builtin_name(builtin), False
    custom = code.customCode
    try:
        name = custom.decode("utf-8") if isinstance(custom, bytes) else str(custom or "")
    except UnicodeDecodeError as exc:
        raise ModelError(f"operator code {index}: the custom op name is not UTF-8 text: damaged file") from exc
    if not name or not name.isprintable():
        raise ModelError(f"operator code {index}: custom op name {name!r} is empty or not printable")
    return name, True


def _subgraph(raw: Any, si: int, sg: Any, names: list[tuple[str, bool]], n_subgraphs: int) -> int:
    tensors = sg.tensors or []
    n = len(tensors)
    where = f"subgraph {si}" + (f" '{_text(sg.name)}'" if sg.name else "")
    total = 0
    # Operator intermediates that nothing reads or writes (the zero-element float tensors TFLite's
    # converter attaches to int8 LSTMs) are never allocated by TFLM: an empty shape is fine there.
    def ids(v: Any) -> set[int]:
        return {int(i) for i in v} if v is not None else set()

    ops = sg.operators or []
    used = ids(sg.inputs) | ids(sg.outputs)
    for op in ops:
        used |= ids(op.inputs) | ids(op.outputs)
    unused_intermediates = set().union(*(ids(op.intermediates) for op in ops)) - used
    for ti, t in enumerate(tensors):
        total += _tensor(raw, ti, t, where, empty_ok=ti in unused_intermediates)
    for kind in ("inputs", "outputs"):
        for i in getattr(sg, kind) if getattr(sg, kind) is not None else []:
            if not 0 <= int(i) < n:
                raise ModelError(f"{where}: {kind[:-1]} tensor {int(i)} does not exist ({n} tensors): damaged file")
    for oi, op in enumerate(sg.operators or []):
        _operator(raw, where, oi, op, names, n, n_subgraphs, tensors)
    _dataflow(raw, si, where, sg, names)
    return total


def _dataflow(raw: Any, si: int, where: str, sg: Any, names: list[tuple[str, bool]]) -> None:
    """Operators run in order: each reads tensors that exist by then, writes tensors nobody else
    writes and that are not constants; the subgraph's outputs are written by it (or are inputs)."""
    tensors = sg.tensors or []
    constant = {i for i, t in enumerate(tensors) if (raw.buffers and _buffer_size(raw, int(t.buffer)))}
    input_list = [int(i) for i in (sg.inputs if sg.inputs is not None else [])]
    output_list = [int(i) for i in (sg.outputs if sg.outputs is not None else [])]
    inputs = set(input_list)
    for kind, listed in (("input", input_list), ("output", output_list)):
        if len(set(listed)) != len(listed):
            raise ModelError(f"{where}: a tensor is listed twice among its {kind}s {listed}: damaged file")
    for i in input_list:
        if i in constant:
            raise ModelError(f"{where}: input tensor {i} is a constant (it has data): damaged file")
        if si == 0 and tensors[i].isVariable:
            raise ModelError(f"{where}: input tensor {i} is marked variable (state TFLM keeps and resets itself), "
                             "not data the caller feeds: damaged file")
        if si == 0 and type_name(tensors[i].type) in ("resource", "variant", "string"):
            raise ModelError(f"{where}: input tensor {i} is a {type_name(tensors[i].type)} handle, not data")
    ready = set(inputs) | constant | {i for i, t in enumerate(tensors) if t.isVariable}
    writer: dict[int, int] = {}
    for oi, op in enumerate(sg.operators or []):
        label = f"{where}: operator {oi} ({names[int(op.opcodeIndex)][0]})"
        # Vela's NPU op reads its scratch tensors, which the Ethos-U driver allocates: no writer
        npu = names[int(op.opcodeIndex)][0] == ETHOS_U_OP
        for i in (int(i) for i in (op.inputs if op.inputs is not None else [])):
            if i >= 0 and i not in ready and not npu:
                raise ModelError(f"{label} reads tensor {i} before any operator writes it: damaged file")
        for i in (int(i) for i in (op.outputs if op.outputs is not None else [])):
            if i in constant:
                raise ModelError(f"{label} writes tensor {i}, a constant: damaged file")
            if i >= 0 and tensors[i].isVariable:
                raise ModelError(f"{label} writes tensor {i}, which is marked variable (state an op keeps "
                                 "through its inputs, never an output): damaged file")
            if i in writer or i in inputs:
                first = f"operator {writer[i]}" if i in writer else "the subgraph's input"
                raise ModelError(f"{label} writes tensor {i}, which {first} writes already: damaged file")
            writer[i] = oi
            ready.add(i)
    for i in (int(i) for i in (sg.outputs if sg.outputs is not None else [])):
        if i not in writer and i not in inputs:
            raise ModelError(f"{where}: output tensor {i} is written by no operator: damaged file")
        if si == 0 and type_name(tensors[i].type) in ("resource", "variant", "string"):
            raise ModelError(f"{where}: output tensor {i} is a {type_name(tensors[i].type)} handle, not data")
        if si == 0 and tensors[i].isVariable:
            raise ModelError(f"{where}: output tensor {i} is marked variable (state TFLM keeps and resets itself), "
                             "not a result the caller reads: damaged file")


# types whose data numpy cannot hold (np.dtype raises): refused at intake
_NO_NUMPY_TYPES = frozenset({"bfloat16", "float8_e4m3fn", "float8_e5m2", "int2", "uint4", "string", "variant"})


def _tensor(raw: Any, ti: int, t: Any, where: str, empty_ok: bool = False) -> int:
    label = f"{where}: tensor {ti} '{_text(t.name)}'"
    if int(t.type) not in _TYPE_CODES:
        raise ModelError(f"{label} has unknown type code {int(t.type)}: damaged file")
    dtype = type_name(t.type)
    if dtype in _NO_NUMPY_TYPES:
        # bfloat16, float8 and the like: no numpy type to hold the data, no TFLM kernel to run it
        raise ModelError(f"{label} has type {dtype}, which neither TFLite Micro nor tinygen runs "
                         "(convert the model to full-int8: tinygen quantize)")
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    if len(shape) > MAX_RANK:
        raise ModelError(f"{label} has {len(shape)} dimensions (at most {MAX_RANK}): damaged file")
    if any(d < 0 for d in shape):
        raise ModelError(f"{label} has a negative dimension in its shape {shape}",
                         hint="dynamic shapes are not supported on microcontrollers: give the model fixed shapes")
    if 0 in shape and not empty_ok:
        raise ModelError(f"{label} has an empty dimension in its shape {shape}: tinygen cannot place empty tensors")
    elements = math.prod(shape)
    nbytes = elements * max(DTYPE_SIZES.get(dtype, 4), 1)
    if nbytes > MAX_TENSOR_BYTES:
        raise ModelError(f"{label} has shape {shape}: {nbytes:,} bytes, more than the {MAX_TENSOR_BYTES >> 20} MiB "
                         "tinygen accepts for one tensor (no microcontroller has that much memory)")
    buffers = raw.buffers or []
    if not 0 <= int(t.buffer) < max(len(buffers), 1):
        raise ModelError(f"{label} refers to buffer {int(t.buffer)}, but the file has {len(buffers)}: damaged file")
    if t.sparsity is not None:
        raise ModelError(f"{label} is a sparse tensor, which TFLite Micro does not support",
                         hint="convert the model without sparsity")
    held = _buffer_size(raw, int(t.buffer)) if buffers else 0
    if held and t.isVariable:
        raise ModelError(f"{label} is a variable tensor with constant data (TFLM would reset it, the data "
                         "says otherwise): damaged file")
    if held and dtype in DTYPE_SIZES and DTYPE_SIZES[dtype] > 0:
        need = (elements + 1) // 2 if dtype == "int4" else nbytes
        if held != need and not (dtype == "int4" and held == nbytes):
            raise ModelError(f"{label} ({dtype}{shape}) needs {need} bytes of data, its buffer "
                             f"{int(t.buffer)} holds {held}: damaged file")
    _quantization(label, dtype, shape, t.quantization)
    return nbytes


def _buffer_size(raw: Any, index: int) -> int:
    buf = raw.buffers[index]
    if buf.data is not None and len(buf.data) > 0:
        return len(buf.data)
    return int(buf.size) if buf.offset else 0


def _quantization(label: str, dtype: str, shape: list[int], q: Any) -> None:
    if q is None:
        return
    scale = list(q.scale) if q.scale is not None else []
    zero = list(q.zeroPoint) if q.zeroPoint is not None else []
    if not scale:
        if zero:
            raise ModelError(f"{label}: {len(zero)} zero point(s) but no scale: damaged file")
        return
    if not zero:
        raise ModelError(f"{label}: {len(scale)} quantization scale(s) but no zero point: damaged file")
    if len(zero) != len(scale):
        raise ModelError(f"{label}: {len(scale)} quantization scale(s) but {len(zero)} zero point(s): damaged file")
    bad = next((s for s in scale if not (math.isfinite(float(s)) and float(s) > 0)), None)
    if bad is not None:
        raise ModelError(f"{label}: quantization scale {float(bad)!r} (scales must be finite and positive): "
                         "damaged file")
    if dtype in _ZP_RANGE:
        lo, hi = _ZP_RANGE[dtype]
        out = next((int(z) for z in zero if not lo <= int(z) <= hi), None)
        if out is not None:
            raise ModelError(f"{label}: zero point {out} is outside the {dtype} range [{lo}, {hi}]: damaged file")
    if len(scale) > 1:
        axis = int(q.quantizedDimension)
        if len(shape) == 1 and shape[0] == len(scale):
            axis = 0  # per-channel biases: TFLM never reads their quantized_dimension (person_detect has 3)
        if not 0 <= axis < len(shape):
            raise ModelError(f"{label}: per-channel quantized dimension {axis} is not a dimension of shape {shape}")
        if shape[axis] != len(scale):
            raise ModelError(f"{label}: {len(scale)} per-channel scales for dimension {axis} of size "
                             f"{shape[axis]}: damaged file")


def _operator(raw: Any, where: str, oi: int, op: Any, names: list[tuple[str, bool]], n_tensors: int,
              n_subgraphs: int, tensors: list[Any]) -> None:
    code = int(op.opcodeIndex)
    if not 0 <= code < len(names):
        raise ModelError(f"{where}: operator {oi} uses operator code {code}, but the file has {len(names)}: "
                         "damaged file")
    name, custom = names[code]
    label = f"{where}: operator {oi} ({name})"
    for kind, optional in (("inputs", True), ("outputs", False), ("intermediates", False)):
        for i in getattr(op, kind) if getattr(op, kind) is not None else []:
            i = int(i)
            if not (0 <= i < n_tensors or (optional and i == -1)):
                raise ModelError(f"{label}: {kind[:-1]} tensor {i} does not exist ({n_tensors} tensors): damaged file")
    if custom:
        _custom_options(label, name, op)
        if name in _SIGNAL_SAME_LENGTH:
            _signal_lengths(label, name, op, tensors)
        elif name in ("SignalEnergy", "SignalRfft"):
            _signal_spectrum(label, name, op, tensors)
        return
    if name not in _RESOURCE_OPS:
        handle = next((int(i) for i in (op.inputs if op.inputs is not None else [])
                       if int(i) >= 0 and type_name(tensors[int(i)].type) == "resource"), None)
        if handle is not None:
            raise ModelError(f"{label} reads tensor {handle}, a resource handle, which only READ_VARIABLE and "
                             "ASSIGN_VARIABLE take: damaged file")
    _builtin_options(label, name, op, n_subgraphs)
    if name in SIGNATURES:
        _signature(label, name, op, tensors)
        if name in _SHAPE_CHECKS:
            _SHAPE_CHECKS[name](label, op, tensors)
    if name in _KERNEL_CHECKS:
        _KERNEL_CHECKS[name](label, name, op, tensors)


def _shape(tensors: list[Any], i: int) -> list[int]:
    return [int(d) for d in (tensors[i].shape if tensors[i].shape is not None else [])] if i >= 0 else []


def _out_size(size: int, filt: int, stride: int, dilation: int, same: bool) -> int:
    """TFLM's ComputeOutSize (kernels/padding.h)."""
    eff = (filt - 1) * dilation + 1
    return (size + stride - 1) // stride if same else (size + stride - eff) // stride


def _mismatch(label: str, what: str) -> ModelError:
    return ModelError(f"{label}: {what}: the tensor shapes do not fit together (damaged file)")


def _check_spatial(label: str, o: Any, inp: list[int], out: list[int], kh: int, kw: int) -> None:
    same = int(o.padding) == fb.Padding.SAME
    dil_h, dil_w = int(getattr(o, "dilationHFactor", 1)), int(getattr(o, "dilationWFactor", 1))
    for what, k, dil, size in (("height", kh, dil_h, inp[1]), ("width", kw, dil_w, inp[2])):
        if k > 1 and dil >= size:  # taps `dil` apart: no two of them ever read the input together
            raise ModelError(f"{label}: dilation {dil} is not below the input {what} {size}: at most one of the "
                             f"filter's {k} taps ever reads the input (damaged file)")
    want = [_out_size(inp[1], kh, int(o.strideH), dil_h, same), _out_size(inp[2], kw, int(o.strideW), dil_w, same)]
    if out[0] != inp[0] or out[1:3] != want:
        raise _mismatch(label, f"output {out} for input {inp} (expected batch {inp[0]} and {want[0]}x{want[1]})")


def _check_bias(label: str, tensors: list[Any], op: Any, channels: int) -> None:
    inputs = [int(i) for i in op.inputs]
    if len(inputs) > 2 and inputs[2] >= 0 and math.prod(_shape(tensors, inputs[2])) != channels:
        raise _mismatch(label, f"bias {_shape(tensors, inputs[2])} for {channels} output channels")


def _conv_shapes(label: str, op: Any, tensors: list[Any]) -> None:
    inp, filt, out = _shape(tensors, int(op.inputs[0])), _shape(tensors, int(op.inputs[1])), _shape(tensors, int(op.outputs[0]))
    if filt[3] == 0 or inp[3] % filt[3] or out[3] != filt[0]:
        raise _mismatch(label, f"input {inp}, filter {filt}, output {out}")
    _check_spatial(label, op.builtinOptions, inp, out, filt[1], filt[2])
    _check_bias(label, tensors, op, filt[0])


def _depthwise_shapes(label: str, op: Any, tensors: list[Any]) -> None:
    inp, filt, out = _shape(tensors, int(op.inputs[0])), _shape(tensors, int(op.inputs[1])), _shape(tensors, int(op.outputs[0]))
    multiplier = int(op.builtinOptions.depthMultiplier)
    if filt[0] != 1:  # [1, kh, kw, channels]: TFLM reads the first slice of any other, the AOT code all of it
        raise _mismatch(label, f"depthwise filter {filt} (its first dimension must be 1)")
    if out[3] != filt[3] or filt[3] != inp[3] * multiplier:
        raise _mismatch(label, f"input {inp}, filter {filt}, output {out} with depth multiplier {multiplier}")
    _check_spatial(label, op.builtinOptions, inp, out, filt[1], filt[2])
    _check_bias(label, tensors, op, filt[3])


def _fully_connected_shapes(label: str, op: Any, tensors: list[Any]) -> None:
    inp, filt, out = _shape(tensors, int(op.inputs[0])), _shape(tensors, int(op.inputs[1])), _shape(tensors, int(op.outputs[0]))
    units, depth = filt
    n_in = math.prod(inp)
    if depth == 0 or n_in % depth or not out or out[-1] != units or math.prod(out) != n_in // depth * units:
        raise _mismatch(label, f"input {inp}, weights {filt}, output {out}")
    _check_bias(label, tensors, op, units)


def _pool_shapes(label: str, op: Any, tensors: list[Any]) -> None:
    inp, out = _shape(tensors, int(op.inputs[0])), _shape(tensors, int(op.outputs[0]))
    o = op.builtinOptions
    if out[3] != inp[3]:
        raise _mismatch(label, f"input {inp}, output {out}")
    _check_spatial(label, o, inp, out, int(o.filterHeight), int(o.filterWidth))


_SHAPE_CHECKS = {"CONV_2D": _conv_shapes, "DEPTHWISE_CONV_2D": _depthwise_shapes,
                 "FULLY_CONNECTED": _fully_connected_shapes, "AVERAGE_POOL_2D": _pool_shapes,
                 "MAX_POOL_2D": _pool_shapes}


def _signature(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    in_min, in_max, out_min, out_max, ranks = SIGNATURES[name]
    inputs = [int(i) for i in (op.inputs if op.inputs is not None else [])]
    outputs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
    if not in_min <= len(inputs) <= in_max:
        want = f"{in_min}" if in_min == in_max else f"{in_min} to {in_max}" if in_max < _MANY else f"at least {in_min}"
        raise ModelError(f"{label} has {len(inputs)} inputs, {name} takes {want}: damaged file")
    if not out_min <= len(outputs) <= out_max:
        want = f"{out_min}" if out_min == out_max else f"at least {out_min}"
        raise ModelError(f"{label} has {len(outputs)} outputs, {name} gives {want}: damaged file")
    optional = _OPTIONAL_INPUTS.get(name, frozenset())
    missing = next((k for k in range(in_min) if inputs[k] < 0 and k not in optional), None)
    if missing is not None:
        raise ModelError(f"{label}: required input {missing} is omitted (-1): damaged file")
    bias = _BIAS_SLOT_TFLM_FREES.get(name)
    if bias is not None and bias < len(inputs) and inputs[bias] < 0:
        raise ModelError(f"{label}: its bias (input {bias}) is listed as omitted (-1), and TFLite Micro's {name} "
                         "then frees a tensor it never allocated (a segfault): damaged file",
                         hint="give the op a bias tensor (zeros), or for a depthwise convolution list two inputs")
    for slot, rank in ranks.items():
        index = (inputs if slot[0] == "i" else outputs)[int(slot[1:])] if int(slot[1:]) < len(
            inputs if slot[0] == "i" else outputs) else -1
        if index < 0:
            continue
        shape = tensors[index].shape if tensors[index].shape is not None else []
        if len(shape) != rank:
            kind = "input" if slot[0] == "i" else "output"
            raise ModelError(f"{label}: {kind} {slot[1:]} (tensor {index}) has rank {len(shape)}, "
                             f"{name} needs rank {rank}")


# Signal library ops that run over input 0's elements and write as many to each output (or read as
# many from the other inputs listed): their kernels take the count from one tensor and index the
# others with it (a segfault in TFLM when the lengths differ).
_SIGNAL_SAME_LENGTH: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "SignalWindow": ((0,), (0,)),
    "SignalFftAutoScale": ((0,), (0,)),
    "SignalFilterBankSquareRoot": ((0,), (0,)),
    "SignalFilterBankSpectralSubtraction": ((0,), (0, 1)),
    "SignalPCAN": ((0, 1), (0,)),
    "SignalFilterBankLog": ((0,), (0,)),
}


def _signal_lengths(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, outputs = _io(op)
    ins, outs = _SIGNAL_SAME_LENGTH[name]
    if len(inputs) <= max(ins) or len(outputs) <= max(outs) or min(inputs[k] for k in ins) < 0:
        raise ModelError(f"{label} has {len(inputs)} inputs and {len(outputs)} outputs, too few for {name}: damaged file")
    counts = [math.prod(_shape(tensors, inputs[k])) for k in ins] + [math.prod(_shape(tensors, outputs[k])) for k in outs]
    if len(set(counts)) != 1:
        raise _mismatch(label, f"element counts {counts} of tensors {[inputs[k] for k in ins] + [outputs[k] for k in outs]} "
                        f"({name} needs them equal)")
    if name == "SignalWindow":
        weights = math.prod(_shape(tensors, inputs[1])) if len(inputs) > 1 and inputs[1] >= 0 else 0
        if weights <= 0 or counts[0] % weights:
            raise _mismatch(label, f"{counts[0]} input elements for a window of {weights} weights")


def _signal_spectrum(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """SignalRfft zero-pads its input to fft_length and writes fft_length / 2 + 1 complex values;
    SignalEnergy reads complex values start_index..end_index-1 and writes as many: TFLM takes
    both from the options alone (a bad one writes past a tensor)."""
    from flatbuffers import flexbuffers

    inputs, outputs = _io(op)
    if len(inputs) != 1 or len(outputs) != 1 or inputs[0] < 0:
        raise ModelError(f"{label} has {len(inputs)} inputs and {len(outputs)} outputs, {name} takes 1 and 1: damaged file")
    data = bytes(bytearray(int(b) & 0xFF for b in op.customOptions)) if op.customOptions is not None else b""
    options = flexbuffers.Loads(data) if data else {}
    n_in, n_out = math.prod(_shape(tensors, inputs[0])), math.prod(_shape(tensors, outputs[0]))
    keys = ("fft_length",) if name == "SignalRfft" else ("start_index", "end_index")
    values: list[int] = []
    for k in keys:
        v = options.get(k)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ModelError(f"{label}: custom options {', '.join(keys)} must be integers: damaged file")
        values.append(v)
    if name == "SignalRfft":
        fft = values[0]
        if fft < 2 or fft & (fft - 1) or n_in > fft or n_out != (fft // 2 + 1) * 2:
            raise _mismatch(label, f"fft_length {fft} for input {_shape(tensors, inputs[0])} and output "
                            f"{_shape(tensors, outputs[0])} (a power of two >= the input, output (fft_length / 2 + 1) x 2)")
    else:
        start, end = values
        if not 0 <= start <= end <= n_out or 2 * end > n_in:
            raise _mismatch(label, f"start_index {start}, end_index {end} for input {_shape(tensors, inputs[0])} and "
                            f"output {_shape(tensors, outputs[0])}")


def _custom_options(label: str, name: str, op: Any) -> None:
    if not name.startswith(_FLEXBUFFER_OPS_PREFIX) or op.customOptions is None or len(op.customOptions) == 0:
        return
    from flatbuffers import flexbuffers

    data = bytes(bytearray(int(b) & 0xFF for b in op.customOptions))
    try:
        value = flexbuffers.Loads(data)
    except (IndexError, ValueError, TypeError, KeyError, UnicodeDecodeError, OverflowError, RecursionError,
            MemoryError, AttributeError) as exc:  # the flexbuffers reader fails in many ways on damaged bytes
        raise ModelError(f"{label}: its custom options are not a readable flexbuffer "
                         f"({type(exc).__name__}): damaged file") from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ModelError(f"{label}: its custom options are not a flexbuffer map: damaged file")
    for key, v in value.items():
        if not isinstance(v, (bool, int, float, str, bytes, list)):
            raise ModelError(f"{label}: custom option '{key}' has an unexpected type: damaged file")
        if name.startswith("Signal") and not isinstance(v, (bool, int)):
            # every Signal op option is an integer or a flag (TFLM reads them with AsInt32 / AsBool)
            raise ModelError(f"{label}: custom option '{key}' is a {type(v).__name__}, {name} takes integers and "
                             "flags only: damaged file")
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**31) <= v < 2**32:
            raise ModelError(f"{label}: custom option '{key}' = {v} is out of range: damaged file")


def _builtin_options(label: str, name: str, op: Any, n_subgraphs: int) -> None:
    expected = expected_options(name)
    got = int(op.builtinOptionsType)
    if expected is None:
        if got != 0 and op.builtinOptions is not None:
            raise ModelError(f"{label} carries {_OPTIONS_NAMES.get(got, got)}, but this op takes no options: "
                             "damaged file")
        op.builtinOptionsType, op.builtinOptions = 0, None
        return
    if name == "VAR_HANDLE" and (got == 0 or op.builtinOptions is None):  # the reference's own reader needs it
        raise ModelError(f"{label} has no VarHandleOptions (the variable's shared name): damaged file")
    if got == 0 or op.builtinOptions is None:  # absent: the schema's defaults, as TFLM's parser uses
        op.builtinOptionsType = _OPTIONS_CODES[expected]
        op.builtinOptions = getattr(fb, f"{expected}T")()
    elif got != _OPTIONS_CODES[expected]:
        raise ModelError(f"{label} carries {_OPTIONS_NAMES.get(got, got)}, expected {expected}: damaged file")
    options = op.builtinOptions
    if name == "VAR_HANDLE" and options.sharedName is None:  # TFLM strcmp()s it: a segfault
        raise ModelError(f"{label} has no shared name (VarHandleOptions.shared_name): damaged file")
    for field in _AT_LEAST_ONE:
        value = getattr(options, field, None)
        if value is not None and int(value) < 1:
            raise ModelError(f"{label}: option {field} = {int(value)} (must be at least 1)")
    for field, values in _ENUM_VALUES.items():
        value = getattr(options, field, None)
        if value is not None and int(value) not in values:
            raise ModelError(f"{label}: option {field} = {int(value)} is not a valid value: damaged file")
    for field, value in vars(options).items():
        if isinstance(value, bytes):
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ModelError(f"{label}: option {field} is not UTF-8 text: damaged file") from exc
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelError(f"{label}: option {field} = {value} (must be a finite number): damaged file")
        if field.endswith("SubgraphIndex") and not 0 <= int(value) < n_subgraphs:
            raise ModelError(f"{label}: option {field} = {int(value)}, but the model has {n_subgraphs} "
                             "subgraph(s): damaged file")


# --- What TFLM's kernels abort on -------------------------------------------------------------
# TFLITE_CHECK in a kernel's Prepare or Eval ends the process (abort, exit 134) instead of returning
# an error: the host reference interpreter of `run --compare` and `verify`, and the firmware on a
# device, die on such a model. These mirror those checks (tflite-micro kernels and
# kernels/internal/quantization_util.cc, reference ops), so intake refuses the model instead.

_TWO_31 = float(1 << 31)


def _shift(x: float) -> int:
    """The shift QuantizeMultiplier returns for a finite x > 0."""
    q, e = math.frexp(x)
    if math.floor(abs(q) * _TWO_31 + 0.5) == _TWO_31:  # TfLiteRound rounds half away from zero
        e += 1
    return 0 if e < -31 else e


def _below_one(x: float) -> bool:
    """QuantizeMultiplierSmallerThanOneExp(x) does not abort."""
    return math.isfinite(x) and 0.0 < x < 1.0 and _shift(x) <= 0


def _params(t: Any) -> tuple[float, int]:
    """TFLM's per-tensor params.scale and zero point (0 and 0 without quantization)."""
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return 0.0, 0
    return float(q.scale[0]), int(q.zeroPoint[0]) if q.zeroPoint is not None and len(q.zeroPoint) else 0


def _io(op: Any) -> tuple[list[int], list[int]]:
    return ([int(i) for i in (op.inputs if op.inputs is not None else [])],
            [int(i) for i in (op.outputs if op.outputs is not None else [])])


def _aborts(label: str, what: str, hint: str | None = None) -> ModelError:
    return ModelError(f"{label}: {what}: TFLite Micro's kernel aborts on that (damaged file)",
                      hint=hint or "re-export the model from its converter")


def _f32(x: float) -> float:
    import numpy as np

    with np.errstate(all="ignore"):
        return float(np.float32(x))


def _softmax_limits(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, _ = _io(op)
    if not inputs or inputs[0] < 0 or type_name(tensors[inputs[0]].type) != "int8":
        return
    scale = _params(tensors[inputs[0]])[0]
    beta = 1.0 if name == "LOG_SOFTMAX" else _f32(float(op.builtinOptions.beta))
    real = min(beta * scale * float(1 << 26), float((1 << 31) - 1))  # PreprocessSoftmaxScaling, 5 integer bits
    if not real > 1.0:
        what = f"beta {beta:g}" if name == "SOFTMAX" else "its fixed beta 1"
        raise _aborts(label, f"{what} times the input scale {scale:g} is at most 2^-26",
                      "a SOFTMAX without options has beta 0: re-export the model with its SoftmaxOptions"
                      if name == "SOFTMAX" and beta == 0 else None)
    if name == "LOG_SOFTMAX":
        shift = _shift(real)
        multiplier = math.floor(math.frexp(real)[0] * _TWO_31 + 0.5)
        if multiplier == 1 << 31:
            multiplier //= 2
        divisor = float(1 << max(31 - shift, 0)) / multiplier
        if not _below_one(divisor):
            raise _aborts(label, f"input scale {scale:g} gives no reverse scaling divisor below 1")


def _add_limits(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """ADD, SUB (int8/int16 outputs), ADD_N and CUMSUM (int8): input and output rescaling below 1."""
    inputs, outputs = _io(op)
    if not outputs or not inputs or min(inputs) < 0:
        return
    out = tensors[outputs[0]]
    kind = type_name(out.type)
    if kind not in (("int8", "int16") if name in ("ADD", "SUB") else ("int8",)):
        return
    if name in ("ADD", "SUB") and len(inputs) >= 2:
        scales = [_params(tensors[i])[0] for i in inputs[:2]]
    else:
        scales = [_params(tensors[inputs[0]])[0]]
    out_scale = _params(out)[0]
    if not all(s > 0 for s in scales + [out_scale]):
        which = "output" if out_scale <= 0 else "input"
        raise ModelError(f"{label}: an {kind} {which} has no quantization (the quantized kernel needs its scale "
                         "and zero point): damaged file")
    shift = 15 if kind == "int16" else 20
    twice = 2.0 * max(scales)
    f = _f32 if name == "SUB" else float  # SUB computes its multipliers in float, the others in double
    if name == "SUB":
        twice = _f32(twice)
    multipliers = [f(s / twice) for s in scales] + [f(twice / f((1 << shift) * out_scale))]
    bad = next((m for m in multipliers if not _below_one(m)), None)
    if bad is not None:
        raise _aborts(label, f"input scales {[f'{s:g}' for s in scales]} and output scale {out_scale:g} "
                      f"give a rescaling multiplier of {bad:g} (it must be in (0, 1))")


_COMPARISONS = ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL")
_BROADCAST_RANK = {"MAXIMUM": 5, "MINIMUM": 5, "DIV": 5}  # the others broadcast in 4 dimensions


def _comparison_limits(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, _ = _io(op)
    if len(inputs) < 2 or min(inputs) < 0 or type_name(tensors[inputs[0]].type) != "int8":
        return
    for i in inputs[:2]:
        scale = _params(tensors[i])[0]
        if not _below_one(scale):
            raise _aborts(label, f"int8 input tensor {i} has scale {scale:g} (must be in (0, 1))")


def _squared_difference_limits(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, _ = _io(op)
    if len(inputs) < 2 or min(inputs) < 0 or type_name(tensors[inputs[0]].type) not in ("int8", "int16"):
        return
    scales = [_params(tensors[i])[0] for i in inputs[:2]]
    if not all(s > 0 for s in scales) or not all(_below_one(s / (2.0 * max(scales))) for s in scales):
        raise _aborts(label, f"input scales {[f'{s:g}' for s in scales]} give no rescaling multiplier in (0, 1)")


def _broadcast(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """Elementwise binary ops: the output has the broadcast shape of the inputs (TFLM's reference
    ops abort on other sizes: MatchingElementsSize, ExtendedShape)."""
    inputs, outputs = _io(op)
    if len(inputs) < 2 or min(inputs[:2]) < 0 or not outputs:
        return
    a, b, out = _shape(tensors, inputs[0]), _shape(tensors, inputs[1]), _shape(tensors, outputs[0])
    rank = max(len(a), len(b))
    pa, pb = [1] * (rank - len(a)) + a, [1] * (rank - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(pa, pb)):
        raise _mismatch(label, f"inputs {a} and {b} do not broadcast")
    want = [max(x, y) for x, y in zip(pa, pb)]
    if out != want:
        raise _mismatch(label, f"output {out} for inputs {a} and {b} (expected {want})")
    limit = _BROADCAST_RANK.get(name, 4)
    if a != b and max(rank, len(out)) > limit:
        raise _aborts(label, f"a broadcast of rank {rank} (TFLM broadcasts {name} in at most {limit} dimensions)")
    if name in ("ADD", "SUB"):
        _add_limits(label, name, op, tensors)
    elif name in _COMPARISONS:
        _comparison_limits(label, name, op, tensors)
    elif name == "SQUARED_DIFFERENCE":
        _squared_difference_limits(label, name, op, tensors)


def _squeeze_shape(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, outputs = _io(op)
    if not inputs or inputs[0] < 0 or not outputs:
        return
    inp, out = _shape(tensors, inputs[0]), _shape(tensors, outputs[0])
    dims = [int(d) for d in (op.builtinOptions.squeezeDims if op.builtinOptions.squeezeDims is not None else [])]
    if not dims:
        want = [d for d in inp if d != 1]
    else:
        axes = {d + len(inp) if d < 0 else d for d in dims}
        if not all(0 <= a < len(inp) and inp[a] == 1 for a in axes):
            raise _mismatch(label, f"squeeze dimensions {dims} of input {inp}")
        want = [d for i, d in enumerate(inp) if i not in axes]
    if out != want:
        raise _mismatch(label, f"output {out} for SQUEEZE of {inp} (expected {want})")
    if type_name(tensors[inputs[0]].type) != type_name(tensors[outputs[0]].type):
        raise ModelError(f"{label}: output type {type_name(tensors[outputs[0]].type)} for input type "
                         f"{type_name(tensors[inputs[0]].type)} ({name} keeps the type): damaged file")


def _same_elements(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """RESHAPE and EXPAND_DIMS copy their input's bytes: TFLM's Prepare refuses other element counts
    or types; the AOT code would copy the output's size from the input."""
    inputs, outputs = _io(op)
    if not inputs or inputs[0] < 0 or not outputs:
        return
    a, b = tensors[inputs[0]], tensors[outputs[0]]
    inp, out = _shape(tensors, inputs[0]), _shape(tensors, outputs[0])
    if type_name(a.type) != type_name(b.type):
        raise ModelError(f"{label}: output type {type_name(b.type)} for input type {type_name(a.type)} ({name} keeps the "
                         "type): damaged file")
    if math.prod(inp) != math.prod(out):
        raise _mismatch(label, f"output {out} for input {inp} ({name} keeps the number of elements)")


def _strided_slice_shape(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, _ = _io(op)
    rank = len(_shape(tensors, inputs[0]))
    for k, what in zip(inputs[1:4], ("begin", "end", "strides")):
        if k < 0 or _shape(tensors, k) != [rank] or type_name(tensors[k].type) != "int32":
            raise _mismatch(label, f"{what} tensor {k} is {type_name(tensors[k].type) if k >= 0 else 'absent'}"
                            f"{_shape(tensors, k)}, the input has rank {rank} (needs int32[{rank}])")


# Ops whose output has the shape of their (first) input: TFLM's kernels run over the input's
# elements, the AOT code over the output's.
_SAME_SHAPE = ("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1",
               "HARD_SWISH", "LEAKY_RELU", "PRELU", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "SIN", "COS",
               "QUANTIZE", "DEQUANTIZE", "CAST", "ELU", "NEG", "ABS", "FLOOR", "CEIL", "ROUND", "LOGICAL_NOT")


def _same_shape(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    inputs, outputs = _io(op)
    if not inputs or inputs[0] < 0 or not outputs:
        return
    inp, out = _shape(tensors, inputs[0]), _shape(tensors, outputs[0])
    if out != inp:
        raise _mismatch(label, f"output {out} for input {inp} ({name} keeps the shape)")
    if name in ("SOFTMAX", "LOG_SOFTMAX"):
        _softmax_limits(label, name, op, tensors)
    if name in ("LOGISTIC", "TANH"):
        _sigmoid_limits(label, name, op, tensors)


def _sigmoid_limits(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """int8 LOGISTIC/TANH: Prepare takes frexp(scale * 2^27)'s exponent as a left shift and
    CalculateInputRadius shifts a 64-bit 1 by it; negative or >= 63 is undefined behaviour in C."""
    inputs, _ = _io(op)
    if not inputs or inputs[0] < 0 or type_name(tensors[inputs[0]].type) != "int8":
        return
    scale = _params(tensors[inputs[0]])[0]
    if scale > 0 and not 0 <= math.frexp(scale * float(1 << 27))[1] <= 62:
        raise ModelError(f"{label}: int8 input scale {scale:g} is outside [2^-28, 2^35): TFLite Micro's {name} "
                         "kernel then shifts by a count C leaves undefined (damaged file)",
                         hint="re-export the model from its converter")


def _concat_shapes(label: str, name: str, op: Any, tensors: list[Any]) -> None:
    """Every input has the output's rank and dimensions but along the axis, where they add up
    (TFLM's Prepare checks none of it and reads each input's shape as the output's)."""
    inputs, outputs = _io(op)
    if not outputs or min(inputs, default=0) < 0:
        return
    out = _shape(tensors, outputs[0])
    axis = int(op.builtinOptions.axis)
    axis = axis + len(out) if axis < 0 else axis
    if not 0 <= axis < len(out):
        raise _mismatch(label, f"axis {int(op.builtinOptions.axis)} of output {out}")
    shapes = [_shape(tensors, i) for i in inputs]
    bad = next((sh for sh in shapes if len(sh) != len(out) or any(a != b for k, (a, b) in enumerate(zip(sh, out))
                                                                   if k != axis)), None)
    if bad is not None or sum(sh[axis] for sh in shapes) != out[axis]:
        raise _mismatch(label, f"inputs {shapes} concatenated along axis {axis} for output {out}")


_KERNEL_CHECKS: dict[str, Any] = {
    **{op: _same_shape for op in _SAME_SHAPE},
    "CONCATENATION": _concat_shapes,
    "ADD_N": _add_limits, "CUMSUM": _add_limits,
    "SQUEEZE": _squeeze_shape, "STRIDED_SLICE": _strided_slice_shape,
    "RESHAPE": _same_elements, "EXPAND_DIMS": _same_elements,
    **{op: _broadcast for op in ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", *_COMPARISONS)},
}
