"""The regression models of tests/data/fuzz/: each one a mutant of a zoo model that once crashed,
hung or misled tinygen (found by the fuzzer or listed in issue 14), rebuilt deterministically.

    python -m tests.fuzz.regressions [--zoo ../shared/models]   # rewrites tests/data/fuzz/

Each entry: file name, source model, what was changed, and what tinygen must answer now (exit code
of `tinygen inspect`, a fragment of its error line). tests/test_fuzz.py runs every file through
inspect, arena, convert and checks the answer. The zoo models are Apache-2.0 (see the zoo's README);
the mutants keep their bytes apart from the change described.
"""

from __future__ import annotations

import argparse
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flatbuffers

from tinygen.model.schema import fb

DATA = Path(__file__).resolve().parent.parent / "data" / "fuzz"
HELLO = "hello_world/hello_world_int8.tflite"
SPEECH = "micro_speech/micro_speech_quantized.tflite"
FRONTEND = "micro_speech/audio_preprocessor_int8.tflite"
NABU = "micro_wake_word/okay_nabu.tflite"
KWS = "mlperf_tiny/kws_ref_model.tflite"
RESNET = "mlperf_tiny/pretrainedResnet_quant.tflite"


def _pack(m: Any) -> bytes:
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _tensor(m: Any, i: int) -> Any:
    return m.subgraphs[0].tensors[i]


def _op(m: Any, i: int, sg: int = 0) -> Any:
    return m.subgraphs[sg].operators[i]


def _set(obj: Any, **values: Any) -> None:
    for k, v in values.items():
        setattr(obj, k, v)


def _huge_shape(m: Any) -> None:
    _tensor(m, 7).shape = [1, 2147483647, 1, 48]


def _zero_scale(m: Any) -> None:
    _tensor(m, 7).quantization.scale = [0.0]


def _nan_scale(m: Any) -> None:
    _tensor(m, 4).quantization.scale = [float("nan")]


def _scale_count(m: Any) -> None:
    _tensor(m, 4).quantization.scale = [0.1, 0.2, 0.3]
    _tensor(m, 4).quantization.zeroPoint = [0, 0, 0]


def _input_index(m: Any) -> None:
    _op(m, 1).inputs = [7, 4, 99]


def _subgraph_output(m: Any) -> None:
    m.subgraphs[0].outputs = [42]


def _opcode_index(m: Any) -> None:
    _op(m, 0).opcodeIndex = 9


def _buffer_index(m: Any) -> None:
    _tensor(m, 4).buffer = 4000


def _short_buffer(m: Any) -> None:
    m.buffers[5].data = m.buffers[5].data[:100]


def _shape_vs_buffer(m: Any) -> None:
    _tensor(m, 4).shape = [16, 17]


def _other_options(m: Any) -> None:
    _op(m, 0).builtinOptionsType = fb.BuiltinOptions.Conv2DOptions
    _op(m, 0).builtinOptions = fb.Conv2DOptionsT()


def _empty_dim(m: Any) -> None:  # the unsigned `< 0` loop bound `run --compare` failed to compile
    _tensor(m, 9).shape = [1, 0]


def _zero_outputs(m: Any) -> None:
    _op(m, 2).outputs = []


def _nan_beta(m: Any) -> None:
    softmax = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.SoftmaxOptions)
    softmax.builtinOptions.beta = float("nan")


def _fused_sign_bit(m: Any) -> None:
    fc = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.FullyConnectedOptions)
    fc.builtinOptions.fusedActivationFunction = fb.ActivationFunctionType.SIGN_BIT


_CONVS = (fb.BuiltinOptions.Conv2DOptions, fb.BuiltinOptions.DepthwiseConv2DOptions)


def _rank_5_conv(m: Any) -> None:
    conv = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType in _CONVS)
    t = m.subgraphs[0].tensors[conv.outputs[0]]
    t.shape = [1] + list(t.shape)


def _zero_stride(m: Any) -> None:
    conv = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType in _CONVS)
    conv.builtinOptions.strideW = 0


def _custom_options_bytes(m: Any) -> None:
    _op(m, 0).customOptions = [0xFF, 0xFE, 0x80, 0xC3, 0x28, 0x01, 0x02]


def _custom_name_bytes(m: Any) -> None:
    m.operatorCodes[_op(m, 0).opcodeIndex].customCode = b"Signal\xff\xfeWindow"


def _metadata_name(m: Any) -> None:
    m.metadata = [fb.MetadataT()]
    m.metadata[0].name = b"\xf2\x28\xa1min_runtime"
    m.metadata[0].buffer = 0


def _recursive_call(m: Any) -> None:
    call = next(op for sg in m.subgraphs for op in sg.operators
                if op.builtinOptionsType == fb.BuiltinOptions.CallOnceOptions)
    call.builtinOptions.initSubgraphIndex = 0


def _variable_weights(m: Any) -> None:
    _tensor(m, 7).isVariable = True


def _var_handle_name(m: Any) -> None:
    handle = next(op for sg in m.subgraphs for op in sg.operators
                  if op.builtinOptionsType == fb.BuiltinOptions.VarHandleOptions)
    handle.builtinOptions.sharedName = b"str\xafeam"


def _read_before_write(m: Any) -> None:
    _op(m, 1).inputs = [8, 4, 3]  # the output of operator 2


def _constant_output(m: Any) -> None:
    m.subgraphs[0].outputs = [6]


def _no_outputs(m: Any) -> None:  # `index < 0` on an unsigned: `run --compare` failed its host compile
    m.subgraphs[0].outputs = []


def _constant_input(m: Any) -> None:
    m.subgraphs[0].inputs = [0, 5]  # a bias as a second model input (KeyError in the AOT generator)


def _conv_channels(m: Any) -> None:  # run --compare: AOT != TFLM ('a tinygen bug')
    conv = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType in _CONVS)
    t = m.subgraphs[0].tensors[conv.outputs[0]]
    t.shape = list(t.shape[:3]) + [3]


def _depth_multiplier(m: Any) -> None:  # run --compare: AOT != TFLM ('a tinygen bug')
    dw = next(op for op in m.subgraphs[0].operators
              if op.builtinOptionsType == fb.BuiltinOptions.DepthwiseConv2DOptions)
    dw.builtinOptions.depthMultiplier = 5


def _softmax_no_options(m: Any) -> None:  # beta 0: TFLM's int8 softmax aborted run --compare (exit 134)
    softmax = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.SoftmaxOptions)
    softmax.builtinOptionsType, softmax.builtinOptions = fb.BuiltinOptions.NONE, None


def _variable_input(m: Any) -> None:  # KeyError in the AOT generator (inspect, convert, run exited 70)
    m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]].isVariable = True


def _variable_output(m: Any) -> None:
    m.subgraphs[0].tensors[m.subgraphs[0].outputs[0]].isVariable = True


def _first_add(m: Any) -> Any:
    sg = m.subgraphs[0]
    return next(op for op in sg.operators if op.builtinOptionsType == fb.BuiltinOptions.AddOptions)


def _add_output_scale(m: Any) -> None:  # output rescaling multiplier above 1: TFLM's ADD aborts
    m.subgraphs[0].tensors[_first_add(m).outputs[0]].quantization.scale = [1e-9]


def _add_output_shape(m: Any) -> None:  # output smaller than its inputs: TFLM's ADD aborts
    t = m.subgraphs[0].tensors[_first_add(m).outputs[0]]
    t.shape = list(t.shape[:3]) + [int(t.shape[3]) // 2]


def _slice_begin(m: Any) -> None:  # a begin vector shorter than the input's rank (TFLM reads past it)
    sg = m.subgraphs[0]
    op = next(op for op in sg.operators if op.builtinOptionsType == fb.BuiltinOptions.StridedSliceOptions)
    begin = sg.tensors[op.inputs[1]]
    begin.shape = [2]
    m.buffers[begin.buffer].data = m.buffers[begin.buffer].data[:8]


def _int2_tensor(m: Any) -> None:  # TypeError in numpy ('int2' not understood) in the AOT generator
    m.subgraphs[0].tensors[3].type = fb.TensorType.INT2


def _softmax_output_shape(m: Any) -> None:  # run --compare: AOT != TFLM (the AOT code ran over 36 outputs)
    sg = m.subgraphs[0]
    softmax = next(op for op in sg.operators if op.builtinOptionsType == fb.BuiltinOptions.SoftmaxOptions)
    sg.tensors[softmax.outputs[0]].shape = [3, 1, 12]


def _variable_op_output(m: Any) -> None:  # run --compare: AOT != TFLM
    sg = m.subgraphs[0]
    concat = next(op for op in sg.operators if op.builtinOptionsType == fb.BuiltinOptions.ConcatenationOptions)
    sg.tensors[concat.outputs[0]].isVariable = True


def _concat_rank(m: Any) -> None:  # IndexError in the AOT generator's CONCATENATION (exit 70)
    sg = m.subgraphs[0]
    concat = next(op for op in sg.operators if op.builtinOptionsType == fb.BuiltinOptions.ConcatenationOptions)
    vector = next(i for i, t in enumerate(sg.tensors) if len(t.shape) == 1 and m.buffers[t.buffer].data is not None
                  and len(m.buffers[t.buffer].data))
    concat.inputs = [concat.inputs[0], vector]


def _huge_dilation(m: Any) -> None:  # run --compare: AOT != TFLM (a byte mutant of the final fuzz run)
    conv = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType in _CONVS)
    conv.builtinOptions.dilationWFactor = 524288


def _var_handle_no_options(m: Any) -> None:  # AttributeError in tflite_micro's count_resource_variables (exit 70)
    handle = next(op for sg in m.subgraphs for op in sg.operators
                  if op.builtinOptionsType == fb.BuiltinOptions.VarHandleOptions)
    handle.builtinOptionsType, handle.builtinOptions = fb.BuiltinOptions.NONE, None


def _reshape_a_handle(m: Any) -> None:  # KeyError in the AOT generator (inspect exit 70)
    sg = m.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    read = next(op for op in sg.operators if codes[op.opcodeIndex] == fb.BuiltinOperator.READ_VARIABLE)
    read.opcodeIndex = codes.index(fb.BuiltinOperator.RESHAPE)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 3]


def _length_field(data: bytes) -> bytes:  # the tensors vector of the subgraph claims 2^31-1 entries
    m = fb.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    o = sg._tab.Offset(4)
    start = sg._tab.Vector(o) - 4
    return data[:start] + struct.pack("<I", 2**31 - 1) + data[start + 4:]


def _size_without_offset(m: Any) -> None:
    # an activation's (empty) buffer with a size but no offset: no data, as TFLM reads it
    m.buffers[_tensor(m, 42).buffer].size = 10752733140015989623


def _reshape_a_constant(m: Any) -> None:
    # the classifier's RESHAPE reads a strided slice's int32[4] begin vector instead of its activation
    _op(m, 51).inputs = [5, *list(_op(m, 51).inputs)[1:]]


def _reshape_elements(m: Any) -> None:
    # the same RESHAPE with its output cut to half its elements, types kept
    out = _tensor(m, int(_op(m, 51).outputs[0]))
    out.shape = [int(out.shape[0]), int(out.shape[1]) // 2]


def _pcan_length(m: Any) -> None:
    # SignalPCAN's output (the log filter bank's input) 65537 long for its 40 channels
    _tensor(m, 33).shape = [65537]


def _conv_as_depthwise(m: Any) -> None:
    # a 1x1 CONV_2D (filter [128, 1, 1, 128]) relabelled DEPTHWISE_CONV_2D, with depthwise options
    sg, codes = m.subgraphs[0], [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    dw = next(op for op in sg.operators if codes[op.opcodeIndex] == fb.BuiltinOperator.DEPTHWISE_CONV_2D)
    conv = next(op for op in sg.operators if codes[op.opcodeIndex] == fb.BuiltinOperator.CONV_2D
                and list(_tensor(m, int(op.inputs[1])).shape) == [128, 1, 1, 128])
    options = fb.DepthwiseConv2DOptionsT()
    _set(options, padding=conv.builtinOptions.padding, strideW=1, strideH=1, depthMultiplier=1,
         fusedActivationFunction=conv.builtinOptions.fusedActivationFunction, dilationWFactor=1, dilationHFactor=1)
    conv.opcodeIndex, conv.builtinOptionsType, conv.builtinOptions = dw.opcodeIndex, dw.builtinOptionsType, options


def _var_handle_no_name(m: Any) -> None:
    # a VAR_HANDLE's options without container and shared_name (TFLM compares names with strcmp)
    handle = [op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.VarHandleOptions][3]
    handle.builtinOptions.container, handle.builtinOptions.sharedName = None, None


def _logistic_tiny_scale(m: Any) -> None:
    # the int8 LOGISTIC's input scale 3.6e-43 (Prepare's input left shift is then negative)
    codes = [c.builtinCode for c in m.operatorCodes]
    op = next(op for op in m.subgraphs[0].operators if codes[op.opcodeIndex] == fb.BuiltinOperator.LOGISTIC)
    _tensor(m, op.inputs[0]).quantization.scale = [3.58732e-43]


def _var_handle_other_options(m: Any) -> None:
    # a VAR_HANDLE carrying StridedSliceOptions (the shared-name check read them as VarHandleOptions)
    handle = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.VarHandleOptions)
    handle.builtinOptionsType, handle.builtinOptions = fb.BuiltinOptions.StridedSliceOptions, fb.StridedSliceOptionsT()


def _var_handle_mixed_container(m: Any) -> None:
    # the first VAR_HANDLE without a container, the others with an empty one (TFLM: strcmp("", NULL))
    handle = next(op for op in m.subgraphs[0].operators if op.builtinOptionsType == fb.BuiltinOptions.VarHandleOptions)
    handle.builtinOptions.container = None


def _fc_rounding_tie(m: Any) -> None:
    # six weight bytes of the first dense layer changed (a byte mutant of the lead's 10^5 run, seed
    # 2038): with --random 2 the last layer's output 510 then sits on a rounding tie, where TFLM
    # 90b983c's float32 product of the scales and the interpreter's double product disagree
    data = m.buffers[12].data
    for i, v in ((12016, 0), (12019, 0), (64376, 0), (64377, 0), (64378, 0), (64379, 64)):
        data[i] = v


def _depthwise_bias_omitted(m: Any) -> None:
    # the depthwise convolution's bias listed as -1 (TFLM's Prepare frees the null bias tensor: a segfault;
    # found on vww_96_int8's operator 15)
    _op(m, 1).inputs[2] = -1


def _rfft_type_list(m: Any) -> None:
    # SignalRfft's T (the element type) a vector instead of an integer (TypeError in the arena model)
    from flatbuffers import flexbuffers

    codes = [c.customCode for c in m.operatorCodes]
    op = next(op for op in m.subgraphs[0].operators if codes[op.opcodeIndex] in (b"SignalRfft", "SignalRfft"))
    op.customOptions = list(flexbuffers.Dumps({"T": [1, 2], "fft_length": 512}))


def _complex_constant(m: Any) -> None:
    # an int32[16] constant retyped complex128 (its 64 bytes then hold 4 elements: reshape ValueError)
    _tensor(m, 2).type = fb.TensorType.COMPLEX128


def _variant_constant(m: Any) -> None:
    # the same constant typed variant (no numpy type holds it)
    _tensor(m, 2).type = fb.TensorType.VARIANT


def _energy_end_index(m: Any) -> None:
    # SignalEnergy's end_index 300 for its 257-value output (TFLM writes past it)
    from flatbuffers import flexbuffers

    codes = [c.customCode for c in m.operatorCodes]
    op = next(op for op in m.subgraphs[0].operators if codes[op.opcodeIndex] in (b"SignalEnergy", "SignalEnergy"))
    op.customOptions = list(flexbuffers.Dumps({"end_index": 300, "start_index": 5}))


Structural = Callable[[Any], None]
# name -> (source model, change, expected exit of inspect, fragment of its message)
CASES: dict[str, tuple[str, Structural | Callable[[bytes], bytes], str, int, str]] = {
    "huge_shape": (HELLO, _huge_shape, "tensor 7 shape [1, 2147483647, 1, 48] (hung inspect)", 3, "more than the 64 MiB"),
    "zero_scale": (HELLO, _zero_scale, "quantization scale 0 (ZeroDivisionError in codegen)", 3, "finite and positive"),
    "nan_scale": (HELLO, _nan_scale, "quantization scale NaN", 3, "finite and positive"),
    "scale_count": (HELLO, _scale_count, "3 per-channel scales on a [16,16] tensor's axis 0", 3, "per-channel scales"),
    "input_index": (HELLO, _input_index, "operator input tensor 99 of 10 (IndexError in model/cost.py)", 3,
                    "input tensor 99 does not exist"),
    "subgraph_output": (HELLO, _subgraph_output, "subgraph output tensor 42 (IndexError in model/info.py)", 3,
                        "output tensor 42 does not exist"),
    "opcode_index": (HELLO, _opcode_index, "operator code index 9 of 1", 3, "operator code 9"),
    "buffer_index": (HELLO, _buffer_index, "tensor buffer 4000 of 11", 3, "refers to buffer 4000"),
    "short_buffer": (HELLO, _short_buffer, "a [16,16] int8 weight buffer cut to 100 bytes (reshape ValueError)", 3,
                     "holds 100"),
    "shape_vs_buffer": (HELLO, _shape_vs_buffer, "a weight's shape [16,17] for 256 bytes", 3, "needs 272 bytes"),
    "other_options": (HELLO, _other_options, "FULLY_CONNECTED carrying Conv2DOptions (AttributeError in cost.py)", 3,
                      "expected FullyConnectedOptions"),
    "empty_dim": (HELLO, _empty_dim, "output shape [1, 0] (run --compare failed its host compile)", 3,
                  "empty dimension"),
    "zero_outputs": (SPEECH, _zero_outputs, "SOFTMAX with no outputs (IndexError in codegen/aot/context.py)", 3,
                     "has 0 outputs"),
    "nan_beta": (SPEECH, _nan_beta, "SOFTMAX beta NaN (ValueError in codegen/aot/quant.py)", 3, "finite number"),
    "fused_sign_bit": (SPEECH, _fused_sign_bit, "FULLY_CONNECTED with fused SIGN_BIT (ValueError in AOT codegen; "
                       "inspect reports AOT unavailable, convert --runtime aot exits 3)", 0, ""),
    "rank_5_conv": (SPEECH, _rank_5_conv, "a convolution output of rank 5 (ValueError in codegen/aot/ops/nn.py)", 3,
                    "needs rank 4"),
    "zero_stride": (SPEECH, _zero_stride, "a convolution with stride_w 0 (ZeroDivisionError)", 3, "strideW = 0"),
    "custom_options_bytes": (FRONTEND, _custom_options_bytes, "SignalWindow custom options not a flexbuffer", 3,
                             "custom options"),
    "custom_name_bytes": (FRONTEND, _custom_name_bytes, "custom op name not UTF-8 (UnicodeDecodeError)", 3, "not UTF-8"),
    "metadata_name": (HELLO, _metadata_name, "metadata name not UTF-8 (UnicodeDecodeError in arena/tflm.py)", 3,
                      "not UTF-8"),
    "recursive_call": (NABU, _recursive_call, "CALL_ONCE calling its own subgraph (RecursionError in arena)", 3,
                       "recursive subgraph calls"),
    "variable_weights": (SPEECH, _variable_weights, "constant weights marked variable (run --compare: AOT != TFLM, "
                         "'a tinygen bug')", 3, "variable tensor with constant data"),
    "var_handle_name": (NABU, _var_handle_name, "VAR_HANDLE shared_name not UTF-8 (UnicodeDecodeError in arena)", 3,
                        "not UTF-8"),
    "read_before_write": (HELLO, _read_before_write, "an operator reading a later operator's output", 3,
                          "before any operator writes it"),
    "constant_output": (HELLO, _constant_output, "a weight as the model's output (KeyError in the AOT generator)",
                        3, "written by no operator"),
    "no_outputs": (HELLO, _no_outputs, "a model without outputs (generated `index < 0u`: run --compare's host compile "
                   "failed with -Werror=type-limits)", 3, "has no outputs"),
    "constant_input": (HELLO, _constant_input, "a bias listed as a model input (KeyError in the AOT generator)", 3,
                       "is a constant"),
    "conv_channels": (SPEECH, _conv_channels, "a convolution output with 3 channels for its filter's 8 (run --compare: "
                      "AOT != TFLM, reported as a tinygen bug)", 3, "do not fit together"),
    "depth_multiplier": (SPEECH, _depth_multiplier, "a depthwise convolution's depth multiplier 5 for its shapes "
                         "(run --compare: AOT != TFLM)", 3, "depth multiplier 5"),
    "softmax_no_options": (KWS, _softmax_no_options, "a SOFTMAX without options, so beta 0 (a structural mutant "
                           "of the long fuzz run: run --compare aborted, exit 134, in TFLM's int8 softmax)", 3,
                           "beta 0 times the input scale"),
    "variable_input": (KWS, _variable_input, "the model input marked variable (a structural mutant of bench/fuzz.py "
                       "--seed 99: KeyError in the AOT generator, exit 70)", 3, "input tensor 0 is marked variable"),
    "variable_output": (HELLO, _variable_output, "the model output marked variable (KeyError in the AOT generator)", 3,
                        "writes tensor 9, which is marked variable"),
    "add_output_scale": (RESNET, _add_output_scale, "an ADD output scale of 1e-9 (TFLM's ADD aborts: rescaling "
                         "multiplier above 1)", 3, "rescaling multiplier"),
    "add_output_shape": (RESNET, _add_output_shape, "an ADD output with half its inputs' channels (TFLM's ADD aborts)",
                         3, "for inputs [1, 32, 32, 16]"),
    "slice_begin": (NABU, _slice_begin, "a STRIDED_SLICE begin vector of 2 for a rank-4 input (TFLM reads past it)", 3,
                    "needs int32[4]"),
    "int2_tensor": (FRONTEND, _int2_tensor, "a constant typed int2 (a structural mutant of the final fuzz run, seed "
                    "2026: TypeError in numpy, exit 70)", 3, "has type int2"),
    "softmax_output_shape": (KWS, _softmax_output_shape, "the SOFTMAX output shaped [3, 1, 12] for its [1, 12] input (a "
                             "structural mutant of the final fuzz run: run --compare AOT != TFLM)", 3,
                             "SOFTMAX keeps the shape"),
    "variable_op_output": (NABU, _variable_op_output, "a CONCATENATION output marked variable (a structural mutant of "
                           "the final fuzz run: run --compare AOT != TFLM)", 3, "which is marked variable"),
    "concat_rank": ("micro_wake_word/vad.tflite", _concat_rank, "a rank-1 constant as the second input of a rank-4 "
                    "CONCATENATION (a structural mutant of the final fuzz run: IndexError, exit 70)", 3,
                    "concatenated along axis"),
    "huge_dilation": (SPEECH, _huge_dilation, "a depthwise convolution's dilation_w_factor set to 524288 (a byte "
                      "mutant of the final fuzz run, seed 2027: run --compare AOT != TFLM)", 3, "dilation 524288"),
    "var_handle_no_options": ("micro_wake_word/vad.tflite", _var_handle_no_options, "a VAR_HANDLE without its options "
                              "(a structural mutant of the final fuzz run, seed 2027: AttributeError in the PyPI "
                              "interpreter's resource-variable count, run --compare exit 70)", 3, "no VarHandleOptions"),
    "reshape_a_handle": (NABU, _reshape_a_handle, "a READ_VARIABLE turned into a RESHAPE of the resource handle (a "
                         "structural mutant of the final fuzz run, seed 2027: KeyError in the AOT generator, exit 70)",
                         3, "a resource handle"),
    "size_without_offset": ("micro_wake_word/vad.tflite", _size_without_offset, "a CONCATENATION output's buffer "
                            "with a size but no offset (a byte mutant of the lead's 10^5 run, seed 2028: the AOT "
                            "generator took it for a constant, ValueError, exit 70)", 0, ""),
    "reshape_a_constant": (NABU, _reshape_a_constant, "a RESHAPE of a constant int32[4] into the classifier's int8 "
                           "input (a structural mutant of the lead's 10^5 run, seed 2031: run --compare's host compile "
                           "failed, memcpy past the constant, exit 70)", 3, "RESHAPE keeps the type"),
    "reshape_elements": (NABU, _reshape_elements, "a RESHAPE output with half its input's elements", 3,
                         "keeps the number of elements"),
    "pcan_length": (FRONTEND, _pcan_length, "SignalPCAN's output 65537 long for its 40 channels (a byte mutant of the "
                    "lead's 10^5 run, seed 2033: run --compare died with a segfault in TFLM's filter-bank log)", 3,
                    "SignalPCAN needs them equal"),
    "conv_as_depthwise": ("mlperf_tiny/str_ww_ref_model.tflite", _conv_as_depthwise, "a 1x1 CONV_2D relabelled "
                          "DEPTHWISE_CONV_2D, filter [128, 1, 1, 128] (a structural mutant of the lead's 10^5 run, seed "
                          "2034: ValueError in the AOT generator, exit 70)", 3, "its first dimension must be 1"),
    "var_handle_no_name": ("micro_wake_word/vad.tflite", _var_handle_no_name, "a VAR_HANDLE without a shared name (a "
                           "byte mutant of the lead's 10^5 run, seed 2035: run --compare segfaulted in TFLM's "
                           "resource variables)", 3, "has no shared name"),
    "energy_end_index": (FRONTEND, _energy_end_index, "SignalEnergy's end_index 300 for its 257-value output "
                         "(TFLM takes the range from the options alone)", 3, "end_index 300"),
    "logistic_tiny_scale": ("micro_wake_word/vad.tflite", _logistic_tiny_scale, "the int8 LOGISTIC's input scale "
                            "3.6e-43 (a byte mutant of the lead's 10^5 run, seed 2036: ValueError, negative shift count, "
                            "in the AOT generator, exit 70)", 3, "outside [2^-28, 2^35)"),
    "var_handle_other_options": (NABU, _var_handle_other_options, "a VAR_HANDLE carrying StridedSliceOptions (a "
                                 "structural mutant of the lead's 10^5 run, seed 2037: AttributeError in intake, exit 70)",
                                 3, "carries StridedSliceOptions, expected VarHandleOptions"),
    "var_handle_mixed_container": ("micro_wake_word/vad.tflite", _var_handle_mixed_container, "the first VAR_HANDLE "
                                   "without a container, the others with an empty one (TFLM's variable lookup "
                                   "strcmp()s a null name)", 3, "name a container and the others have none"),
    "fc_rounding_tie": ("mlperf_tiny/ad01_int8.tflite", _fc_rounding_tie, "six weight bytes of ad01's first dense "
                        "layer (a byte mutant of the lead's 10^5 run, seed 2038: run --compare, AOT != TFLM by one "
                        "LSB on a rounding tie of a per-tensor FULLY_CONNECTED multiplier)", 0, ""),
    "depthwise_bias_omitted": (SPEECH, _depthwise_bias_omitted, "a DEPTHWISE_CONV_2D's "
                               "bias listed as -1 (a structural mutant of the lead's 10^5 run, seed 2039: run --compare "
                               "died of a segfault in TFLM's Prepare)", 3, "its bias (input 2) is listed as omitted"),
    "rfft_type_list": (FRONTEND, _rfft_type_list, "SignalRfft's custom option T a vector (a structural mutant of the "
                       "lead's 10^5 run, seed 2040: TypeError in the arena model, exit 70)", 3,
                       "SignalRfft takes integers and flags only"),
    "complex_constant": (FRONTEND, _complex_constant, "an int32[16] constant retyped complex128 (a structural mutant "
                         "of the lead's 10^5 run, seed 2041: reshape ValueError in the AOT generator, exit 70)", 3,
                         "needs 256 bytes of data"),
    "variant_constant": (FRONTEND, _variant_constant, "the same constant typed variant (TypeError in numpy)", 3,
                         "has type variant"),
    "truncated": (SPEECH, _truncated, "the first third of the file", 3, "corrupt or truncated"),
    "length_field": (HELLO, _length_field, "the tensors vector's length set to 2^31-1", 3, "corrupt or truncated"),
}


def build(zoo: Path, name: str) -> bytes:
    source, change, *_ = CASES[name]
    data = (zoo / source).read_bytes()
    if change in (_truncated, _length_field):
        return change(data)  # type: ignore[call-arg,arg-type,return-value]
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    change(m)  # type: ignore[call-arg,arg-type]
    return _pack(m)


def main() -> None:
    parser = argparse.ArgumentParser(description="rewrite tests/data/fuzz/ from the model zoo")
    parser.add_argument("--zoo", type=Path, default=DATA.parents[2].parent / "shared" / "models")
    zoo = parser.parse_args().zoo
    DATA.mkdir(parents=True, exist_ok=True)
    # entries without a recipe here are fuzzer mutants kept as found (their files are not rebuilt)
    manifest = json.loads((DATA / "manifest.json").read_text()) if (DATA / "manifest.json").exists() else {}
    for name, (source, _, what, code, fragment) in CASES.items():
        (DATA / f"{name}.tflite").write_bytes(build(zoo, name))
        manifest[name] = {"source": source, "change": what, "inspect_exit": code, "message": fragment}
    (DATA / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
