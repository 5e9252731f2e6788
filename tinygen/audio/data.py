"""Paths of the data bundled with tinygen: the micro_speech audio frontend model and test clips."""

from __future__ import annotations

from pathlib import Path

_DATA = Path(__file__).resolve().parents[1] / "data" / "micro_speech"

TEST_CLIPS: tuple[str, ...] = (
    "yes_1000ms.wav", "no_1000ms.wav", "silence_1000ms.wav", "noise_1000ms.wav", "yes_30ms.wav", "no_30ms.wav",
)


def preprocessor_model_path() -> Path:
    """TFLM's audio_preprocessor_int8.tflite (480 int16 samples -> 40 int8 features)."""
    return _DATA / "audio_preprocessor_int8.tflite"


def clip_path(name: str) -> Path:
    """One of `TEST_CLIPS` (16 kHz mono int16)."""
    if name not in TEST_CLIPS:
        raise KeyError(f"no bundled clip {name!r}; have {', '.join(TEST_CLIPS)}")
    return _DATA / "testdata" / name
