"""A HIL firmware built for the host board (firmware/boards/host) run as a local process.

The host board prints `TG_HOST_PORT=<n>` and serves its "serial port" on that TCP port, so the
protocol is exercised end to end (real framing, real C code) without a device or emulator.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import serial

from ..errors import DeviceError
from .transport import Transport


class LocalFirmware:
    """Context manager: start `exe`, connect; `transport` is ready to use."""

    def __init__(self, exe: str | Path, start_timeout: float = 5.0) -> None:
        self.exe = Path(exe)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.transport: Transport | None = None

    def __enter__(self) -> "LocalFirmware":
        self.proc = subprocess.Popen([str(self.exe.resolve())], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()  # first line: the port (or EOF on failure)
        if not line.startswith("TG_HOST_PORT="):
            self.close()
            raise DeviceError(f"{self.exe} did not start (printed {line!r})")
        url = f"socket://127.0.0.1:{int(line.split('=', 1)[1])}"
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                ser = serial.serial_for_url(url, timeout=0)
                break
            except serial.SerialException:
                if time.monotonic() > deadline:
                    self.close()
                    raise DeviceError(f"cannot connect to {url}") from None
                time.sleep(0.01)
        self.transport = Transport(ser, url, on_closed=self._check)
        return self

    def _check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise DeviceError(f"host firmware exited with status {self.proc.returncode}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def host_sources(runtime_sources: list[Path]) -> list[Path]:
    """C sources of the HIL app for the host board, plus the given tg_runtime implementation."""
    from ..resources import firmware_dir

    fw = firmware_dir()
    return sorted((fw / "link").glob("*.c")) + [fw / "apps" / "hil" / "main.c",
                                                fw / "boards" / "host" / "tg_board_host.c"] + list(runtime_sources)


def build_host(out: Path, runtime_sources: list[Path], include_dirs: tuple[Path, ...] = (),
               cc: str = "cc") -> Path:
    """Compile the HIL app for the host board with -Wall -Wextra -Werror; returns the executable."""
    from ..errors import BuildError, ToolMissingError
    from ..resources import firmware_dir

    if shutil.which(cc) is None:
        raise ToolMissingError(f"C compiler {cc!r} not found", hint="install gcc or clang")
    fw = firmware_dir()
    incs = [fw / "include", fw / "boards", fw / "link", *include_dirs]
    cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", *[f"-I{p}" for p in incs],
           *map(str, host_sources(runtime_sources)), "-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"host HIL build failed: {proc.stderr.strip().splitlines()[0] if proc.stderr else ''}",
                         hint=" ".join(cmd))
    return out
