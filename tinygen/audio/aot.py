"""The audio frontend as tinygen AOT C, compiled for the host (tinygen.hostrun) and driven frame by
frame: one reset per stream, one invoke per frame, so streaming state (noise estimate) carries
over exactly as on a device."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np

from ..report import Reporter, silent


class AotFrontend:
    """Context manager: `with AotFrontend(model) as fe: fe.run_frames(frames)`."""

    def __init__(self, model: str | Path, reporter: Reporter | None = None, cc: str | None = None) -> None:
        self.model_path = Path(model)
        self.reporter = reporter or silent()
        self.cc = cc
        self._host: object | None = None

    def __enter__(self) -> "AotFrontend":
        from ..hostrun import HostModel

        self.reporter.step(f"generating and compiling {self.model_path.name} as AOT C for the host")
        host = HostModel.build(self.model_path, name="tgfe", cc=self.cc)
        t_in, t_out = host.model.inputs[0], host.model.outputs[0]
        self.window_samples, self.channels = t_in.num_elements, t_out.num_elements
        self._out_dtype = np.dtype(t_out.dtype)
        self._host = host
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._host is not None:
            self._host.close()  # type: ignore[attr-defined]
            self._host = None

    def reset(self) -> None:
        assert self._host is not None, "use AotFrontend as a context manager"
        self._host.reset()  # type: ignore[attr-defined]

    def run(self, frame: np.ndarray) -> np.ndarray:
        assert self._host is not None, "use AotFrontend as a context manager"
        x = np.asarray(frame, dtype=np.int16).reshape(-1)
        if x.size != self.window_samples:
            raise ValueError(f"frame has {x.size} samples, the frontend takes {self.window_samples}")
        out: np.ndarray = self._host.invoke(x)[0].reshape(self.channels)  # type: ignore[attr-defined]
        return out

    def run_frames(self, frames: np.ndarray) -> np.ndarray:
        """[n, window] -> [n, channels] from a fresh stream state."""
        self.reset()
        out = np.zeros((len(frames), self.channels), dtype=self._out_dtype)
        for i, f in enumerate(frames):
            out[i] = self.run(f)
        return out
