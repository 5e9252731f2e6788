"""Byte transport over pyserial: any pyserial URL (`/dev/ttyACM0`, `socket://host:port`, `rfc2217://`)
or an already-open `serial.Serial`. Every read takes an absolute deadline; nothing blocks forever.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import serial
import serial.tools.list_ports
from serial.tools.list_ports_common import ListPortInfo

from ..errors import UsageError
from .errors import LinkClosed

DEFAULT_BAUD = 115200


class Transport:
    """Bytes in, bytes out. `on_closed` may raise a better error (e.g. the emulator's exit status)."""

    def __init__(self, ser: serial.Serial, name: str | None = None,
                 on_closed: Callable[[], None] | None = None) -> None:
        self._ser = ser
        self.name = name or str(ser.port)
        self._on_closed = on_closed
        self.bytes_out = 0
        self.bytes_in = 0

    @classmethod
    def open(cls, url: str, baudrate: int = DEFAULT_BAUD, dtr: bool = True) -> "Transport":
        """Open a port at `baudrate` (nominal on USB CDC). `dtr`: assert DTR (and RTS) when opening,
        which USB CDC firmware waits for; False leaves both low, for boards that reset on DTR."""
        try:
            ser = serial.serial_for_url(url, baudrate=baudrate, timeout=0, write_timeout=10, do_not_open=True)
            ser.dtr = dtr
            ser.rts = dtr
            ser.open()
        except (serial.SerialException, ValueError) as exc:
            raise UsageError(f"cannot open serial port {url}: {exc}",
                             hint="check the port name (tinygen verify --port) and that no other program uses it"
                             ) from None
        return cls(ser, url)

    def write(self, data: bytes) -> None:
        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as exc:
            self._closed(f"write failed: {exc}")
        self.bytes_out += len(data)

    def read(self, deadline: float) -> bytes:
        """Whatever arrives first before `deadline` (time.monotonic()); b"" when the deadline passed."""
        try:
            self._ser.timeout = max(0.0, deadline - time.monotonic())
            first = self._ser.read(1)
            if not first:
                return b""
            self._ser.timeout = 0
            data = first + self._ser.read(1 << 16)
        except (serial.SerialException, OSError) as exc:
            self._closed(str(exc))
        self.bytes_in += len(data)
        return data

    def _closed(self, why: str) -> None:
        if self._on_closed is not None:
            self._on_closed()
        raise LinkClosed(f"connection to {self.name} lost ({why})",
                         hint="the device was unplugged, or the emulator exited")

    def discard_input(self) -> None:
        try:
            self._ser.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self._closed(str(exc))

    def close(self) -> None:
        try:
            self._ser.close()
        except (serial.SerialException, OSError):
            pass


def find_port(usb_ids: Iterable[tuple[int, int]], ports: Iterable[ListPortInfo] | None = None) -> str:
    """The one serial port whose USB VID:PID is in `usb_ids`, among `ports` (pyserial's records;
    default: the attached ones); a clear error for 0 or 2+."""
    wanted = set(usb_ids)
    listed = serial.tools.list_ports.comports() if ports is None else ports
    found = [p for p in listed if p.vid is not None and (p.vid, p.pid) in wanted]
    ids = ", ".join(f"{v:04x}:{p:04x}" for v, p in sorted(wanted)) or "none known"
    if not found:
        raise UsageError(f"no attached board found (USB ids {ids})",
                         hint="plug the board in, or pass --port")
    if len(found) > 1:
        names = ", ".join(p.device for p in found)
        raise UsageError(f"several matching boards attached ({names})", hint="pick one with --port")
    return str(found[0].device)
