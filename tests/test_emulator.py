"""QEMU mps2-an386 as a context manager: start-up, serial I/O, crash detection, clean stop.

Uses a tiny bare-metal UART echo firmware compiled here (independent of the board support), so the
emulator wrapper is tested on its own."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tinygen.emulator import Emulator, EmulatorConfig, EmulatorCrashed, qemu_available
from tinygen.errors import ToolMissingError
from tinygen.link.errors import LinkClosed
from tinygen.link.transport import Transport

ECHO_C = r"""
#include <stdint.h>
#define UART0 ((volatile uint32_t *)0x40004000u)
extern uint32_t _estack;
void reset_handler(void);
static void hang(void) { for (;;) {} }
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
  (void (*)(void))&_estack, reset_handler, hang, hang, hang, hang, hang, 0, 0, 0, 0, hang, hang, 0, hang, hang};
static void put(uint8_t c) { while (UART0[1] & 1u) {} UART0[0] = c; }
void reset_handler(void) {
  UART0[4] = 16; UART0[2] = 3;
  for (const char *m = "READY\n"; *m; m++) put((uint8_t)*m);
  for (;;) { if (UART0[1] & 2u) { uint8_t c = (uint8_t)UART0[0]; put((uint8_t)(c + 1)); } }
}
"""
LD = """MEMORY { FLASH (rx) : ORIGIN = 0, LENGTH = 4M  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 4M }
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS { .text : { KEEP(*(.isr_vector)) *(.text*) *(.rodata*) } > FLASH }
"""

needs_qemu = pytest.mark.skipif(not qemu_available() or shutil.which("arm-none-eabi-gcc") is None,
                                reason="qemu-system-arm or arm-none-eabi-gcc missing")


@pytest.fixture(scope="module")
def echo_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("echo")
    (d / "echo.c").write_text(ECHO_C)
    (d / "echo.ld").write_text(LD)
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-nostdlib", "-T", "echo.ld",
                    "echo.c", "-o", "echo.elf"], cwd=d, check=True)
    return d / "echo.elf"


def read_until(t: Transport, marker: bytes, timeout: float = 5.0) -> bytes:
    deadline, buf = time.monotonic() + timeout, b""
    while marker not in buf and time.monotonic() < deadline:
        buf += t.read(deadline)
    return buf


@needs_qemu
@pytest.mark.qemu
def test_start_talk_stop(echo_elf: Path) -> None:
    with Emulator(echo_elf) as emu:
        assert emu.running() and emu.url.startswith("socket://127.0.0.1:")
        t = Transport(emu.serial, emu.url)
        assert read_until(t, b"READY\n").endswith(b"READY\n")  # nothing lost: the guest waited for us
        t.write(b"HAL")
        assert read_until(t, b"IBM") == b"IBM"
        pid = emu.pid
    assert not emu.running() and pid is not None
    with pytest.raises(ProcessLookupError):
        import os
        os.kill(pid, 0)


@needs_qemu
@pytest.mark.qemu
def test_killed_emulator_is_reported(echo_elf: Path) -> None:
    with Emulator(echo_elf) as emu:
        t = Transport(emu.serial, emu.url, on_closed=emu.check)
        read_until(t, b"READY\n")
        emu.kill()
        with pytest.raises((EmulatorCrashed, LinkClosed), match="QEMU exited|connection"):
            t.read(time.monotonic() + 2)


@needs_qemu
@pytest.mark.qemu
def test_qemu_failure_gives_its_message(echo_elf: Path) -> None:
    with pytest.raises(EmulatorCrashed, match="QEMU exited with status 1: .*unsupported machine type"):
        with Emulator(echo_elf, EmulatorConfig(machine="no-such-board", start_timeout=5)):
            pass


def test_missing_qemu_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.elf").write_bytes(b"")
    with pytest.raises(ToolMissingError, match="not found on PATH"):
        Emulator(tmp_path / "x.elf", EmulatorConfig(binary="qemu-system-nonexistent")).start()
