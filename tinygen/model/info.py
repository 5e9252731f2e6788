"""Frozen descriptions of a model, the data every later stage works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# bytes per element of the tensor types tinygen meets
DTYPE_SIZES: dict[str, int] = {
    "int8": 1, "uint8": 1, "bool": 1, "int16": 2, "uint16": 2, "float16": 2,
    "int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8, "complex64": 8, "complex128": 16,
    "resource": 0, "int4": 1,
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    quantization: Quantization | None
    buffer: int
    is_constant: bool
    is_variable: bool

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_SIZES.get(self.dtype, 4)


@dataclass(frozen=True)
class OperatorInfo:
    index: int
    op: str  # builtin name ("CONV_2D") or custom code ("SignalWindow")
    is_custom: bool
    version: int
    inputs: tuple[int, ...]  # tensor indices, -1 for an omitted optional input
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options: Any  # the schema's *OptionsT object, or None
    custom_options: bytes


@dataclass(frozen=True)
class SubgraphInfo:
    index: int
    name: str
    tensors: tuple[TensorInfo, ...]
    operators: tuple[OperatorInfo, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class ModelInfo:
    """A parsed .tflite model. `raw` is the schema's ModelT for stages that need every field."""

    path: Path
    data: bytes = field(repr=False)
    sha256: str
    description: str
    subgraphs: tuple[SubgraphInfo, ...]
    raw: Any = field(repr=False, compare=False)

    @property
    def main(self) -> SubgraphInfo:
        return self.subgraphs[0]

    @property
    def inputs(self) -> tuple[TensorInfo, ...]:
        return tuple(self.main.tensors[i] for i in self.main.inputs)

    @property
    def outputs(self) -> tuple[TensorInfo, ...]:
        return tuple(self.main.tensors[i] for i in self.main.outputs)

    @property
    def op_counts(self) -> dict[str, int]:
        """Op name -> number of uses over all subgraphs, sorted by name."""
        counts: dict[str, int] = {}
        for sg in self.subgraphs:
            for op in sg.operators:
                counts[op.op] = counts.get(op.op, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def custom_ops(self) -> tuple[str, ...]:
        return tuple(sorted({op.op for sg in self.subgraphs for op in sg.operators if op.is_custom}))

    def buffer_bytes(self, tensor: TensorInfo) -> bytes:
        """The constant data of a tensor (empty for activations)."""
        buf = self.raw.buffers[tensor.buffer] if tensor.buffer < len(self.raw.buffers) else None
        if buf is None or buf.data is None:
            if buf is not None and buf.offset and buf.size:
                return self.data[buf.offset: buf.offset + buf.size]
            return b""
        return bytes(np.asarray(buf.data, dtype=np.uint8))

    def tensor_array(self, tensor: TensorInfo) -> np.ndarray:
        """The constant data of a tensor as a numpy array of its dtype and shape."""
        raw = self.buffer_bytes(tensor)
        arr = np.frombuffer(raw, dtype=np.dtype(tensor.dtype).newbyteorder("<"))
        return arr.reshape(tensor.shape) if tensor.shape else arr

    @property
    def constant_bytes(self) -> int:
        """Bytes of constant tensor data (weights, biases, tables): what lands in flash."""
        seen: set[int] = set()
        total = 0
        for sg in self.subgraphs:
            for t in sg.tensors:
                if t.is_constant and t.buffer not in seen:
                    seen.add(t.buffer)
                    total += len(self.buffer_bytes(t))
        return total
