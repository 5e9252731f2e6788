"""`tinygen boards [BOARD]`: the boards tinygen knows, or one board in detail."""

from __future__ import annotations

import click

from ..boards import Board, all_boards, get_board
from .common import emit_json, handle_errors, json_option


def _kb(n: int) -> str:
    return f"{n // 1024} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):g} MB"


def _details(b: Board) -> list[str]:
    raw = b.raw
    pio = raw["platformio"]
    mic = raw["microphone"]
    return [
        f"{b.name}: {b.title} ({raw['vendor']})",
        f"  aliases     {', '.join(b.aliases) or '-'}",
        f"  core        {b.core} ({b.mcu}) at {b.clock_hz / 1e6:g} MHz",
        f"  memory      {_kb(b.flash_bytes)} flash, {_kb(b.ram_bytes)} RAM; firmware may use "
        f"{b.flash_limit} B flash, {b.ram_limit} B RAM",
        f"  reserved    {b.reserved_flash} B flash, {b.reserved_ram} B RAM, stack {b.stack_bytes} B: "
        f"{raw['reserved']['note']}",
        f"  serial      {b.serial_baud} baud, {raw['serial']['kind']}: {raw['serial']['note']}",
        f"  microphone  {mic['kind']}" + (f" ({mic['part']}, {mic['sample_rate']} Hz)" if mic["kind"] != "none" else ""),
        f"  upload      {b.upload_method}: {raw['upload']['note']}",
        f"  cost unit   {b.cost_unit}",
        f"  platformio  platform = {pio['platform']}, board = {pio['board']}"
        + (f", framework = {pio['framework']}" if pio["framework"] else ""),
        f"  defined in  {b.source}",
    ]


@click.command("boards")
@click.argument("board", required=False)
@json_option
@handle_errors
def command(board: str | None, as_json: bool) -> None:
    """List the board definitions (bundled, user and project ./boards/), or show one BOARD."""
    boards = [get_board(board)] if board else all_boards()
    if as_json:
        emit_json("boards", {"boards": [dict(b.raw, source=str(b.source)) for b in boards]})
        return
    if board:
        click.echo("\n".join(_details(boards[0])))
        return
    click.echo(f"{'board':15s} {'aliases':24s} {'core':14s} {'MHz':>4s} {'flash':>7s} {'RAM':>7s}  "
               f"{'mic':5s} {'upload':9s} platformio")
    for b in boards:
        pio = f"{b.pio_platform}/{b.pio_board}" + (f" ({b.pio_framework})" if b.pio_framework else "")
        click.echo(f"{b.name:15s} {', '.join(b.aliases):24s} {b.core:14s} {b.clock_hz // 1000000:4d} "
                   f"{_kb(b.flash_bytes):>7s} {_kb(b.ram_bytes):>7s}  {b.microphone:5s} {b.upload_method:9s} {pio}")
