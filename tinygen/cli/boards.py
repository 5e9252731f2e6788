"""`tinygen boards`: the boards tinygen knows, with their limits and PlatformIO environment."""

from __future__ import annotations

import click

from ..boards import all_boards
from .common import emit_json, handle_errors, json_option


def _kb(n: int) -> str:
    return f"{n // 1024} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):g} MB"


@click.command("boards")
@json_option
@handle_errors
def command(as_json: bool) -> None:
    """List the board definitions (bundled, user and project ./boards/)."""
    boards = all_boards()
    if as_json:
        emit_json("boards", {"boards": [dict(b.raw, source=str(b.source)) for b in boards]})
        return
    click.echo(f"{'board':15s} {'aliases':24s} {'core':14s} {'MHz':>4s} {'flash':>7s} {'RAM':>7s}  "
               f"{'mic':5s} {'upload':9s} platformio")
    for b in boards:
        pio = f"{b.pio_platform}/{b.pio_board}" + (f" ({b.pio_framework})" if b.pio_framework else "")
        click.echo(f"{b.name:15s} {', '.join(b.aliases):24s} {b.core:14s} {b.clock_hz // 1000000:4d} "
                   f"{_kb(b.flash_bytes):>7s} {_kb(b.ram_bytes):>7s}  {b.microphone:5s} {b.upload_method:9s} {pio}")
