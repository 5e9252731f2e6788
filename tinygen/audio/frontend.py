"""The reference feature frontend: an audio-frontend model run by TFLM's interpreter on the host.

Frames go through one interpreter in order, so the model's streaming state (noise estimate, PCAN)
carries over from frame to frame exactly as on a device; `reset()` starts a new stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..reference import Reference
from .data import preprocessor_model_path
from .framing import FrameSpec, frame_audio


class ReferenceFrontend:
    """Frame (int16 [window]) -> features (int8 [channels]) with the TFLM interpreter."""

    def __init__(self, model: str | Path | None = None) -> None:
        self.model_path = Path(model) if model is not None else preprocessor_model_path()
        if not self.model_path.is_file():
            raise ModelError(f"{self.model_path}: no such audio frontend model")
        self._ref = Reference.from_file(self.model_path)
        spec_in, spec_out = self._ref.inputs[0], self._ref.outputs[0]
        if spec_in.dtype != np.int16:
            raise ModelError(f"{self.model_path.name}: input is {spec_in.dtype}, an audio frontend takes int16 samples")
        self.window_samples = int(np.prod(spec_in.shape))
        self.channels = int(np.prod(spec_out.shape))
        self.dtype = spec_out.dtype

    def reset(self) -> None:
        self._ref.reset()

    def run(self, frame: np.ndarray) -> np.ndarray:
        return self._ref.run(np.asarray(frame, dtype=np.int16))[0].reshape(self.channels)

    def run_frames(self, frames: np.ndarray) -> np.ndarray:
        """[n, window] -> [n, channels], from a fresh stream state."""
        self.reset()
        out = np.zeros((len(frames), self.channels), dtype=self.dtype)
        for i, f in enumerate(frames):
            out[i] = self.run(f)
        return out


def features(samples: np.ndarray, spec: FrameSpec = FrameSpec(), frontend: ReferenceFrontend | None = None) -> np.ndarray:
    """[frames, 40] int8 features of int16 audio (16 kHz), streamed frame by frame from reset."""
    frontend = frontend or ReferenceFrontend()
    if spec.window_samples != frontend.window_samples:
        raise ModelError(
            f"{frontend.model_path.name} takes {frontend.window_samples}-sample frames, "
            f"the frame spec gives {spec.window_samples}"
        )
    return frontend.run_frames(frame_audio(samples, spec))
