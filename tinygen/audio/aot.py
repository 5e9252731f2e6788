"""The audio frontend as tinygen AOT C, compiled for the host and driven frame by frame.

Uses `tinygen.hostrun` when it offers a streaming runner; until then it compiles the generated
files itself with the host C compiler into a temporary shared library (ctypes), calling
NAME_reset() once per stream and NAME_invoke() per frame, so streaming state carries over exactly
as on a device.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

from ..errors import BuildError, ToolMissingError
from ..model import load_model
from ..report import Reporter, silent

_NAME = "tgfe"
# headers the generated model needs from the signal kernels (see /work/scratch/aot-requests.md);
# force-included so the build does not depend on which headers NAME_model.c includes itself
_FORCE_INCLUDES = ("tg_signal.h", "tg_intops.h")


class AotFrontend:
    """Context manager: `with AotFrontend(model) as fe: fe.run_frames(frames)`."""

    def __init__(self, model: str | Path, reporter: Reporter | None = None, cc: str | None = None) -> None:
        self.model_path = Path(model)
        self.reporter = reporter or silent()
        self.cc = cc or shutil.which("cc") or shutil.which("gcc")
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._lib: ctypes.CDLL | None = None

    def __enter__(self) -> "AotFrontend":
        from ..codegen.aot import generate

        if self.cc is None:
            raise ToolMissingError("no host C compiler (cc/gcc) found", hint="install gcc to use --runtime aot")
        model = load_model(self.model_path)
        sg = model.main
        t_in, t_out = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
        self.window_samples, self.channels = t_in.num_elements, t_out.num_elements
        self._in_dtype, self._out_dtype = np.dtype(t_in.dtype), np.dtype(t_out.dtype)
        files = generate(model, _NAME)
        self._dir = tempfile.TemporaryDirectory(prefix="tinygen-aot-frontend-")
        d = Path(self._dir.name)
        for name, text in files.items():
            (d / name).write_text(text)
        sources = sorted(str(d / n) for n in files if n.endswith(".c"))
        lib = d / f"lib{_NAME}.so"
        includes = [a for h in _FORCE_INCLUDES if (d / h).exists() for a in ("-include", h)]
        cmd = [self.cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I", str(d),
               *includes, *sources, "-o", str(lib)]
        self.reporter.step(f"compiling {len(sources)} AOT C files for the host")
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:200])
            raise BuildError(f"host build of the AOT frontend failed: {first}", hint="this is a tinygen bug; please report it")
        self._lib = ctypes.CDLL(str(lib))
        self._lib[f"{_NAME}_init"]()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._lib = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def reset(self) -> None:
        assert self._lib is not None, "use AotFrontend as a context manager"
        self._lib[f"{_NAME}_reset"]()

    def run(self, frame: np.ndarray) -> np.ndarray:
        assert self._lib is not None, "use AotFrontend as a context manager"
        x = np.ascontiguousarray(frame, dtype=self._in_dtype).reshape(-1)
        if x.size != self.window_samples:
            raise ValueError(f"frame has {x.size} samples, the frontend takes {self.window_samples}")
        out = np.zeros(self.channels, dtype=self._out_dtype)
        status = self._lib[f"{_NAME}_invoke"](x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
        if status != 0:
            raise BuildError(f"AOT frontend invoke returned {status}")
        return out

    def run_frames(self, frames: np.ndarray) -> np.ndarray:
        """[n, window] -> [n, channels] from a fresh stream state."""
        self.reset()
        out = np.zeros((len(frames), self.channels), dtype=self._out_dtype)
        for i, f in enumerate(frames):
            out[i] = self.run(f)
        return out
