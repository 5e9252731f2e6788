"""`TreeReference`: the `Reference` interface over a local TFLM tree compiled for the host.

The runner (build.py, tg_tflm_host.cc) is a child process that keeps one MicroInterpreter for the
whole run, so streaming models carry their resource variables across `run` calls as the device
does; `reset()` resets both. A TFLM error or crash there is reported like the wheel's (ModelError,
with TFLM's last messages).
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import ModelError
from ..model import ModelInfo, TensorInfo
from ..model.variables import resource_variable_count
from ..platform.tflm import TflmTree
from ..reference import IOSpec, Reference, host_arena_size
from ..report import Reporter
from .build import build_runner

_OK = 0


def _spec(i: int, t: TensorInfo) -> IOSpec:
    q = t.quantization
    return IOSpec(index=i, dtype=np.dtype(t.dtype), shape=tuple(t.shape),
                  scale=float(q.scale[0]) if q and q.scale else 0.0,
                  zero_point=int(q.zero_point[0]) if q and q.zero_point else 0)


class TreeReference(Reference):
    """TFLM from a local tree, compiled for the host, running `model` in a child process."""

    kind = "tflm-tree"

    def __init__(self, runner: Path, model: ModelInfo, tree: TflmTree, arena_size: int | None = None) -> None:
        self.inputs = [_spec(i, t) for i, t in enumerate(model.inputs)]
        self.outputs = [_spec(i, t) for i, t in enumerate(model.outputs)]
        self.tree = tree
        self._in_bytes = [t.nbytes for t in model.inputs]
        self._out_bytes = [t.nbytes for t in model.outputs]
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        arena = arena_size or host_arena_size(len(model.data))
        self._proc = subprocess.Popen([str(runner), str(arena), str(resource_variable_count(model))],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        try:
            self._send(struct.pack("<I", len(model.data)) + model.data)
            self._status("the model could not be loaded (AllocateTensors failed)")
            n_in, n_out = struct.unpack("<II", self._read(8))
            sizes = list(struct.unpack(f"<{n_in + n_out}I", self._read(4 * (n_in + n_out))))
        except BaseException:
            self.close()
            raise
        if sizes != self._in_bytes + self._out_bytes:
            self.close()
            raise ModelError(f"{self.label} sees tensors of {sizes} bytes, the model's inputs and outputs "
                             f"have {self._in_bytes + self._out_bytes}")

    @classmethod
    def build(cls, tree: TflmTree, model: ModelInfo, reporter: Reporter | None = None) -> TreeReference:
        """Compile (or find in the cache) the runner for this tree and the model's ops, and start it."""
        return cls(build_runner(tree, model, reporter), model, tree)

    @property
    def label(self) -> str:
        return f"TFLM at {self.tree.root} ({self.tree.revision}), compiled for the host (reference kernels)"

    def close(self) -> None:
        proc = self._proc if hasattr(self, "_proc") else None
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            try:
                proc.stdin.close()  # end of input: the runner exits
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        self._stderr.close()

    def __del__(self) -> None:
        if hasattr(self, "_stderr") and not self._stderr.closed:
            self.close()

    def reset(self) -> None:
        self._send(b"R")
        self._status("reset failed")

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        if len(inputs) != len(self.inputs):
            raise ValueError(f"model has {len(self.inputs)} inputs, got {len(inputs)}")
        blob = b"".join(np.ascontiguousarray(np.asarray(x, dtype=s.dtype).reshape(s.shape)).tobytes()
                        for s, x in zip(self.inputs, inputs))
        self._send(b"I" + blob)
        self._status("an operator rejected its tensors at run time; TFLM on the device would fail the same way")
        return [np.frombuffer(self._read(n), dtype=s.dtype).reshape(s.shape).copy()
                for s, n in zip(self.outputs, self._out_bytes)]

    def _send(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._died()

    def _read(self, n: int) -> bytes:
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(n)
        if len(data) != n:
            self._died()
        return data

    def _status(self, what: str) -> None:
        if self._read(1)[0] != _OK:
            raise ModelError(f"{self.label} could not run the model: {what}: {self._messages()}",
                             hint="TFLM's message names the operator; re-export the model")

    def _died(self) -> None:
        code = self._proc.wait()
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        raise ModelError(f"{self.label} stopped while running the model ({how}): {self._messages()}",
                         hint="TFLM itself failed on this model on the host; the device's TFLM would too")

    def _messages(self) -> str:
        self._stderr.seek(0)
        lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        return "; ".join(lines[-3:]) or "no message"
