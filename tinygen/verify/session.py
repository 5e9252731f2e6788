"""A connected Device for a board: QEMU started on a free port for the emulated board, or a serial
port (given, or found by USB VID:PID when exactly one known board is attached)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from ..boards import Board
from ..emulator import Emulator, EmulatorConfig
from ..errors import BoardError, UsageError
from ..link import Device, Link, LinkConfig, Transport
from ..link.transport import find_port

EMULATOR_WINDOW = 4


def usb_ids(board: Board) -> list[tuple[int, int]]:
    """USB VID:PID of the board's serial port (`serial.usb_ids` in its board file)."""
    return list(board.usb_ids)


@dataclass
class Connection:
    device: Device
    emulator: Emulator | None
    link_bandwidth: dict[str, float] | None = None


@contextmanager
def open_device(board: Board, *, elf: Path | None = None, port: str | None = None,
                config: LinkConfig | None = None, emulator_config: EmulatorConfig | None = None) -> Iterator[Connection]:
    """Connect (starting QEMU for the emulated board) and identify the firmware."""
    config = config or LinkConfig(baudrate=board.serial_baud)
    if board.emulated and port is None:
        # QEMU's UART takes a byte only when the guest has read the last one and TCP holds the rest:
        # flow control end to end, so chunks can be in flight without any risk of overrun.
        config = replace(config, window=max(config.window, EMULATOR_WINDOW))
        if elf is None:
            raise UsageError(f"{board.name} needs a firmware ELF to emulate")
        with Emulator(elf, emulator_config) as emu:
            t = Transport(emu.serial, f"{board.name} (QEMU pid {emu.pid})", on_closed=emu.check)
            dev = Device(Link(t, config))
            dev.connect()
            yield Connection(dev, emu)
        return
    # A serial port: the board's (given, or found by its USB ids), or an emulator's pty.
    if port is None:
        if not board.usb_ids:
            raise UsageError(f"{board.name} lists no USB ids to find its port by", hint="pass --port")
        port = find_port(usb_ids(board))
    t = Transport.open(port, config.baudrate, dtr=board.serial_dtr)
    try:
        dev = Device(Link(t, config))
        if not board.reset_on_open:
            dev.link.flush_input()  # a board that was running: its boot banner is long gone
        # (a board that resets on open sends its banner and a BOOT frame first; connect() waits
        # for them within boot_timeout: text outside frames is skipped by the framing)
        dev.connect()
        check_board(dev, board, port)
        yield Connection(dev, None)
    finally:
        t.close()


def check_board(dev: Device, board: Board, port: str) -> None:
    """Refuse firmware built for another board: its HELLO names the board it was built for."""
    assert dev.info is not None
    if dev.info.board != board.name:
        raise BoardError(f"the firmware on {port} was built for '{dev.info.board}', not '{board.name}'",
                         hint=f"pass --board {dev.info.board}, or build and flash for {board.name} first")


def measure_link(device: Device, seconds: float = 1.0) -> dict[str, float]:
    """Bytes/s the link carries each way, with the largest frames (LINK_TEST)."""
    mp = device.max_payload
    out: dict[str, float] = {}
    for key, send, recv in (("host_to_device", mp, 0), ("device_to_host", 2, mp)):
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds / 2 or n < 2:
            device.link_test(send, recv)
            n += 1
        out[key] = n * max(send, recv) / (time.monotonic() - t0)
    return out
