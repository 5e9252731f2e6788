"""`tinygen build`: generate the project, run PlatformIO, print the memory report."""

from __future__ import annotations

from pathlib import Path

import click

from ..build import build_project
from .common import emit_json, handle_errors, json_option, make_reporter
from .generate import project_options


@click.command("build")
@project_options
@click.option("-o", "--output", "out_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Project directory (default: ./build/<board>-<model>-<app>-<runtime>).")
@click.option("-v", "--verbose", is_flag=True, help="Show PlatformIO's output as it runs.")
@json_option
@handle_errors
def command(board: str, model: Path, app: str, runtime: str, name: str | None, labels_path: Path | None,
            tflm_dir: Path | None, arena_size: int | None, out_dir: Path | None, verbose: bool,
            as_json: bool) -> None:
    """Build firmware for a board and report flash/RAM use against its limits."""
    result = build_project(board, model, out_dir, app=app, runtime=runtime, name=name, labels_path=labels_path,
                           tflm_dir=tflm_dir, arena_size=arena_size, reporter=make_reporter(), verbose=verbose)
    if as_json:
        emit_json("build", result.to_json())
        return
    for line in result.report.lines():
        click.echo(line)
    click.echo(f"firmware: {result.elf}")
