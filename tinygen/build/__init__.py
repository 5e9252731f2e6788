"""Drive PlatformIO: generate the project, run `pio run` offline-aware, report memory use.

    result = build_project("qemu-m4", "model.tflite", out_dir="build/qemu-m4")
    result.elf, result.report.lines()

`verify` and `flash` call this for qemu-m4; `tinygen build` is a thin CLI over it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board, get_board
from ..config import Settings, load_settings
from ..errors import BuildError
from ..locking import exclusive, lock_path
from ..platform.tflm import PROJECT_MANIFEST, install_shared_library, shared_library_root
from ..project import TFLM_LIB_NAME, AppFiles, IncrementalDecider, Project, generate_project
from ..report import Reporter, silent
from .packages import install_folder_library
from .pio import failure_summary, preflight, run_pio
from .size import FirmwareTooBig, MemoryReport, memory_report

__all__ = ["BuildResult", "FirmwareTooBig", "MemoryReport", "build_project", "default_build_dir",
           "drop_damaged_cache_entries", "pio_build"]


@dataclass(frozen=True)
class BuildResult:
    project: Project
    elf: Path
    bin: Path | None
    report: MemoryReport
    seconds: float
    log: Path

    def to_json(self) -> dict[str, object]:
        return {"board": self.project.board.name, "app": self.project.app, "runtime": self.project.runtime,
                "project_dir": str(self.project.path), "elf": str(self.elf),
                "bin": str(self.bin) if self.bin else None, "model_sha256": self.project.model_sha256,
                "seconds": round(self.seconds, 1), "log": str(self.log), "memory": self.report.to_json()}


def default_build_dir(board: Board, model: str | Path, app: str, runtime: str) -> Path:
    """Where `tinygen build` puts a project when no -o is given: ./build/<board>-<model>-<app>-<runtime>."""
    return Path("build") / f"{board.name}-{Path(model).stem}-{app}-{runtime}"


def pio_build(project: Project, reporter: Reporter | None = None, settings: Settings | None = None,
              verbose: bool = False) -> BuildResult:
    """`pio run` on an already generated project, then the memory report (raises when it does not fit)."""
    reporter = reporter or silent()
    settings = settings or load_settings()
    with exclusive(lock_path(project.path), f"the build in {project.path}", reporter):
        return _pio_build(project, reporter, settings, verbose)


def _pio_build(project: Project, reporter: Reporter, settings: Settings, verbose: bool) -> BuildResult:
    board = project.board
    drop_damaged_cache_entries(settings.build_cache_dir, reporter)
    local_lib = project.packages is not None and project.packages.find("library", TFLM_LIB_NAME) is not None
    remote = project.runtime == "tflm" and project.tflm_tree is None and not local_lib
    preflight(board, project.path, settings, remote, reporter, project.packages)
    with contextlib.ExitStack() as stack:
        # a local TFLM tree is one library description shared by every project built from it
        # (platform/tflm.py): its builds take turns
        manifest = project.path / PROJECT_MANIFEST
        if manifest.is_file():
            shared = shared_library_root(manifest.read_text(), settings.build_cache_dir)
            stack.enter_context(exclusive(lock_path(shared), f"the shared TFLM library {shared}", reporter))
        install_shared_library(project.path, settings.build_cache_dir)
        folder_lib = project.packages.find("library", TFLM_LIB_NAME) if project.packages else None
        if project.runtime == "tflm" and project.tflm_tree is None and folder_lib is not None:
            install_folder_library(folder_lib, settings.build_cache_dir)
        reporter.step(f"building {project.path} with PlatformIO (log: {project.path / '.pio' / 'tinygen-build.log'})")
        run = run_pio(project.path, project.env_name, settings, reporter, verbose=verbose)
    if run.returncode != 0:
        summary, region = failure_summary(run.log)
        if not verbose:  # the end of the log says what went wrong; the whole log stays on disk
            reporter.info("\n".join(run.log.read_text(errors="replace").splitlines()[-25:]))
        if region is not None:
            raise FirmwareTooBig(f"firmware does not fit {board.name}: {summary} "
                                 f"(limits: {board.flash_limit} bytes flash, {board.ram_limit} bytes RAM)",
                                 hint=f"use a smaller model or a bigger board; full log: {run.log}")
        raise BuildError(f"PlatformIO build failed: {summary}", hint=f"full log: {run.log}")
    build_dir = project.path / ".pio" / "build" / project.env_name
    elf = build_dir / "firmware.elf"
    if not elf.is_file():
        raise BuildError(f"PlatformIO reported success but {elf} is missing", hint=f"full log: {run.log}")
    report = memory_report(elf, board, project.name)
    report.check()
    binary = build_dir / "firmware.bin"
    reporter.step(f"built {elf} in {run.seconds:.1f} s")
    return BuildResult(project, elf, binary if binary.is_file() else None, report, run.seconds, run.log)


def build_project(
    board: Board | str, model_path: str | Path, out_dir: str | Path | None = None, app: str = "hello",
    runtime: str = "aot", name: str | None = None, labels_path: Path | None = None,
    tflm_dir: Path | None = None, arena_size: int | None = None, reporter: Reporter | None = None,
    verbose: bool = False, app_files: AppFiles | None = None,
    incremental: IncrementalDecider | None = None, packages_dir: Path | None = None,
) -> BuildResult:
    """Generate the project for `board` and build it (`app_files`: see project.render_project)."""
    reporter = reporter or silent()
    board = get_board(board) if isinstance(board, str) else board
    out = Path(out_dir) if out_dir is not None else default_build_dir(board, model_path, app, runtime)
    # One build at a time per folder (a second `tinygen build`, verify's firmware cache, pytest -n):
    # the second waits, then regenerates nothing and PlatformIO finds everything up to date.
    with exclusive(lock_path(out), f"the build in {out}", reporter):
        project = generate_project(board, model_path, out, app=app, runtime=runtime, name=name,
                                   labels_path=labels_path, tflm_dir=tflm_dir, arena_size=arena_size,
                                   reporter=reporter, app_files=app_files, incremental=incremental,
                                   packages_dir=packages_dir)
        return _pio_build(project, reporter, load_settings(), verbose)


def drop_damaged_cache_entries(cache_dir: Path, reporter: Reporter) -> int:
    """Remove empty files from PlatformIO's shared object cache: no object file is empty, so such an
    entry is the remains of an interrupted or racing build, and linking it fails for good."""
    if not cache_dir.is_dir():
        return 0
    # SCons' CacheDir: one folder per 2-character signature prefix, one file per entry
    damaged = [p for p in cache_dir.glob("*/*") if len(p.parent.name) == 2 and p.is_file() and not p.is_symlink()
               and p.stat().st_size == 0]
    for p in damaged:
        p.unlink(missing_ok=True)
    if damaged:
        reporter.warn(f"removed {len(damaged)} empty (damaged) entries from the build cache {cache_dir}; "
                      "PlatformIO rebuilds them")
    return len(damaged)
