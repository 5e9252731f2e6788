"""Features with a chosen runtime: the TFLM reference, or tinygen's AOT C checked against it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError, VerifyMismatch
from ..report import Reporter, silent
from .data import preprocessor_model_path
from .framing import FrameSpec, frame_audio
from .frontend import ReferenceFrontend

RUNTIMES = ("reference", "aot")


@dataclass(frozen=True)
class FeatureResult:
    features: np.ndarray  # [frames, channels] int8
    model: Path
    runtime: str
    checked: bool  # True when an AOT result was compared equal to the reference, frame by frame


def compute_features(
    samples: np.ndarray,
    spec: FrameSpec = FrameSpec(),
    model: str | Path | None = None,
    runtime: str = "reference",
    reporter: Reporter | None = None,
) -> FeatureResult:
    """Stream the frames of `samples` through the frontend `model` from a reset state."""
    reporter = reporter or silent()
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    path = Path(model) if model is not None else preprocessor_model_path()
    reference = ReferenceFrontend(path)
    if reference.window_samples != spec.window_samples:
        raise UsageError(
            f"{path.name} takes {reference.window_samples}-sample frames, "
            f"but {spec.window_ms:g} ms at {spec.sample_rate} Hz is {spec.window_samples} samples",
            hint="use an audio frontend model with a 30 ms (480-sample) int16 input",
        )
    frames = frame_audio(samples, spec)
    reporter.step(f"{len(frames)} frames through {path.name} (TFLM reference)")
    ref = reference.run_frames(frames)
    if runtime == "reference":
        return FeatureResult(ref, path, runtime, checked=False)
    from .aot import AotFrontend

    reporter.step(f"{len(frames)} frames through {path.name} (AOT C on the host)")
    with AotFrontend(path, reporter) as aot:
        got = aot.run_frames(frames)
    if not np.array_equal(got, ref):
        bad = np.nonzero((got != ref).any(axis=1))[0]
        raise VerifyMismatch(
            f"AOT features differ from the reference in {len(bad)} of {len(frames)} frames (first: frame {int(bad[0])})",
            hint="this is a tinygen AOT bug: please report it with the WAV file",
        )
    return FeatureResult(got, path, runtime, checked=True)
