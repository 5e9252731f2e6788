"""The HIL firmware for (board, model, runtime): generated and built with tinygen's project and
build stages, cached per model hash so repeated `verify` runs rebuild nothing."""

from __future__ import annotations

import os
from pathlib import Path

from ..codegen.output import write_files
from ..errors import BuildError
from ..report import Reporter
from ..resources import firmware_dir


def cache_dir() -> Path:
    return Path(os.environ.get("TINYGEN_CACHE_DIR", Path.home() / ".cache" / "tinygen")) / "hil"


def link_sources() -> dict[str, str | bytes]:
    """The protocol sources an app serving the HIL protocol needs: headers in include/, C in src/link/."""
    link = firmware_dir() / "link"
    files: dict[str, str | bytes] = {f"include/{p.name}": p.read_bytes() for p in sorted(link.glob("*.h"))}
    files.update({f"src/link/{p.name}": p.read_bytes() for p in sorted(link.glob("*.c"))})
    return files


def add_link_sources(project_dir: Path) -> None:
    """Put firmware/link into a generated project unless the project stage already did."""
    project_dir = Path(project_dir)
    if not any((project_dir / d / "tg_link.c").is_file() for d in ("src/link", "src/app", "src")):
        write_files(project_dir, link_sources())


def build_hil_firmware(board_name: str, model: Path, runtime: str, reporter: Reporter,
                       tflm_dir: Path | None = None, arena_size: int | None = None) -> Path:
    """Path of the built HIL firmware ELF for this board, model and runtime."""
    try:
        from ..build import pio_build
        from ..project import generate_project
    except ImportError as exc:
        raise BuildError("this tinygen cannot build firmware yet (tinygen.build.build_project missing)",
                         hint="build the HIL firmware yourself and pass it with --elf") from exc
    from ..model import load_model

    sha = load_model(model).sha256[:16]
    out = cache_dir() / f"{board_name}-{runtime}-{sha}{'-a' + str(arena_size) if arena_size else ''}"
    reporter.step(f"building the HIL firmware for {board_name} ({runtime}) in {out}")
    project = generate_project(board_name, model, out, app="hil", runtime=runtime, tflm_dir=tflm_dir,
                               arena_size=arena_size, reporter=reporter)
    add_link_sources(project.path)
    return Path(pio_build(project, reporter).elf)
