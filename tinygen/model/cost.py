"""Multiply-accumulate counts per operator: the first-order cost of a model on an MCU."""

from __future__ import annotations

import math

from .info import ModelInfo, OperatorInfo, SubgraphInfo


def op_macs(sg: SubgraphInfo, op: OperatorInfo) -> int:
    """MACs of one operator (0 for data movement and elementwise-free ops)."""
    t = sg.tensors
    if not op.outputs:
        return 0
    out = t[op.outputs[0]]
    n_out = math.prod(out.shape) if out.shape else 1
    if op.op == "CONV_2D" and len(op.inputs) > 1:
        w = t[op.inputs[1]].shape  # [out_c, kh, kw, in_c]
        return n_out * w[1] * w[2] * w[3] if len(w) == 4 else 0
    if op.op == "DEPTHWISE_CONV_2D" and len(op.inputs) > 1:
        w = t[op.inputs[1]].shape  # [1, kh, kw, out_c]
        return n_out * w[1] * w[2] if len(w) == 4 else 0
    if op.op == "FULLY_CONNECTED" and len(op.inputs) > 1:
        w = t[op.inputs[1]].shape  # [units, in]
        return n_out * w[-1] if w else 0
    if op.op == "TRANSPOSE_CONV" and len(op.inputs) > 2:
        # every input pixel scatters a kh x kw x out_c patch: in_pixels * kh * kw * in_c * out_c
        w, x = t[op.inputs[1]].shape, t[op.inputs[2]].shape  # [out_c, kh, kw, in_c], NHWC
        return math.prod(x[:3]) * math.prod(w) if len(w) == 4 and len(x) == 4 else 0
    if op.op == "SVDF" and len(op.inputs) > 2:
        wf, wt = t[op.inputs[1]].shape, t[op.inputs[2]].shape  # [filters, in], [filters, memory]
        batch = t[op.inputs[0]].shape[0] if t[op.inputs[0]].shape else 1
        return batch * (math.prod(wf) + math.prod(wt)) if len(wf) == 2 and len(wt) == 2 else 0
    if op.op == "UNIDIRECTIONAL_SEQUENCE_LSTM" and len(op.inputs) > 8:
        # four gates, each an input and a recurrent matrix-vector product per time step
        x = t[op.inputs[0]].shape
        steps_batch = math.prod(x[:-1]) if len(x) >= 2 else 1
        gates = sum(math.prod(t[i].shape) for i in op.inputs[1:9] if i >= 0)
        return steps_batch * gates
    if op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D") and op.options is not None:
        return n_out * op.options.filterHeight * op.options.filterWidth
    if op.op in ("ADD", "MUL", "SUB", "SOFTMAX", "LOGISTIC", "MEAN"):
        return n_out
    return 0


def model_macs(model: ModelInfo) -> int:
    return sum(op_macs(sg, op) for sg in model.subgraphs for op in sg.operators)
