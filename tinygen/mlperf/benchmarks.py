"""The four MLPerf Tiny benchmarks the runner drives (docs/mlperf.md): which one a model is, how the
device converts the bytes the runner sends into the model's input, and the result text the device
prints, computed on the host exactly as firmware/apps/mlperf/mlperf.c computes it (float32
arithmetic, the same rounding), so `verify --app mlperf` can require equal text.

The conversions and result formats follow the MLPerf Tiny reference submissions:
  kws01  490 int8 features as sent; scores truncated to three decimals ("0.%d%d%d")
  ic01   3072 uint8 RGB shifted by -128; scores "%0.3f"
  vww01  27648 uint8 RGB shifted by -128; scores "%0.3f"
  ad01   640 little-endian float32, quantized with the input's scale and zero point; one result,
         the mean squared error of the dequantized output against the float input, "%0.3f"
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..model import ModelInfo

F32 = np.float32


@dataclass(frozen=True)
class Benchmark:
    """One MLPerf Tiny benchmark as the device serves it."""

    name: str              # what `profile` reports as m-model-[...]: the runner picks its test script by it
    title: str
    input_kind: str        # "int8" | "uint8_shifted" | "float32"
    results_kind: str      # "scores_truncated3" | "scores_fixed3" | "mse"
    input_elements: int    # the reference model's input size (detection only)

    @property
    def bytes_per_element(self) -> int:
        return 4 if self.input_kind == "float32" else 1


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("kws01", "keyword spotting", "int8", "scores_truncated3", 49 * 10),
    Benchmark("vww01", "visual wake words", "uint8_shifted", "scores_fixed3", 96 * 96 * 3),
    Benchmark("ic01", "image classification", "uint8_shifted", "scores_fixed3", 32 * 32 * 3),
    Benchmark("ad01", "anomaly detection", "float32", "mse", 640),
)}
NAMES = tuple(BENCHMARKS)


@dataclass(frozen=True)
class Plan:
    """A benchmark applied to one model: sizes and quantization the device uses."""

    benchmark: Benchmark
    input_elements: int
    input_scale: float
    input_zero_point: int
    output_elements: int
    output_scale: float
    output_zero_point: int

    @property
    def db_bytes(self) -> int:
        """Bytes the runner sends per input (`db load N`)."""
        return self.input_elements * self.benchmark.bytes_per_element

    @property
    def result_count(self) -> int:
        return 1 if self.benchmark.results_kind == "mse" else self.output_elements


def _quant(t: object) -> tuple[float, int]:
    q = getattr(t, "quantization", None)
    scale = float(q.scale[0]) if q is not None and q.scale else 0.0
    zero_point = int(q.zero_point[0]) if q is not None and q.zero_point else 0
    return scale, zero_point


def detect(model: ModelInfo) -> Benchmark:
    """The benchmark whose reference input size this model's int8 input has."""
    inp = model.inputs[0]
    found = [b for b in BENCHMARKS.values() if inp.num_elements == b.input_elements]
    if len(model.inputs) != 1 or inp.dtype != "int8" or len(found) != 1:
        raise UsageError(f"{model.path.name}: cannot tell which MLPerf Tiny benchmark an input of "
                         f"{inp.dtype} {list(inp.shape)} is",
                         hint=f"pass --benchmark {'|'.join(NAMES)} (inputs: kws01 490, ic01 3072, "
                              "vww01 27648, ad01 640 elements)")
    return found[0]


def plan_for(model: ModelInfo, benchmark: str | None = None) -> Plan:
    """The benchmark for `model` (named, or detected from its input) with the model's sizes."""
    if benchmark is None:
        bench = detect(model)
    elif benchmark in BENCHMARKS:
        bench = BENCHMARKS[benchmark]
    else:
        raise UsageError(f"unknown MLPerf Tiny benchmark '{benchmark}'", hint=f"choose from {', '.join(NAMES)}")
    if len(model.inputs) != 1 or not model.outputs:
        raise UsageError(f"{model.path.name}: the {bench.name} protocol sends one input tensor; the model has "
                         f"{len(model.inputs)}")
    inp, out = model.inputs[0], model.outputs[0]
    if inp.dtype != "int8":
        raise UsageError(f"{model.path.name}: input is {inp.dtype}; the {bench.name} conversion writes int8")
    if out.dtype not in ("int8", "uint8", "int16"):
        raise UsageError(f"{model.path.name}: output is {out.dtype}; results are dequantized from int8/uint8/int16")
    in_scale, in_zp = _quant(inp)
    out_scale, out_zp = _quant(out)
    if out_scale == 0.0 or (bench.input_kind == "float32" and in_scale == 0.0):
        raise UsageError(f"{model.path.name}: {'input' if out_scale else 'output'} has no quantization scale")
    if bench.results_kind == "mse" and out.num_elements < inp.num_elements:
        raise UsageError(f"{model.path.name}: {bench.name} compares output with input, but the output has "
                         f"{out.num_elements} elements and the input {inp.num_elements}")
    return Plan(bench, inp.num_elements, in_scale, in_zp, out.num_elements, out_scale, out_zp)


# ---- the device's arithmetic, on the host ------------------------------------------------------

def _round_half_away(q: float) -> int:
    return math.floor(abs(q) + 0.5) * (1 if q >= 0 else -1)


def quantize_ad(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """mlperf.c quantize_int8: round(v / scale) + zero_point (float32 quotient, half away from zero),
    clamped; NaN -> the zero point."""
    out = np.empty(values.shape, dtype=np.int8)
    s = F32(scale)
    for i, v in enumerate(values.astype(np.float32)):
        with np.errstate(all="ignore"):
            q = float(F32(v) / s)
        if math.isnan(q):
            r = zero_point
        elif q <= -256.0:
            r = -128
        elif q >= 256.0:
            r = 127
        else:
            r = _round_half_away(q) + zero_point
        out[i] = min(127, max(-128, r))
    return out


def model_input(plan: Plan, data: bytes) -> np.ndarray:
    """The int8 input tensor (flat) the device makes from the bytes the runner sent."""
    if len(data) != plan.db_bytes:
        raise UsageError(f"{plan.benchmark.name} input is {plan.db_bytes} bytes, got {len(data)}")
    kind = plan.benchmark.input_kind
    if kind == "int8":
        return np.frombuffer(data, dtype=np.int8).copy()
    if kind == "uint8_shifted":
        return (np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128).astype(np.int8)
    return quantize_ad(np.frombuffer(data, dtype="<f4"), plan.input_scale, plan.input_zero_point)


def dequantize(plan: Plan, output: np.ndarray) -> np.ndarray:
    """(q - zero_point) * scale in float32, as the device does."""
    q = np.asarray(output).reshape(-1).astype(np.int64) - plan.output_zero_point
    return (q.astype(np.float32) * F32(plan.output_scale)).astype(np.float32)


def result_values(plan: Plan, output: np.ndarray, data: bytes) -> list[np.float32]:
    """The float32 results the device computes from the model's output (and, for ad01, its input)."""
    deq = dequantize(plan, output)
    if plan.benchmark.results_kind != "mse":
        return [F32(v) for v in deq[:plan.result_count]]
    floats = np.frombuffer(data, dtype="<f4")
    total = F32(0.0)
    with np.errstate(all="ignore"):
        for a, b in zip(deq[:plan.input_elements], floats):
            diff = F32(a - b)
            total = F32(total + F32(diff * diff))
        return [F32(total / F32(plan.input_elements))]


def fixed3(x: np.float32) -> str:
    """printf("%0.3f", x) for a float32: exact value, ties to even (mlperf.c put_fixed3)."""
    return f"{float(x):.3f}"


def truncated3(x: np.float32) -> str:
    """The keyword-spotting reference's "0.%d%d%d" for x in [0, 1) (mlperf.c put_truncated3)."""
    x = F32(x)
    if not 0.0 <= x < 1.0:
        return fixed3(x)
    d = (int(F32(x * F32(10))), int(F32(x * F32(100))) % 10, int(F32(x * F32(1000))) % 10)
    return f"0.{d[0]}{d[1]}{d[2]}"


def result_text(plan: Plan, output: np.ndarray, data: bytes) -> list[str]:
    """What the device prints between m-results-[ and ], one string per value."""
    fmt = truncated3 if plan.benchmark.results_kind == "scores_truncated3" else fixed3
    return [fmt(v) for v in result_values(plan, output, data)]


def random_input(plan: Plan, rng: np.random.Generator) -> bytes:
    """Bytes the runner could send for this benchmark: every int8/uint8 value equally likely; for
    ad01 float32 spread over the input's quantized range and 10% beyond it (so clamping is used)."""
    n = plan.input_elements
    kind = plan.benchmark.input_kind
    if kind == "int8":
        return rng.integers(-128, 128, size=n).astype(np.int8).tobytes()
    if kind == "uint8_shifted":
        return rng.integers(0, 256, size=n).astype(np.uint8).tobytes()
    lo = (-128 - plan.input_zero_point) * plan.input_scale
    hi = (127 - plan.input_zero_point) * plan.input_scale
    margin = 0.1 * (hi - lo)
    return rng.uniform(lo - margin, hi + margin, size=n).astype("<f4").tobytes()
