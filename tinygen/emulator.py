"""QEMU `mps2-an386` (Cortex-M4F) as a context manager, with its UART on a free local TCP port.

    with Emulator(elf) as emu:
        emu.serial.write(b"...")        # pyserial `socket://127.0.0.1:PORT`, TCP_NODELAY

Start-up is race-free: QEMU is started with `server=on,wait=on`, so the guest does not run until
our client has connected; we poll-connect to the port until QEMU listens (or exits, in which case its
stderr becomes the error message). A port taken between our `bind(0)` probe and QEMU's own bind is
retried with a fresh port. `-icount shift=0` makes virtual time count guest instructions, which the
board reports as its cost counter. The process is killed on exit, whatever happens.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import serial

from .errors import DeviceError, ToolMissingError, UsageError

QEMU_BINARY = "qemu-system-arm"
MACHINE = "mps2-an386"


@dataclass(frozen=True)
class EmulatorConfig:
    """How QEMU is started; every timeout lives here, not in the code."""

    binary: str = QEMU_BINARY
    machine: str = MACHINE
    icount_shift: int | None = 0          # None: run as fast as possible (cost counter unavailable)
    start_timeout: float = 10.0           # seconds for QEMU to listen on its serial port
    connect_poll: float = 0.02            # seconds between connection attempts
    stop_timeout: float = 3.0             # seconds for QEMU to exit after SIGTERM before SIGKILL
    port_attempts: int = 3                # fresh ports to try if ours was taken meanwhile
    extra_args: tuple[str, ...] = field(default_factory=tuple)


class EmulatorCrashed(DeviceError):
    """QEMU exited while the firmware was running (or never started)."""


def qemu_available(binary: str = QEMU_BINARY) -> bool:
    """True when the QEMU binary is on PATH (tests use this to skip cleanly)."""
    return shutil.which(binary) is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """One QEMU process running `elf`; `serial` is the connected pyserial object."""

    def __init__(self, elf: str | Path, config: EmulatorConfig | None = None) -> None:
        self.elf = Path(elf)
        self.config = config or EmulatorConfig()
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._serial: serial.Serial | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def command_line(self, port: int) -> list[str]:
        """The exact QEMU command (also shown in error messages)."""
        cmd = [self.config.binary, "-M", self.config.machine, "-nographic", "-kernel", str(self.elf)]
        if self.config.icount_shift is not None:
            cmd += ["-icount", f"shift={self.config.icount_shift}"]
        cmd += ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on", "-monitor", "none"]
        return cmd + list(self.config.extra_args)

    def start(self) -> None:
        """Start QEMU and connect to its serial port; raises with QEMU's stderr on failure."""
        binary = shutil.which(self.config.binary)
        if binary is None:
            raise ToolMissingError(f"{self.config.binary} not found on PATH",
                                   hint="install QEMU (Debian/Ubuntu: apt-get install qemu-system-arm)")
        if not self.elf.is_file():
            raise UsageError(f"firmware not found: {self.elf}", hint="build it first: tinygen build --board qemu-m4")
        for attempt in range(self.config.port_attempts):
            port = _free_port()
            self._launch(port)
            try:
                self._serial = self._connect(port)
                self.port = port
                return
            except EmulatorCrashed as exc:
                self._reap()
                if "Address already in use" in exc.message and attempt + 1 < self.config.port_attempts:
                    continue  # someone grabbed the port between our probe and QEMU's bind
                raise
            except BaseException:
                self.close()
                raise

    def _launch(self, port: int) -> None:
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: QEMU can never block on it
        self._proc = subprocess.Popen(self.command_line(port), stdin=subprocess.DEVNULL,
                                      stdout=self._stderr, stderr=subprocess.STDOUT)

    def _connect(self, port: int) -> serial.Serial:
        deadline = time.monotonic() + self.config.start_timeout
        while True:
            self.check()
            try:
                ser = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=0, write_timeout=None)
            except serial.SerialException:
                if time.monotonic() > deadline:
                    raise DeviceError(f"QEMU did not open its serial port within {self.config.start_timeout:.0f} s",
                                      hint=" ".join(self.command_line(port))) from None
                time.sleep(self.config.connect_poll)
                continue
            sock = getattr(ser, "_socket", None)
            if sock is not None:  # every frame is a single write; do not let Nagle hold it back
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return ser

    def close(self) -> None:
        """Disconnect and stop QEMU (SIGTERM, then SIGKILL). Safe to call twice."""
        if self._serial is not None:
            try:
                self._serial.close()
            except (OSError, serial.SerialException):
                pass
            self._serial = None
        self._reap()

    def _reap(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(self.config.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        # keep the stderr file until a fresh launch: error messages may still want it
    # -- state -------------------------------------------------------------------------------
    @property
    def serial(self) -> serial.Serial:
        if self._serial is None:
            raise DeviceError("emulator is not running")
        return self._serial

    @property
    def url(self) -> str:
        if self.port is None:
            raise DeviceError("emulator is not running")
        return f"socket://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def output(self) -> str:
        """Everything QEMU printed so far (its stdout and stderr)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def check(self) -> None:
        """Raise EmulatorCrashed if QEMU has exited."""
        if self._proc is None:
            return
        code = self._proc.poll()
        if code is not None:
            tail = " | ".join(line for line in self.output().strip().splitlines()[-3:]) or "no output"
            raise EmulatorCrashed(f"QEMU exited with status {code}: {tail}",
                                  hint=f"command: {' '.join(self._proc.args)}")  # type: ignore[arg-type]

    def kill(self) -> None:
        """Kill QEMU abruptly (fault injection in tests; the link sees the socket close)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
