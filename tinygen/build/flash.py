"""Putting a built firmware on its board: PlatformIO upload, or QEMU for the emulated board.

For qemu-m4 there is nothing to write to: "flashing" starts QEMU with the ELF (tinygen.emulator)
and either shows the UART on the terminal, or serves it on a fixed TCP port for another tool
(`--port 5555` -> socket://127.0.0.1:5555; QEMU holds the firmware until a client connects).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from ..boards import Board, get_board
from ..config import load_settings
from ..emulator import Emulator, EmulatorConfig
from ..errors import BuildError, ToolMissingError, UsageError
from ..project import read_manifest
from ..report import Reporter, silent
from .pio import preflight, run_pio


def find_project(board: Board, project_dir: Path | None) -> Path:
    """The project to flash: `project_dir`, or the newest ./build/<board>-* that tinygen generated."""
    if project_dir is not None:
        candidates = [Path(project_dir)]
    else:
        candidates = sorted(Path("build").glob(f"{board.name}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for cand in candidates:
        manifest = read_manifest(cand)
        if manifest is not None and manifest.get("board") == board.name:
            return cand
    where = project_dir or f"./build/{board.name}-*"
    raise UsageError(f"no {board.name} project found at {where}",
                     hint=f"build one first: tinygen build --board {board.name} --model MODEL")


def firmware_elf(project_dir: Path, board: Board) -> Path:
    elf = project_dir / ".pio" / "build" / board.name / "firmware.elf"
    if not elf.is_file():
        raise UsageError(f"{project_dir} has not been built ({elf} missing)",
                         hint=f"tinygen build --board {board.name} -o {project_dir} ...")
    return elf


def run_in_qemu(elf: Path, echo: Callable[[str], None], timeout: float | None, until: str | None,
                reporter: Reporter) -> bytes:
    """Run `elf` in QEMU, echoing the UART, until `until` is printed, `timeout` passes or Ctrl-C."""
    seen = b""
    with Emulator(elf) as emu:
        reporter.step(f"QEMU running {elf.name}; UART on {emu.url} (Ctrl-C stops)")
        t0 = time.monotonic()
        while True:
            emu.check()
            data = emu.serial.read(4096)
            if data:
                seen += data
                echo(data.decode("utf-8", "replace"))
                if until is not None and until.encode() in seen:
                    break
            else:
                time.sleep(0.02)
            if timeout is not None and time.monotonic() - t0 > timeout:
                if until is not None:
                    raise BuildError(f"'{until}' not printed within {timeout:g} s", hint="see the output above")
                break
    return seen


def serve_qemu(elf: Path, port: int, timeout: float | None, reporter: Reporter) -> None:
    """QEMU with its UART served on 127.0.0.1:`port`, in the foreground."""
    config = EmulatorConfig()
    if shutil.which(config.binary) is None:
        raise ToolMissingError(f"{config.binary} not found on PATH", hint="apt-get install qemu-system-arm")
    cmd = [config.binary, "-M", config.machine, "-nographic", "-kernel", str(elf), "-icount", "shift=0",
           "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on", "-monitor", "none"]
    reporter.info(f"serial: socket://127.0.0.1:{port} (the firmware starts when a client connects; Ctrl-C stops; "
                  "QEMU takes a new client after one disconnects)")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    # SIGTERM (a supervisor stopping us; background jobs may ignore Ctrl-C) must stop QEMU too
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if _main_thread() else None
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def flash_project(board: Board | str, project_dir: Path | None = None, port: str | None = None,
                  timeout: float | None = None, until: str | None = None, reporter: Reporter | None = None,
                  echo: Callable[[str], None] = lambda s: None) -> None:
    reporter = reporter or silent()
    board = get_board(board) if isinstance(board, str) else board
    project = find_project(board, project_dir)
    elf = firmware_elf(project, board)
    if board.emulated:
        if port is not None:
            if not port.isdigit():
                raise UsageError(f"--port for {board.name} is a TCP port number, not '{port}'")
            serve_qemu(elf, int(port), timeout, reporter)
        else:
            run_in_qemu(elf, echo, timeout, until, reporter)
        return
    settings = load_settings()
    manifest = read_manifest(project) or {}
    preflight(board, project, settings, manifest.get("runtime") == "tflm" and not manifest.get("tflm_dir"), reporter)
    reporter.step(f"uploading {elf} to {board.title} ({board.upload_method})")
    run = run_pio(project, board.name, settings, reporter, targets=("upload",), upload_port=port)
    if run.returncode != 0:
        raise BuildError(f"upload to {board.name} failed", hint=f"full log: {run.log}")
    reporter.step("upload done")
