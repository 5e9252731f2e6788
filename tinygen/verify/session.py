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
from ..errors import UsageError
from ..link import Device, Link, LinkConfig, Transport
from ..link.transport import find_port

EMULATOR_WINDOW = 4
# USB ids of boards' serial ports when the board file does not list them (`serial.usb_ids`).
KNOWN_USB_IDS: dict[str, list[tuple[int, int]]] = {
    "nano33ble": [(0x2341, 0x805A), (0x2341, 0x005A)],       # Arduino Nano 33 BLE (sketch, bootloader)
    "pico": [(0x2E8A, 0x00C0), (0x2E8A, 0x000A)],            # Raspberry Pi Pico (Arduino mbed core, SDK)
    "nucleo_l4r5zi": [(0x0483, 0x374B), (0x0483, 0x374E), (0x0483, 0x3752)],  # ST-LINK/V2-1, V3
    "disco_f746ng": [(0x0483, 0x374B), (0x0483, 0x374E), (0x0483, 0x3752)],
}


def usb_ids(board: Board) -> list[tuple[int, int]]:
    listed = board.raw.get("serial", {}).get("usb_ids")
    if listed:
        return [tuple(int(x, 16) for x in s.split(":")) for s in listed]  # type: ignore[misc]
    return KNOWN_USB_IDS.get(board.name, [])


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
    if board.emulated:
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
    if port is None:
        port = find_port(usb_ids(board))
    t = Transport.open(port, config.baudrate)
    try:
        dev = Device(Link(t, config))
        dev.link.flush_input()  # a board that was running prints nothing we need
        dev.connect()
        yield Connection(dev, None)
    finally:
        t.close()


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
