"""The Python reference: TFLM's own interpreter on the host (PyPI `tflite-micro`, reference kernels).

Every correctness claim in tinygen is "equal to this". One `Reference` keeps one interpreter, so
streaming models (resource variables) carry their state across `run` calls exactly as a device does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError


@dataclass(frozen=True)
class IOSpec:
    """One input or output of the model as the interpreter sees it."""

    index: int
    dtype: np.dtype
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """float -> this tensor's integer type (round half away from zero, like TFLite)."""
        if self.scale == 0:
            return np.asarray(x).astype(self.dtype)
        info = np.iinfo(self.dtype)
        q = np.round(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if self.scale == 0:
            return np.asarray(q, dtype=np.float32)
        return ((np.asarray(q, dtype=np.int64) - self.zero_point) * self.scale).astype(np.float32)

    def random(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random tensor over the dtype's full range."""
        info = np.iinfo(self.dtype)
        return rng.integers(info.min, int(info.max) + 1, size=self.shape, dtype=np.int64).astype(self.dtype)


def _spec(i: int, d: dict[str, Any]) -> IOSpec:
    q = d.get("quantization_parameters") or {}
    scales = q.get("scales")
    zps = q.get("zero_points")
    return IOSpec(
        index=i,
        dtype=np.dtype(d["dtype"]),
        shape=tuple(int(s) for s in d["shape"]),
        scale=float(scales[0]) if scales is not None and len(scales) else 0.0,
        zero_point=int(zps[0]) if zps is not None and len(zps) else 0,
    )


def host_arena_size(model_bytes: int) -> int:
    """Arena for a TFLM interpreter on the host. The host is 64-bit and its persistent allocations
    are larger than on the device, so it gets a generous arena; the device's exact arena is
    checked on the device."""
    return max(model_bytes * 10, 1 << 20)


class Reference:
    """A TFLM interpreter on the host. `run` takes and returns integer arrays.

    This one is the PyPI wheel's (kind "wheel"); `tinygen.tflmhost.TreeReference` is the same
    interface over a local TFLM tree compiled for the host (kind "tflm-tree")."""

    kind = "wheel"

    def __init__(self, interpreter: Any, n_inputs: int, n_outputs: int) -> None:
        self._interp = interpreter
        self.inputs = [_spec(i, interpreter.get_input_details(i)) for i in range(n_inputs)]
        self.outputs = [_spec(i, interpreter.get_output_details(i)) for i in range(n_outputs)]

    @classmethod
    def from_file(cls, path: str | Path, arena_size: int | None = None) -> "Reference":
        return cls.from_bytes(Path(path).read_bytes(), arena_size)

    @classmethod
    def from_bytes(cls, data: bytes, arena_size: int | None = None) -> "Reference":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from tflite_micro.python.tflite_micro import runtime

        arena = arena_size or host_arena_size(len(data))
        from .model import parse_model

        main = parse_model(data).main  # the interpreter cannot say how many inputs it has
        try:
            return cls(runtime.Interpreter.from_bytes(data, arena_size=arena), len(main.inputs), len(main.outputs))
        except (RuntimeError, ValueError) as exc:  # what the interpreter wrapper raises when TFLM returns an error
            raise ModelError(f"the reference interpreter rejected the model: {exc}") from exc

    @property
    def label(self) -> str:
        """Which TFLM this is, for reports."""
        import tflite_micro

        return f"PyPI tflite-micro {tflite_micro.__version__} (TFLM's interpreter, reference kernels)"

    def close(self) -> None:
        """Release what the reference holds (nothing for the wheel's interpreter)."""

    def reset(self) -> None:
        """Back to the state after initialisation (resource variables reset)."""
        self._interp.reset()

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """One inference on integer inputs; returns copies of every output."""
        if len(inputs) != len(self.inputs):
            raise ValueError(f"model has {len(self.inputs)} inputs, got {len(inputs)}")
        for spec, x in zip(self.inputs, inputs):
            self._interp.set_input(np.asarray(x, dtype=spec.dtype).reshape(spec.shape), spec.index)
        try:
            self._interp.invoke()
        except RuntimeError as exc:  # an operator's Eval returned an error: TFLM refuses this model at run time
            raise ModelError(f"the reference interpreter could not run the model ({exc}): an operator "
                             "rejected its tensors at run time; TFLM on the device would fail the same way",
                             hint="the lines TFLM printed above name the operator; re-export the model") from exc
        return [np.array(self._interp.get_output(spec.index), copy=True) for spec in self.outputs]

    def run_float(self, x: np.ndarray) -> np.ndarray:
        """Quantize a float input, run, dequantize the first output."""
        q = self.inputs[0].quantize(x)
        return self.outputs[0].dequantize(self.run(q)[0])
