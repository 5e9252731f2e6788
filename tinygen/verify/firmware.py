"""The HIL firmware for (board, model, runtime): generated and built with tinygen's project and
build stages (`tinygen.build.build_project`, app "hil", which carries firmware/link), in a
directory per board, runtime and model hash, so repeated `verify` runs rebuild nothing."""

from __future__ import annotations

from pathlib import Path

from ..build import build_project
from ..config import load_settings
from ..model import load_model
from ..report import Reporter


def cache_dir() -> Path:
    return load_settings().cache_dir / "hil"


def build_hil_firmware(board_name: str, model: Path, runtime: str, reporter: Reporter,
                       tflm_dir: Path | None = None, arena_size: int | None = None) -> Path:
    """Path of the built HIL firmware ELF for this board, model and runtime."""
    sha = load_model(model).sha256[:16]
    out = cache_dir() / f"{board_name}-{runtime}-{sha}{'-a' + str(arena_size) if arena_size else ''}"
    reporter.step(f"building the HIL firmware for {board_name} ({runtime}) in {out}")
    result = build_project(board_name, model, out, app="hil", runtime=runtime, tflm_dir=tflm_dir,
                           arena_size=arena_size, reporter=reporter)
    return Path(result.elf)
