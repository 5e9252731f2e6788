"""Cutting audio into the overlapping frames a feature frontend consumes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .wav import SAMPLE_RATE, AudioError


@dataclass(frozen=True)
class FrameSpec:
    """30 ms windows every 20 ms by default (micro_speech); 10 ms stride for microWakeWord."""

    window_ms: float = 30.0
    stride_ms: float = 20.0
    sample_rate: int = SAMPLE_RATE

    @property
    def window_samples(self) -> int:
        return int(round(self.window_ms * self.sample_rate / 1000))

    @property
    def stride_samples(self) -> int:
        return int(round(self.stride_ms * self.sample_rate / 1000))

    def __post_init__(self) -> None:
        if self.window_samples <= 0 or self.stride_samples <= 0:
            raise AudioError(f"frame window {self.window_ms} ms / stride {self.stride_ms} ms must both be positive")

    def count(self, n_samples: int) -> int:
        """Complete frames in `n_samples` (a trailing partial frame is dropped, as TFLM does)."""
        if n_samples < self.window_samples:
            return 0
        return 1 + (n_samples - self.window_samples) // self.stride_samples


def frame_audio(samples: np.ndarray, spec: FrameSpec = FrameSpec()) -> np.ndarray:
    """[frames, window_samples] int16; frame i starts at i * stride_samples."""
    x = np.asarray(samples, dtype=np.int16).ravel()
    n = spec.count(len(x))
    if n == 0:
        return np.zeros((0, spec.window_samples), dtype=np.int16)
    idx = np.arange(n)[:, None] * spec.stride_samples + np.arange(spec.window_samples)[None, :]
    frames: np.ndarray = x[idx]
    return frames


def stride_ms_from_manifest(path: str | Path) -> float:
    """`micro.feature_step_size` (ms) of a microWakeWord model manifest (.json)."""
    try:
        doc = json.loads(Path(path).read_text())
        return float(doc["micro"]["feature_step_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AudioError(f"{path}: not a microWakeWord manifest with micro.feature_step_size ({exc})") from exc
