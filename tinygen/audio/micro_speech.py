"""The micro_speech classifier's input: a window of 49 feature frames as one [1, 1960] int8 row."""

from __future__ import annotations

import numpy as np

MICRO_SPEECH_LABELS: tuple[str, ...] = ("silence", "unknown", "yes", "no")
MICRO_SPEECH_FRAMES = 49
FEATURE_CHANNELS = 40


def micro_speech_input(feats: np.ndarray, frames: int = MICRO_SPEECH_FRAMES) -> np.ndarray:
    """The first `frames` frames of `feats` ([n, 40] int8) as [1, frames * 40]; a shorter clip is
    zero-padded at the end, as TFLM's micro_speech evaluate.py does."""
    feats = np.asarray(feats, dtype=np.int8)
    if feats.ndim != 2 or feats.shape[1] != FEATURE_CHANNELS:
        raise ValueError(f"features must be [frames, {FEATURE_CHANNELS}], got {list(feats.shape)}")
    window = np.zeros((frames, FEATURE_CHANNELS), dtype=np.int8)
    n = min(frames, len(feats))
    window[:n] = feats[:n]
    return window.reshape(1, frames * FEATURE_CHANNELS)
