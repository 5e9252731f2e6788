"""A compiled AOT model loaded with ctypes: set inputs, run, read outputs, reset state."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import UsageError
from ..model import ModelInfo, TensorInfo, load_model
from .compile import compile_sources


def _np_dtype(t: TensorInfo) -> np.dtype:
    return np.dtype(t.dtype).newbyteorder("=")


class HostModel:
    """One model's generated C in this process. Each instance loads its own copy of the library."""

    def __init__(self, model: ModelInfo, library: Path, name: str):
        self.model = model
        self.name = name
        # a private copy per instance: dlopen shares one library (and its state) per path
        fd, tmp = tempfile.mkstemp(suffix=".so", prefix="tinygen-")
        os.close(fd)
        shutil.copyfile(library, tmp)
        try:
            self._lib = ctypes.CDLL(tmp, mode=getattr(ctypes, "RTLD_LOCAL", 0))
        finally:
            os.unlink(tmp)  # stays mapped while loaded
        for fn in ("input", "output"):
            getattr(self._lib, f"{name}_{fn}").restype = ctypes.c_void_p
            getattr(self._lib, f"{name}_{fn}").argtypes = [ctypes.c_uint32]
        self._lib[f"{name}_init"]()

    @classmethod
    def build(cls, model: str | Path | ModelInfo, name: str = "model", cc: str | None = None,
              extra_flags: tuple[str, ...] = ()) -> "HostModel":
        from ..codegen import aot

        info = model if isinstance(model, ModelInfo) else load_model(model)
        files = aot.generate(info, name)
        result = compile_sources(files, cc=cc, extra=extra_flags)
        return cls(info, result.library, name)

    def __enter__(self) -> "HostModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._lib = None  # type: ignore[assignment]

    def symbol(self, name: str) -> Callable[[], int]:
        """A uint32_t function of the library without arguments (e.g. NAME_incremental_hits)."""
        fn = self._lib[name]
        fn.restype = ctypes.c_uint32
        fn.argtypes = []
        return fn

    def reset(self) -> None:
        self._lib[f"{self.name}_reset"]()

    def _buffer(self, kind: str, index: int, t: TensorInfo) -> np.ndarray:
        addr = getattr(self._lib, f"{self.name}_{kind}")(index)
        raw = (ctypes.c_uint8 * t.nbytes).from_address(addr)
        return np.frombuffer(memoryview(raw), dtype=_np_dtype(t)).reshape(t.shape)  # type: ignore[arg-type]

    def invoke(self, *inputs: np.ndarray | Sequence) -> list[np.ndarray]:
        """Run once. Inputs in model order (values are cast to the tensor type); outputs copied."""
        if len(inputs) != len(self.model.inputs):
            raise UsageError(f"model takes {len(self.model.inputs)} input(s), got {len(inputs)}")
        for i, (x, t) in enumerate(zip(inputs, self.model.inputs)):
            arr = np.asarray(x)
            if arr.size != t.num_elements:
                raise UsageError(f"input {i} needs {t.num_elements} values, got {arr.size}")
            self._buffer("input", i, t)[...] = arr.astype(_np_dtype(t)).reshape(t.shape)
        self._lib[f"{self.name}_run"]()
        return [self._buffer("output", i, t).copy() for i, t in enumerate(self.model.outputs)]
