"""Keyword-spotting settings, from the command line, a microWakeWord manifest, or defaults."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import UsageError
from ..model import ModelInfo

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 480  # 30 ms: what the audio preprocessor model takes per frame
FEATURE_CHANNELS = 40


@dataclass(frozen=True)
class KwsConfig:
    """Everything that decides detections. All times are in feature frames or inferences."""

    labels: tuple[str, ...]
    stride_samples: int = 320  # 20 ms between feature frames
    window_frames: int = 49  # frames the classifier sees at once (non-streaming models)
    new_frames_per_inference: int = 1  # run the classifier after this many new frames
    streaming: bool = False  # model keeps its own state (microWakeWord): input = just the new frames
    threshold: float = 0.8  # on the averaged dequantized score
    average_window: int = 3  # inferences averaged (60 ms at a 20 ms stride)
    suppression: int = 50  # inferences with no new detection after one
    ignore_labels: tuple[str, ...] = ("silence", "unknown", "_silence_", "_unknown_")

    @property
    def stride_ms(self) -> float:
        return 1000.0 * self.stride_samples / SAMPLE_RATE

    def threshold_q(self, scale: float) -> int:
        """The threshold in units of the output's quantization step (integer compare on the device)."""
        return int(math.ceil(self.threshold / scale - 1e-9))

    def label_index_ignored(self, index: int) -> bool:
        return index >= len(self.labels) or self.labels[index] in self.ignore_labels


def config_for_model(
    model: ModelInfo,
    labels: list[str] | None = None,
    manifest: Path | None = None,
    threshold: float | None = None,
) -> KwsConfig:
    """Derive the pipeline shape from the classifier's input tensor, then apply overrides.

    - input [1, F*40] or [1, F, 40] / [1, F, 1, 40] with F > 3: a window of F frames, 20 ms stride
    - input [1, 3, 40] with resource variables (microWakeWord): streaming, 10 ms stride, 3 new frames
    """
    shape = model.inputs[0].shape
    elements = math.prod(shape)
    if elements % FEATURE_CHANNELS:
        raise UsageError(
            f"{model.path.name}: input {list(shape)} is not a whole number of {FEATURE_CHANNELS}-channel "
            "feature frames; keyword spotting needs a spectrogram-input model"
        )
    frames = elements // FEATURE_CHANNELS
    streaming = "VAR_HANDLE" in model.op_counts
    n_out = math.prod(model.outputs[0].shape)
    if labels is None:
        labels = ["wake"] if n_out == 1 else [f"class{i}" for i in range(n_out)]
    if len(labels) != n_out:
        raise UsageError(f"{len(labels)} labels given for a model with {n_out} outputs")
    cfg = KwsConfig(labels=tuple(labels), window_frames=frames)
    if streaming:
        cfg = replace(cfg, streaming=True, new_frames_per_inference=frames, stride_samples=160,
                      threshold=0.97, average_window=5, suppression=100)
    if manifest is not None:
        cfg = apply_manifest(cfg, manifest)
    if threshold is not None:
        cfg = replace(cfg, threshold=threshold)
    return cfg


def apply_manifest(cfg: KwsConfig, manifest: Path) -> KwsConfig:
    """A microWakeWord manifest: probability_cutoff, feature_step_size (ms), sliding_window_size."""
    try:
        doc = json.loads(Path(manifest).read_text())
        micro = doc["micro"]
        step_ms = int(micro.get("feature_step_size", cfg.stride_ms))
        return replace(
            cfg,
            labels=(str(doc.get("wake_word", cfg.labels[0])),) if len(cfg.labels) == 1 else cfg.labels,
            threshold=float(micro.get("probability_cutoff", cfg.threshold)),
            average_window=int(micro.get("sliding_window_size", cfg.average_window)),
            stride_samples=SAMPLE_RATE * step_ms // 1000,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot use manifest {manifest}: {exc}") from exc
