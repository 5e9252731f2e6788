"""`tinygen build`: generate the project, run PlatformIO, print the memory report."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..boards import get_board
from ..build import build_project, pio_build
from ..build.flash import find_project
from ..errors import TinygenError, UsageError
from ..project import load_project
from .common import emit_json, emit_json_error, handle_errors, json_option, make_reporter
from .generate import app_files_for, incremental_for, project_options


@click.command("build")
@functools.partial(project_options, required_model=False)
@click.option("-o", "--output", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Project directory (default: ./build/<board>-<model>-<app>-<runtime>).")
@click.option("-v", "--verbose", is_flag=True, help="Show PlatformIO's output as it runs.")
@json_option
@handle_errors
def command(board: str, model: Path | None, app: str, benchmark: str | None, runtime: str, name: str | None,
            labels_path: Path | None, tflm_dir: Path | None, arena_size: int | None, packages_dir: Path | None,
            incremental: bool | None, out_dir: Path | None,
            verbose: bool, as_json: bool) -> None:
    """Build firmware for a board and report flash/RAM use against its limits.

    With --json one document goes to stdout on success ("ok": true, the memory report) and on
    failure ("ok": false, the error's type, message, hint and exit code)."""
    reporter = make_reporter()
    try:
        if model is None:  # rebuild what is there
            project = load_project(find_project(get_board(board), out_dir))
            if project.board.name != get_board(board).name:
                raise UsageError(f"{project.path} is a {project.board.name} project, not {board}")
            result = pio_build(project, reporter, verbose=verbose)
        else:
            result = build_project(board, model, out_dir, app=app, runtime=runtime, name=name,
                                   labels_path=labels_path, tflm_dir=tflm_dir, arena_size=arena_size,
                                   reporter=reporter, verbose=verbose, packages_dir=packages_dir,
                                   app_files=app_files_for(app, benchmark), incremental=incremental_for(app, incremental))
    except TinygenError as exc:
        if as_json:
            emit_json_error("build", exc)
        raise
    if as_json:
        emit_json("build", {"ok": True, **result.to_json()})
        return
    for line in result.report.lines():
        click.echo(line)
    click.echo(f"firmware: {result.elf}")
