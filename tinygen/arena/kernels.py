"""What each TFLM kernel asks of the arena in Init and Prepare, for reference and CMSIS-NN kernels.

Each model mirrors the kernel source at TFLM 90b983c (tensorflow/lite/micro/kernels/*.cc and
kernels/cmsis_nn/*.cc; CMSIS-NN 4ab83cc for arm_*_get_buffer_size on a Cortex-M4, i.e. DSP
extension, no MVE, built with GCC). A kernel talks to the arena through `KernelContext`, in the
order the C++ does:

- `persistent(n)`: context->AllocatePersistentBuffer (tail, 16-byte aligned);
- `temp_input(i)` / `temp_output(i)`: MicroContext::AllocateTemp{Input,Output}Tensor (head, freed
  at the end of the node);
- `scratch(n)`: context->RequestScratchBufferInArena (planned in the head with the activations).

The builtin-options structs (allocated while parsing the flatbuffer) are in `BUILTIN_PARAMS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..model import OperatorInfo, TensorInfo
from .abi import Abi, Field, sizeof

# ---- helper struct pieces -------------------------------------------------------------------
PADDING_VALUES = ("int", "int", "int", "int")  # TfLitePaddingValues
OP_DATA_CONV = (PADDING_VALUES, "i32", "i32", "i32", "i32", "int", "ptr", "ptr", "i32", "i32", "int")
OP_DATA_FC = ("i32", "int", "i32", "i32", "int", "i32", "i32", "i32", "int", "ptr", "ptr", "bool")
OP_DATA_POOLING = (PADDING_VALUES, "i32", "i32", "float", "float")
OP_DATA_ADD = ("bool",) + ("int",) * 12 + ("float", "float")
OP_DATA_MUL = ("i32",) * 7 + ("float", "float")
SOFTMAX_PARAMS = ("i64",) + ("i32",) * 6 + ("float", "ptr", "ptr", "ptr", "ptr", "ptr")  # `double beta` first
STRIDED_SLICE_PARAMS = ("i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5)) + ("i16",) * 5 + ("bool",)
CONCATENATION_PARAMS = ("i32", "ptr", "ptr", "i32", "i32", "float")
QUANTIZE_OP_DATA = (("i32", "i64"), "i32", "int", "i32")  # QuantizationParams{zero_point, double scale}
DEQUANTIZE_OP_DATA = (("i64", "i32"), "i32", "int", "i32")  # DequantizationParams{double scale, zp}

ACTIVATION_PARAMS = ("u8", "i32", "i32")  # enum class FusedActivationFunctionType : uint8_t
RELU_OP_DATA = (ACTIVATION_PARAMS, "i32", "i32", "i32", "int")  # ReluParams derives ActivationParams
PAD_OP_DATA = (("i8", ("arr", "i32", 5), "i8", ("arr", "i32", 5), "u8"), "i32")  # PadParams, zp
HARD_SWISH_PARAMS = ("i16", "i16", "i16", "int", "i16", "int")
ARITHMETIC_PARAMS = ("u8",) + ("i32",) * 12 + ("float", "float", "i64", "i64", "i16", "i16", ("arr", "int", 5))
CONV_PARAMS = ("u8", ("i16", "i16", "i16", "i16"), "i16", "i16", "i16", "i16") + ("i32",) * 7 + ("float", "float")
OP_DATA_BATCH_MATMUL = ("ptr", "ptr", "ptr", "bool", "bool", "bool")
OP_DATA_SUB = ("bool",) + ("int",) * 12
OP_DATA_REDUCE = ("i32", "int", "int", "int", "int", "int", "float", "int", "float", "int", "int")

# LSTM (kernels/lstm_shared.h): OpDataLSTM, and CMSIS-NN's cmsis_nn_lstm_params next to it
FC_PARAMS = ("i32",) * 4 + ("int", "i32", "i32", "float", "float", "bool", "bool", "u8")  # FullyConnectedParams
LSTM_GATE_PARAMS = (FC_PARAMS, FC_PARAMS)  # GateParameters: input and recurrent FC
OP_DATA_LSTM = (
    ("bool", "int", "int", "int", "int"),  # LstmSizeInfo
    ("float", "i16", "i32"),  # CellStateInfo
    "enum",  # cell_gate_nonlinear_type
    LSTM_GATE_PARAMS, LSTM_GATE_PARAMS, LSTM_GATE_PARAMS, LSTM_GATE_PARAMS,
    (ARITHMETIC_PARAMS, ARITHMETIC_PARAMS, ARITHMETIC_PARAMS),  # InterGateParameters
    ("arr", "int", 4),  # buffer_indices
)
CMSIS_LSTM_GATE = ("i32", "i32", "ptr", "ptr", "i32", "i32", "ptr", "ptr", "ptr", "enum")
CMSIS_LSTM_PARAMS = ("i32",) * 15 + (CMSIS_LSTM_GATE,) * 4

# Builtin options structs from tensorflow/lite/core/c/builtin_op_data.h, allocated with
# alignof(T) by the flatbuffer parser. None: the parser allocates nothing for this op.
BUILTIN_PARAMS: dict[str, Field | None] = {
    "ADD": ("enum", "bool"),
    "SUB": ("enum", "bool"),
    "MUL": ("enum",),
    "DIV": ("enum",),
    "CONV_2D": ("enum", "int", "int", "enum", "int", "int", "enum"),
    "DEPTHWISE_CONV_2D": ("enum", "int", "int", "int", "enum", "int", "int"),
    "FULLY_CONNECTED": ("enum", "enum", "bool", "bool", "enum"),
    "AVERAGE_POOL_2D": ("enum", "int", "int", "int", "int", "enum", PADDING_VALUES),
    "MAX_POOL_2D": ("enum", "int", "int", "int", "int", "enum", PADDING_VALUES),
    "RESHAPE": (("arr", "int", 8), "int"),
    "SOFTMAX": ("float",),
    "CAST": ("enum", "enum"),
    "CONCATENATION": ("int", "enum"),
    "STRIDED_SLICE": ("int", "int", "int", "int", "int", "bool"),
    "CALL_ONCE": ("int",),
    "VAR_HANDLE": ("ptr", "ptr"),
    "SPLIT_V": ("int",),
    "SPLIT": ("int",),
    "MEAN": ("bool",),  # TfLiteReducerParams
    "SUM": ("bool",),
    "REDUCE_MAX": ("bool",),
    "REDUCE_MIN": ("bool",),
    "ARG_MAX": ("enum",),
    "ARG_MIN": ("enum",),
    "DEPTH_TO_SPACE": ("int",),
    "SPACE_TO_DEPTH": ("int",),
    "GATHER": ("int", "int"),
    "LEAKY_RELU": ("float",),
    "PACK": ("int", "int"),
    "UNPACK": ("int", "int"),
    "RESIZE_NEAREST_NEIGHBOR": ("bool", "bool"),
    "SQUEEZE": (("arr", "int", 8), "int"),
    "PAD": None,
    "PADV2": None,
    "EXPAND_DIMS": None,
    "EXP": None,
    "HARD_SWISH": None,
    "SLICE": None,
    "SQUARED_DIFFERENCE": None,
    "TRANSPOSE": None,
    "BATCH_MATMUL": ("bool", "bool", "bool"),
    "TRANSPOSE_CONV": ("enum", "int", "int", "enum", "enum"),
    "SVDF": ("int", "enum", "bool"),  # TfLiteSVDFParams
    "UNIDIRECTIONAL_SEQUENCE_LSTM": ("enum", "float", "float", "bool", "bool", "bool"),
    "ASSIGN_VARIABLE": None,
    "READ_VARIABLE": None,
    "DEQUANTIZE": None,
    "QUANTIZE": None,
    "LOGISTIC": None,
    "MAXIMUM": None,
    "MINIMUM": None,
    "RELU": None,
    "RELU6": None,
    "TANH": None,
}


class KernelContext(Protocol):
    """The slice of TfLiteContext/MicroContext a kernel model uses (implemented in tflm.py)."""

    abi: Abi
    kernels: str
    dsp: bool  # the target has the DSP extension (CMSIS-NN's ARM_MATH_DSP)

    def tensor(self, index: int) -> TensorInfo: ...
    def input(self, op: OperatorInfo, i: int) -> TensorInfo | None: ...
    def output(self, op: OperatorInfo, i: int) -> TensorInfo | None: ...
    def temp_input(self, op: OperatorInfo, i: int) -> TensorInfo | None: ...
    def temp_output(self, op: OperatorInfo, i: int) -> TensorInfo | None: ...
    def persistent(self, nbytes: int, category: str = "op data") -> None: ...
    def scratch(self, nbytes: int) -> None: ...
    def var_handle(self, op: OperatorInfo) -> None: ...
    def resolve_shape(self, tensor: int, shape: tuple[int, ...]) -> None: ...
    def assign_variable(self, op: OperatorInfo) -> None: ...


@dataclass(frozen=True)
class Kernel:
    """Init allocates OpData; Prepare does the rest. Either may be None (no such callback)."""

    init: Callable[[KernelContext, OperatorInfo], None] | None
    prepare: Callable[[KernelContext, OperatorInfo], None] | None


def _init_struct(fields: Field) -> Callable[[KernelContext, OperatorInfo], None]:
    def init(ctx: KernelContext, op: OperatorInfo) -> None:
        ctx.persistent(sizeof(fields, ctx.abi))
    return init


def _temps(*spec: str) -> Callable[[KernelContext, OperatorInfo], None]:
    """A Prepare that only looks at tensors: 'i0' = input 0, 'o1' = output 1, in order."""
    def prepare(ctx: KernelContext, op: OperatorInfo) -> None:
        for s in spec:
            (ctx.temp_input if s[0] == "i" else ctx.temp_output)(op, int(s[1:]))
    return prepare


def _all_inputs_then_output(ctx: KernelContext, op: OperatorInfo) -> None:
    for i in range(len(op.inputs)):
        ctx.temp_input(op, i)
    ctx.temp_output(op, 0)


# ---- CONV_2D / DEPTHWISE_CONV_2D -------------------------------------------------------------

def _per_channel(ctx: KernelContext, filt: TensorInfo, axis: int) -> None:
    # per_channel_output_multiplier and per_channel_output_shift, num_channels int32 each
    channels = filt.shape[axis]
    ctx.persistent(4 * channels)
    ctx.persistent(4 * channels)


def _calculate_op_data_conv(ctx: KernelContext, op: OperatorInfo) -> None:
    # CalculateOpDataConv / CalculateOpDataDepthwiseConv: input, filter, bias, output again
    for i in range(3):
        ctx.temp_input(op, i)
    ctx.temp_output(op, 0)


def _conv_prepare_ref(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_output(op, 0)
    ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    assert filt is not None
    _per_channel(ctx, filt, 0)
    _calculate_op_data_conv(ctx, op)
    if filt.dtype == "int4":
        ctx.scratch(filt.num_elements)


def _dw_prepare_ref(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_output(op, 0)
    ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    assert filt is not None
    _per_channel(ctx, filt, 3)
    _calculate_op_data_conv(ctx, op)
    if filt.dtype == "int4":
        ctx.scratch(filt.num_elements)


def _padding(op: OperatorInfo, inp: TensorInfo, filt: TensorInfo, out: TensorInfo) -> tuple[int, int]:
    """ComputePaddingHeightWidth (kernels/padding.h): the (height, width) padding TFLM uses."""
    o = op.options
    pad_same = getattr(o, "padding", 0) == 0  # schema Padding.SAME == 0
    res = []
    for dim, stride, dil in ((1, o.strideH, o.dilationHFactor), (2, o.strideW, o.dilationWFactor)):
        in_size, f_size = inp.shape[dim], filt.shape[dim]
        eff = (f_size - 1) * dil + 1
        out_size = (in_size + stride - 1) // stride if pad_same else (in_size - eff + stride) // stride
        total = max((out_size - 1) * stride + eff - in_size, 0)
        res.append(total // 2)
    return res[0], res[1]


def _conv_prepare_cmsis(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    out = ctx.temp_output(op, 0)
    ctx.temp_output(op, 2)  # sic: CMSIS-NN fetches the bias as output 2, which never exists
    assert inp is not None and filt is not None and out is not None
    if inp.dtype in ("int8", "int16"):
        _per_channel(ctx, filt, 0)
    _calculate_op_data_conv(ctx, op)
    if inp.dtype == "int8":
        pad_h, pad_w = _padding(op, inp, filt, out)
        o = op.options
        in_c, f_h, f_w, f_c = inp.shape[3], filt.shape[1], filt.shape[2], filt.shape[3]
        if pad_h == 0 and pad_w == 0 and f_h == 1 and f_w == 1 and o.dilationWFactor == 1 \
                and o.dilationHFactor == 1 and in_c == f_c:
            size = 0  # 1x1: the fast path's buffer is only used when built with Arm Compiler 6
        elif inp.shape[1] == 1 and o.dilationWFactor == 1 and f_h == 1 \
                and (o.strideW * in_c) % 4 == 0 and in_c == f_c:
            size = _cmsis_im2col_size(in_c, f_h, f_w)  # arm_convolve_1_x_n_s8 (non-MVE)
        else:
            size = _cmsis_im2col_size(in_c, f_h, f_w)  # arm_convolve_s8
        if size > 0:
            ctx.scratch(size)


def _cmsis_im2col_size(in_c: int, f_h: int, f_w: int) -> int:
    # arm_convolve_s8_get_buffer_size without MVE: two im2col columns of int16, 4-aligned
    rhs_cols = f_w * f_h * in_c
    aligned = rhs_cols + (4 - rhs_cols % 4) % 4
    return 2 * aligned * 2


def _dw_prepare_cmsis(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    out = ctx.temp_output(op, 0)
    assert inp is not None and filt is not None and out is not None
    if inp.dtype in ("int8", "int16"):
        _per_channel(ctx, filt, 3)
    _calculate_op_data_conv(ctx, op)
    if inp.dtype == "int8":
        pad_h, pad_w = _padding(op, inp, filt, out)
        o = op.options
        size = 0
        # arm_depthwise_conv_wrapper_s8_get_buffer_size (non-MVE); the optimised kernel's
        # buffer exists only with DSP
        same_depth = inp.shape[3] == out.shape[3] and inp.shape[0] == 1
        no_dilation = o.dilationWFactor == 1 and o.dilationHFactor == 1
        is_3x3_fast = filt.shape[2] == 3 and filt.shape[1] == 3 and pad_h <= 1 and pad_w <= 1
        if ctx.dsp and same_depth and no_dilation and not is_3x3_fast:
            size = inp.shape[3] * filt.shape[1] * filt.shape[2] * 2
        if size > 0:
            ctx.scratch(size)


# ---- FULLY_CONNECTED ---------------------------------------------------------------------------

def _fc_calculate(ctx: KernelContext, op: OperatorInfo, filt: TensorInfo) -> None:
    # CalculateOpDataFullyConnected: per-channel arrays only for per-channel filters
    q = filt.quantization
    if q is not None and q.per_channel:
        ctx.persistent(4 * len(q.scale))
        ctx.persistent(4 * len(q.scale))


def _fc_prepare_ref(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    ctx.temp_input(op, 2)
    ctx.temp_output(op, 0)
    assert filt is not None
    if filt.dtype == "int4":
        ctx.scratch(filt.num_elements)
    _fc_calculate(ctx, op, filt)


def _fc_prepare_cmsis(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    filt = ctx.temp_input(op, 1)
    ctx.temp_input(op, 2)
    out = ctx.temp_output(op, 0)
    assert inp is not None and filt is not None and out is not None
    _fc_calculate(ctx, op, filt)
    accum_depth = filt.shape[-1]
    output_depth = out.shape[-1]
    if inp.dtype == "int16":
        size = 0  # arm_fully_connected_s16_get_buffer_size: 0 without MVE
    elif inp.dtype == "int8" and filt.dtype != "int4":
        if len(out.shape) > 2 and accum_depth % 4 == 0:
            q = filt.quantization
            if not (q is not None and q.per_channel):
                ctx.scratch(output_depth * 4 * 2)  # fake per-channel params for conv 1x1
            size = 0  # arm_convolve_1x1_s8_fast_get_buffer_size: 0 with GCC
        else:
            size = 0  # arm_fully_connected_s8_get_buffer_size: 0 without MVE -> no kernel_sums
    else:
        size = 0
    if size > 0:
        ctx.scratch(size)


# ---- pooling, softmax, elementwise --------------------------------------------------------------

def _avgpool_prepare_cmsis(ctx: KernelContext, op: OperatorInfo) -> None:
    _temps("i0", "o0")(ctx, op)  # PoolingPrepare
    inp = ctx.temp_input(op, 0)
    out = ctx.temp_output(op, 0)
    assert inp is not None and out is not None
    if inp.dtype in ("int8", "int16") and ctx.dsp:
        size = out.shape[3] * 4  # arm_avgpool_s{8,16}_get_buffer_size_dsp: int32 accumulators
    else:
        size = 0
    if size > 0:
        ctx.scratch(size)


def _softmax_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    ctx.temp_output(op, 0)
    assert inp is not None
    if inp.dtype == "int16":  # InitializeLutForInt16: two 513-entry int16 tables
        ctx.persistent(513 * 2)
        ctx.persistent(513 * 2)


def _concat_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_input(op, 0)
    ctx.temp_output(op, 0)
    for i in range(len(op.inputs)):
        ctx.temp_input(op, i)


def _var_handle_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.var_handle(op)


def _assign_variable_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.assign_variable(op)


def _strided_slice_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    _temps("i0", "i1", "i2", "i3", "o0")(ctx, op)


def _reduce_prepare_simple(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    ctx.temp_input(op, 1)
    if inp is not None and inp.dtype == "int8":
        ctx.temp_output(op, 0)


def _mean_or_sum_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    out = ctx.temp_output(op, 0)
    axis = ctx.temp_input(op, 1)
    assert inp is not None and out is not None and axis is not None
    if inp.dtype in ("int8", "int16"):
        ctx.scratch(4 * out.num_elements)  # int32 accumulators
    ctx.scratch(4 * len(inp.shape))  # input iterator
    ctx.scratch(4 * axis.num_elements)  # resolved axes
    _reduce_prepare_simple(ctx, op)


def _min_max_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    _reduce_prepare_simple(ctx, op)
    inp = ctx.temp_input(op, 0)
    ctx.temp_output(op, 0)
    axis = ctx.temp_input(op, 1)
    assert inp is not None and axis is not None
    ctx.scratch(4 * len(inp.shape))
    ctx.scratch(4 * axis.num_elements)


def _with_writable_output_dims(*spec: str) -> Callable[[KernelContext, OperatorInfo], None]:
    """Temps, then micro::CreateWritableTensorDimsWithCopy on output 0 (persistent dims copy)."""
    def prepare(ctx: KernelContext, op: OperatorInfo) -> None:
        _temps(*spec)(ctx, op)
        out = ctx.output(op, 0)
        assert out is not None
        ctx.persistent(4 + 4 * len(out.shape))
    return prepare


def _reshape_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    inp = ctx.temp_input(op, 0)
    out = ctx.temp_output(op, 0)
    assert inp is not None and out is not None
    if -1 in out.shape:  # a stretch dimension: TFLM copies the dims and fills it in
        ctx.persistent(4 + 4 * len(out.shape))
        known = 1
        for d in out.shape:
            known *= d if d != -1 else 1
        ctx.resolve_shape(op.outputs[0], tuple(inp.num_elements // known if d == -1 else d for d in out.shape))


def _tconv_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    """TRANSPOSE_CONV (inputs: output_shape, filter, input, bias). Its scratch requests sit in
    TFLITE_DCHECKs, so they happen in TFLM's default build (and vanish with -DNDEBUG)."""
    out = ctx.temp_output(op, 0)
    inp = ctx.temp_input(op, 2)
    filt = ctx.temp_input(op, 1)
    assert out is not None and inp is not None and filt is not None
    _per_channel(ctx, filt, 0)
    if ctx.kernels == "cmsis-nn" and inp.dtype == "int8":
        o = op.options
        in_c, f_h, f_w, out_c = inp.shape[3], filt.shape[1], filt.shape[2], out.shape[3]
        if o.strideW <= 2 and o.strideH <= 2 and in_c > 16:  # reverse-conv path
            ctx.scratch(_cmsis_im2col_size(in_c, f_h, f_w))  # arm_convolve_s8 on the upsampled input
            ctx.scratch(in_c * f_w * f_h * filt.shape[0])
        else:
            buf_x = ((inp.shape[2] - 1) * o.strideW + max(f_w, o.strideH)) * out_c
            ctx.scratch(buf_x * max(f_h, o.strideH) * 4)
            ctx.scratch(0)
    elif inp.dtype == "int8":
        ctx.scratch(out.num_elements * 4)
    elif inp.dtype == "int16":
        ctx.scratch(out.num_elements * 8)
    if inp.dtype != "float32":  # CalculateOpData
        ctx.temp_input(op, 2)
        ctx.temp_input(op, 1)
        bias = ctx.temp_input(op, 3)
        ctx.temp_output(op, 0)
        if inp.dtype == "int16" and bias is not None and bias.dtype == "int16":
            ctx.scratch(bias.num_elements * 8)


def _svdf_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    """PrepareSvdf (svdf_common.cc) and CmsisNnPrepareSvdf: the same temporaries and two int32
    scratch buffers; CMSIS-NN's kernel_sums buffer is 0 bytes without MVE, so never allocated."""
    inp = ctx.temp_input(op, 0)
    wf = ctx.temp_input(op, 1)
    ctx.temp_input(op, 2)
    ctx.temp_input(op, 3)
    ctx.temp_input(op, 4)
    ctx.temp_output(op, 0)
    assert inp is not None and wf is not None
    if inp.dtype == "int8":
        batch, filters = inp.shape[0], wf.shape[0]
        ctx.scratch(batch * filters * 4)
        ctx.scratch(batch * (filters // op.options.rank) * 4)
    else:
        ctx.scratch(inp.shape[0] * wf.shape[0] * 4)


def _lstm_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    """UnidirectionalSequenceLstmPrepare: LstmTensors takes all 24 inputs and the output as
    temporaries, then four scratch buffers of batch x state x sizeof(cell state). CMSIS-NN's
    integer path (int8 or int16 input, int16 cell) precomputes eight kernel-sum vectors in the
    tail and needs only three buffers."""
    for i in range(24):
        ctx.temp_input(op, i)
    ctx.temp_output(op, 0)
    inp, hidden, cell = ctx.input(op, 0), ctx.input(op, 18), ctx.input(op, 19)
    assert inp is not None and hidden is not None and cell is not None
    time_major = bool(op.options.timeMajor)
    batch = inp.shape[1] if time_major else inp.shape[0]
    state = hidden.shape[-1]
    cell_bytes = {"int16": 2, "float32": 4}.get(cell.dtype, 4)
    buffers = 4
    if ctx.kernels == "cmsis-nn" and cell.dtype == "int16" and inp.dtype in ("int8", "int16"):
        sum_bytes = 4 if inp.dtype == "int8" else 8  # int32 or int64 effective biases
        for _ in range(8):
            ctx.persistent(state * sum_bytes)
        buffers = 3
    for _ in range(buffers):
        ctx.scratch(batch * state * cell_bytes)


def _transposed_copy(ctx: KernelContext, t: TensorInfo) -> None:
    # AllocInitTransposeTensorFromTfLiteTensor: an eval tensor, its dims, and a copy of the data
    ctx.persistent(sizeof(("ptr", "ptr", "enum"), ctx.abi))
    ctx.persistent(4 + 4 * len(t.shape))
    ctx.persistent(t.num_elements * {"int8": 1, "int16": 2}.get(t.dtype, 4))


def _batch_matmul_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    lhs = ctx.temp_input(op, 0)
    rhs = ctx.temp_input(op, 1)
    out = ctx.temp_output(op, 0)
    assert lhs is not None and rhs is not None and out is not None
    o = op.options
    quantized = lhs.dtype in ("int8", "int16")
    quant_size = sizeof(("i32",) * 7, ctx.abi)  # QuantizationOpDataBatchMatmul
    if ctx.kernels != "cmsis-nn" and quantized:
        ctx.persistent(quant_size)
    if o.adjX:
        _transposed_copy(ctx, lhs)
    if not o.adjY:
        _transposed_copy(ctx, rhs)
    ctx.persistent(4 + 4 * len(out.shape))  # ReshapeOutputTensor: writable output dims
    if ctx.kernels == "cmsis-nn" and quantized:
        ctx.persistent(quant_size)  # arm_fully_connected_s8_get_buffer_size: 0 without MVE


def _pad_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_input(op, 0)
    ctx.temp_input(op, 1)
    if len(op.inputs) == 3:
        ctx.temp_input(op, 2)
    ctx.temp_output(op, 0)


REFERENCE: dict[str, Kernel] = {
    "ADD": Kernel(_init_struct(OP_DATA_ADD), _temps("i0", "i1", "o0")),
    # No Init unless TFLM is built with USE_TFLM_COMPRESSION (then an int scratch index).
    "ASSIGN_VARIABLE": Kernel(None, _assign_variable_prepare),
    "AVERAGE_POOL_2D": Kernel(_init_struct(OP_DATA_POOLING), _temps("i0", "o0")),
    "MAX_POOL_2D": Kernel(_init_struct(OP_DATA_POOLING), _temps("i0", "o0")),
    "CALL_ONCE": Kernel(_init_struct(("int", "bool")), None),
    "CAST": Kernel(None, _temps("i0", "o0")),
    "CONCATENATION": Kernel(_init_struct((CONCATENATION_PARAMS,)), _concat_prepare),
    "CONV_2D": Kernel(_init_struct(OP_DATA_CONV), _conv_prepare_ref),
    "DEPTHWISE_CONV_2D": Kernel(_init_struct(OP_DATA_CONV), _dw_prepare_ref),
    "DEQUANTIZE": Kernel(_init_struct(DEQUANTIZE_OP_DATA), _temps("i0", "o0")),
    "DIV": Kernel(_init_struct(("i32",) * 7), _temps("i0", "i1", "o0")),
    "FULLY_CONNECTED": Kernel(_init_struct(OP_DATA_FC), _fc_prepare_ref),
    "LOGISTIC": Kernel(_init_struct(("i32", "i32", "i32", "int")), _temps("i0", "o0")),
    "MAXIMUM": Kernel(None, None),
    "MINIMUM": Kernel(None, None),
    "MUL": Kernel(_init_struct(OP_DATA_MUL), _temps("i0", "i1", "o0")),
    "QUANTIZE": Kernel(_init_struct(QUANTIZE_OP_DATA), _temps("i0", "o0")),
    "READ_VARIABLE": Kernel(None, _temps("i0")),
    "RESHAPE": Kernel(None, _reshape_prepare),
    "SOFTMAX": Kernel(_init_struct(SOFTMAX_PARAMS), _softmax_prepare),
    "SPLIT_V": Kernel(None, _temps("i2")),
    "STRIDED_SLICE": Kernel(_init_struct(STRIDED_SLICE_PARAMS), _strided_slice_prepare),
    "VAR_HANDLE": Kernel(_init_struct(("i32",)), _var_handle_prepare),
    # Ops beyond the measured zoo, checked on small synthetic models (docs/arena.md).
    "ARG_MAX": Kernel(None, None),
    "ARG_MIN": Kernel(None, None),
    "DEPTH_TO_SPACE": Kernel(None, _with_writable_output_dims("i0", "o0")),
    "SPACE_TO_DEPTH": Kernel(None, _with_writable_output_dims("i0", "o0")),
    "EXP": Kernel(None, _temps("i0", "o0")),
    "EXPAND_DIMS": Kernel(None, _temps("i0", "i1", "o0")),
    "GATHER": Kernel(None, _with_writable_output_dims("i0", "i1", "o0")),
    "HARD_SWISH": Kernel(_init_struct(HARD_SWISH_PARAMS), _temps("i0", "o0")),
    "LEAKY_RELU": Kernel(_init_struct(("i32",) * 6), _temps("i0", "o0")),
    "MEAN": Kernel(_init_struct(OP_DATA_REDUCE), _mean_or_sum_prepare),
    "SUM": Kernel(_init_struct(OP_DATA_REDUCE), _mean_or_sum_prepare),
    "REDUCE_MAX": Kernel(_init_struct(OP_DATA_REDUCE), _min_max_prepare),
    "REDUCE_MIN": Kernel(_init_struct(OP_DATA_REDUCE), _min_max_prepare),
    "PACK": Kernel(None, None),
    "UNPACK": Kernel(None, None),
    "PAD": Kernel(_init_struct(PAD_OP_DATA), _pad_prepare),
    "PADV2": Kernel(_init_struct(PAD_OP_DATA), _pad_prepare),
    "RELU": Kernel(_init_struct(RELU_OP_DATA), _temps("i0", "o0")),
    "RELU6": Kernel(_init_struct(("i32", "i32")), _temps("i0")),
    "RESIZE_NEAREST_NEIGHBOR": Kernel(None, _temps("i0", "i1", "o0")),
    "SLICE": Kernel(None, _temps("i0", "i1", "i2", "o0")),
    "SPLIT": Kernel(None, _temps("i0")),
    "SQUARED_DIFFERENCE": Kernel(_init_struct(("bool", ARITHMETIC_PARAMS)), _temps("i0", "i1", "o0")),
    "SQUEEZE": Kernel(None, _temps("i0", "o0")),
    "SUB": Kernel(_init_struct(OP_DATA_SUB), _temps("i0", "i1", "o0")),
    "TANH": Kernel(_init_struct(("i32", "i32", "i32", "int")), _temps("i0", "o0")),
    "TRANSPOSE": Kernel(None, _temps("i0", "i1", "o0")),
    "TRANSPOSE_CONV": Kernel(_init_struct((CONV_PARAMS, "int", "int", "ptr", "ptr")), _tconv_prepare),
    "BATCH_MATMUL": Kernel(_init_struct(OP_DATA_BATCH_MATMUL), _batch_matmul_prepare),
    "SVDF": Kernel(_init_struct(("i32", "i32") + ("int",) * 7), _svdf_prepare),  # OpDataSvdf
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Kernel(_init_struct(OP_DATA_LSTM), _lstm_prepare),
}

# CMSIS-NN replaces these kernels; everything else is the reference kernel.
CMSIS_NN: dict[str, Kernel] = {
    **REFERENCE,
    "ADD": Kernel(_init_struct(OP_DATA_ADD), _temps("i0", "i1", "o0")),
    "AVERAGE_POOL_2D": Kernel(_init_struct((OP_DATA_POOLING, "int")), _avgpool_prepare_cmsis),
    "MAX_POOL_2D": Kernel(_init_struct((OP_DATA_POOLING, "int")), _temps("i0", "o0")),
    "CONV_2D": Kernel(_init_struct((OP_DATA_CONV, "int")), _conv_prepare_cmsis),
    "DEPTHWISE_CONV_2D": Kernel(_init_struct((OP_DATA_CONV, "int")), _dw_prepare_cmsis),
    "FULLY_CONNECTED": Kernel(_init_struct((OP_DATA_FC, "int", "int", "ptr", "i32", "i32", "i32")),
                              _fc_prepare_cmsis),
    "SOFTMAX": Kernel(_init_struct((SOFTMAX_PARAMS, "i32", "i32")), _softmax_prepare),
    "TRANSPOSE_CONV": Kernel(_init_struct((CONV_PARAMS, "int", "int", "int", "ptr", "ptr")), _tconv_prepare),
    "BATCH_MATMUL": Kernel(_init_struct((OP_DATA_BATCH_MATMUL, ("i32",) * 4, "int")), _batch_matmul_prepare),
    # CmsisNnOpDataSvdf (KERNELS_OPTIMIZED_FOR_SPEED: no scratch_weight_tensor_index) + kernel_sums
    "SVDF": Kernel(_init_struct(("i32", "i32") + ("int",) * 7 + ("ptr",)), _svdf_prepare),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Kernel(_init_struct((OP_DATA_LSTM, CMSIS_LSTM_PARAMS)), _lstm_prepare),
}
