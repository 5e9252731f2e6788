"""`tinygen flash`: put a built firmware on the board (PlatformIO upload), or run it in QEMU."""

from __future__ import annotations

from pathlib import Path

import click

from ..build.flash import flash_project
from .common import handle_errors, make_reporter


@click.command("flash")
@click.option("--board", "-b", required=True, help="Board name or alias.")
@click.option("-d", "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Project from tinygen build/generate (default: the newest ./build/<board>-*).")
@click.option("--port", "-p", default=None,
              help="Serial/upload port (real boards); for qemu-m4 a TCP port to serve the UART on.")
@click.option("--timeout", type=float, default=None,
              help="qemu-m4: stop after this many seconds (default: run until Ctrl-C).")
@click.option("--until", "until", default=None, help="qemu-m4: stop once the firmware prints this text.")
@handle_errors
def command(board: str, project_dir: Path | None, port: str | None, timeout: float | None, until: str | None) -> None:
    """Upload the firmware (PlatformIO upload), or for qemu-m4 start QEMU and show/serve its UART."""
    flash_project(board, project_dir, port=port, timeout=timeout, until=until, reporter=make_reporter(),
                  echo=lambda data: click.echo(data, nl=False))
