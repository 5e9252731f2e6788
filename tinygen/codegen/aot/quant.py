"""Requantization constants computed at generation time exactly as TFLM computes them at Prepare.

TFLM works in double precision from float32 scales; Python floats are IEEE doubles, so the same
expression order gives the same bits. `round_away` is C's round() (half away from zero).
"""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32


def round_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(m: float) -> tuple[int, int]:
    """(Q31 multiplier, shift) with m ~= multiplier * 2^(shift - 31), TFLM's QuantizeMultiplier."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def f32(x: float) -> float:
    """A float32 value as a Python float (TFLM stores scales as float)."""
    return float(F32(x))


def fc_multiplier(in_scale: float, filter_scale: float, out_scale: float) -> tuple[int, int]:
    """A per-tensor FULLY_CONNECTED's multiplier as the reference interpreter (PyPI tflite-micro)
    computes it: the float32 scales multiplied in double. TFLM trees such as 90b983c multiply them
    in float32 first (kernel_util.cc), which moves the multiplier by a few parts in 10^8: about one
    output in 10^6 then differs by one from theirs."""
    return quantize_multiplier(f32(in_scale) * f32(filter_scale) / f32(out_scale))


def quantize_value(scale: float, zero_point: int, f: float) -> int:
    """TFLM's Quantize(): round(f / scale) in float32, plus the zero point."""
    return int(zero_point) + round_away(float(F32(f) / F32(scale)))


class UnsupportedActivation(ValueError):
    """A fused activation the quantized kernels do not have (the generator names the op)."""


def activation_range(activation: int, scale: float, zero_point: int, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for a fused activation (schema ActivationFunctionType)."""
    if activation == 1:  # RELU
        return max(qmin, quantize_value(scale, zero_point, 0.0)), qmax
    if activation == 3:  # RELU6
        return max(qmin, quantize_value(scale, zero_point, 0.0)), min(qmax, quantize_value(scale, zero_point, 6.0))
    if activation == 2:  # RELU_N1_TO_1
        return max(qmin, quantize_value(scale, zero_point, -1.0)), min(qmax, quantize_value(scale, zero_point, 1.0))
    if activation == 0:
        return qmin, qmax
    raise UnsupportedActivation(f"fused activation {activation} (of the schema's ActivationFunctionType) is not "
                                "supported on quantized tensors; NONE, RELU, RELU_N1_TO_1 and RELU6 are")


def wrap_i32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= (1 << 31) else x


def requantize(x: int, multiplier: int, shift: int) -> int:
    """TFLM's MultiplyByQuantizedMultiplier on int32 (tg_requant in tg_aot_fixedpoint.h): x * 2^max(shift, 0),
    saturating rounding doubling high multiply, rounding division by 2^max(-shift, 0) (ties away from zero)."""
    left, right = max(shift, 0), max(-shift, 0)
    a = wrap_i32(x << left)
    if a == multiplier == -(1 << 31):
        hi = (1 << 31) - 1
    else:
        hi = (a * multiplier + (1 << 30)) >> 31
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> right) + (1 if (hi & mask) > threshold else 0)


def compute_padding(in_size: int, filter_size: int, stride: int, dilation: int, out_size: int, same: bool) -> int:
    """TFLM ComputePaddingHeightWidth for one axis (the leading pad)."""
    if not same:
        return 0
    eff = (filter_size - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + eff - in_size)
    return total // 2
