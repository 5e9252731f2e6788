"""`tinygen verify --app kws`: the settings from the command line (labels, manifest, threshold) turned
into a KwsConfig; the run itself is tinygen/kws/session.py."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError, VerifyMismatch
from ..model import load_model
from .config import KwsConfig, config_for_model
from .session import KwsRunResult


def parse_labels(text: str | None) -> list[str] | None:
    """Labels as "a,b,c" or the path of a file with one label per line."""
    if text is None:
        return None
    if Path(text).is_file():
        from ..convert import read_labels

        return read_labels(Path(text))
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        raise UsageError(f"no labels in '{text}'", hint="give them as --labels silence,unknown,yes,no or a file")
    return labels


def kws_config(model: Path, labels: str | None, manifest: Path | None, threshold: float | None) -> KwsConfig:
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise UsageError(f"threshold {threshold} is not in (0, 1]")
    return config_for_model(load_model(model), labels=parse_labels(labels), manifest=manifest, threshold=threshold)


def verdict(result: KwsRunResult) -> None:
    """Raise VerifyMismatch (exit 8) unless features, scores and detections all matched."""
    problems = result.failures()
    if problems:
        raise VerifyMismatch("; ".join(problems), hint="--json shows every detection and the first mismatching frame")
