"""The streaming keyword-spotting pipeline, step for step as the firmware runs it.

audio (int16, 16 kHz) -> a 30 ms frame every stride -> audio frontend model -> 40 int8 features
-> feature window -> classifier -> integer moving sum of scores -> threshold + suppression -> detection

Only integers decide a detection (sums of quantized scores against a quantized threshold), so the
device and this reference agree exactly, not approximately.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..reference import Reference
from .config import FEATURE_CHANNELS, SAMPLE_RATE, WINDOW_SAMPLES, KwsConfig


@dataclass(frozen=True)
class Detection:
    label: str
    index: int  # class index
    score: float  # averaged dequantized score that crossed the threshold
    frame: int  # feature frame at which it was detected
    inference: int
    time_ms: float  # end of the audio that produced that frame


@dataclass
class KwsTrace:
    """Everything the pipeline computed, for frame-by-frame comparison with a device."""

    features: list[np.ndarray] = field(default_factory=list)  # per frame, int8 [40]
    scores: list[np.ndarray] = field(default_factory=list)  # per inference, raw quantized output
    inference_frames: list[int] = field(default_factory=list)  # frame index of each inference
    detections: list[Detection] = field(default_factory=list)


class KwsPipeline:
    """Feed audio with `push`; read `trace` for features, scores and detections."""

    def __init__(self, config: KwsConfig, frontend: Reference, classifier: Reference) -> None:
        self.config = config
        self.frontend = frontend
        self.classifier = classifier
        out = classifier.outputs[0]
        self._zero_point = out.zero_point
        self._scale = out.scale if out.scale else 1.0
        self._threshold_sum = config.threshold_q(self._scale) * config.average_window
        self.reset()

    def reset(self) -> None:
        self.frontend.reset()
        self.classifier.reset()
        self._audio = np.zeros(0, dtype=np.int16)  # samples not yet consumed by a frame
        self._samples_seen = 0
        self._frames: deque[np.ndarray] = deque(maxlen=self.config.window_frames)
        self._frames_since_inference = 0
        self._recent: deque[np.ndarray] = deque(maxlen=self.config.average_window)
        self._suppress = 0
        self.trace = KwsTrace()

    def push(self, samples: np.ndarray) -> list[Detection]:
        """Append audio; run every frame and inference it completes. Returns new detections."""
        samples = np.asarray(samples, dtype=np.int16).ravel()
        self._audio = np.concatenate([self._audio, samples])
        self._samples_seen += len(samples)
        before = len(self.trace.detections)
        stride = self.config.stride_samples
        while len(self._audio) >= WINDOW_SAMPLES:
            self._frame(self._audio[:WINDOW_SAMPLES])
            self._audio = self._audio[stride:]
        return self.trace.detections[before:]

    def _frame(self, window: np.ndarray) -> None:
        features = self.frontend.run(window.reshape(self.frontend.inputs[0].shape))[0].reshape(FEATURE_CHANNELS)
        frame_index = len(self.trace.features)
        self.trace.features.append(features.copy())
        self._frames.append(features)
        self._frames_since_inference += 1
        cfg = self.config
        if len(self._frames) < cfg.window_frames or self._frames_since_inference < cfg.new_frames_per_inference:
            return
        self._frames_since_inference = 0
        x = np.stack(list(self._frames)).reshape(self.classifier.inputs[0].shape)
        scores = self.classifier.run(x)[0].reshape(-1)
        self.trace.scores.append(scores.copy())
        self.trace.inference_frames.append(frame_index)
        self._smooth(scores.astype(np.int32) - self._zero_point, frame_index)

    def _smooth(self, scores: np.ndarray, frame_index: int) -> None:
        cfg = self.config
        self._recent.append(scores)
        if self._suppress > 0:
            self._suppress -= 1
            return
        if len(self._recent) < cfg.average_window:
            return
        sums = np.sum(np.stack(list(self._recent)), axis=0)
        best, best_sum = -1, -1
        for i, s in enumerate(sums):
            if not cfg.label_index_ignored(i) and s >= self._threshold_sum and s > best_sum:
                best, best_sum = i, int(s)
        if best < 0:
            return
        self._suppress = cfg.suppression
        end_sample = frame_index * cfg.stride_samples + WINDOW_SAMPLES
        self.trace.detections.append(
            Detection(
                label=cfg.labels[best],
                index=best,
                score=best_sum / cfg.average_window * self._scale,
                frame=frame_index,
                inference=len(self.trace.scores) - 1,
                time_ms=1000.0 * end_sample / SAMPLE_RATE,
            )
        )
