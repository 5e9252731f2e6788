"""Real offline PlatformIO builds for qemu-m4, the memory report, size limits, fail-fast errors,
and the hello firmware booting in QEMU."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from tinygen.boards import load_board_file
from tinygen.build import FirmwareTooBig, build_project
from tinygen.build.flash import run_in_qemu
from tinygen.build.packages import ensure_scons, required_scons_version
from tinygen.emulator import qemu_available
from tinygen.errors import ToolMissingError
from tinygen.report import silent
from tinygen.resources import boards_dir

from .conftest import INT8_MODELS

HELLO = "hello_world/hello_world_int8.tflite"
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
needs_qemu = pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm not installed")


@pytest.fixture(scope="module")
def core_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh PlatformIO core dir per module: the builds prove they need nothing preinstalled."""
    path = tmp_path_factory.mktemp("pio-core")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TINYGEN_PIO_CORE_DIR", str(path))
        yield path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tool_scons_is_what_platformio_looks_for(tmp_path: Path) -> None:
    assert ensure_scons(tmp_path) is True
    assert ensure_scons(tmp_path) is False  # second call: already there
    code = ("from platformio.package.manager.core import get_core_package_dir as g;"
            "print(g('tool-scons', auto_install=False))")
    env = dict(os.environ, PLATFORMIO_CORE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == tmp_path / "packages" / "tool-scons"
    assert json.loads((tmp_path / "packages/tool-scons/.piopm").read_text())["version"] == required_scons_version()


@pytest.mark.build
@pytest.mark.qemu
@needs_arm
@needs_qemu
def test_cli_build_then_hello_in_qemu(core_dir: Path, tmp_path: Path, models_dir: Path) -> None:
    out_dir = tmp_path / "hello"
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "build", "--board", "qemu-m4", "--model",
                          str(models_dir / HELLO), "-o", str(out_dir), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - t0 < 120
    doc = json.loads(res.stdout)
    assert doc["schema"] == "tinygen.build" and doc["memory"]["fits"] is True
    flash, ram = doc["memory"]["flash"], doc["memory"]["ram"]
    assert flash["limit"] == 1 << 20 and ram["limit"] == 256 << 10
    assert 0 < flash["parts"]["model"] < flash["used"] and ram["parts"]["stack"] == 8192
    assert "PlatformIO" in res.stderr  # progress while PlatformIO works
    flash = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "flash", "--board", "qemu-m4", "-d", str(out_dir),
                            "--until", "hello done", "--timeout", "60"], capture_output=True, text=True, timeout=120)
    assert flash.returncode == 0, flash.stderr
    text = flash.stdout
    assert f"tinygen hello board=qemu-m4 runtime=aot model={doc['model_sha256'][:16]}" in text
    assert "init ok" in text and "output[0] int8 x1:" in text and " instructions, arena used" in text
    # rebuilding without --model uses the project as it is
    again = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "build", "--board", "qemu", "-o", str(out_dir)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "memory report for qemu-m4" in again.stdout


def _tiny_board(tmp_path: Path, flash: int, ram: int):  # type: ignore[no-untyped-def]
    doc = json.loads((boards_dir() / "qemu-m4.json").read_text())
    doc.update(name="qemu-tiny", aliases=[], flash_bytes=flash, ram_bytes=ram)
    doc["platformio"].update(maximum_size=flash, maximum_ram_size=ram)
    # the stack fills RAM but for 16 B (a board file must leave some), so RAM overflows at the link
    doc["reserved"]["stack_bytes"] = min(doc["reserved"]["stack_bytes"], ram - 16)
    path = tmp_path / "qemu-tiny.json"
    path.write_text(json.dumps(doc))
    return load_board_file(path)


@pytest.mark.build
@needs_arm
@pytest.mark.parametrize("flash,ram,region", [(4096, 256 << 10, "FLASH"), (1 << 20, 4096, "RAM")])
def test_firmware_too_big_fails_at_link_time(core_dir: Path, tmp_path: Path, models_dir: Path,
                                             flash: int, ram: int, region: str) -> None:
    board = _tiny_board(tmp_path, flash, ram)
    with pytest.raises(FirmwareTooBig) as err:
        build_project(board, models_dir / HELLO, tmp_path / "p")
    assert f"region {region} overflowed" in str(err.value) and "does not fit qemu-tiny" in str(err.value)
    assert err.value.exit_code == 5


def test_missing_toolchain_fails_before_platformio(core_dir: Path, tmp_path: Path, models_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_ARM_PREFIX", "no-such-arm-none-eabi-")
    t0 = time.monotonic()
    with pytest.raises(ToolMissingError, match="no-such-arm-none-eabi-gcc not found") as err:
        build_project("qemu-m4", models_dir / HELLO, tmp_path / "p")
    assert "apt-get install gcc-arm-none-eabi" in (err.value.hint or "")
    assert time.monotonic() - t0 < 10 and not (tmp_path / "p" / ".pio" / "build").exists()


def test_unreachable_registry_fails_fast(core_dir: Path, tmp_path: Path, models_dir: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_PIO_REGISTRY", f"127.0.0.1:{_closed_port()}")
    t0 = time.monotonic()
    with pytest.raises(ToolMissingError, match="nordicnrf52' not installed and the PlatformIO registry is unreachable"):
        build_project("nano33", models_dir / HELLO, tmp_path / "p")
    assert time.monotonic() - t0 < 15  # not PlatformIO's minute of retries


@pytest.mark.build
@pytest.mark.qemu
@pytest.mark.slow
@needs_arm
@needs_qemu
@pytest.mark.parametrize("model", INT8_MODELS)
def test_every_model_builds_and_says_hello(core_dir: Path, tmp_path: Path, models_dir: Path, model: str) -> None:
    result = build_project("qemu-m4", models_dir / model, tmp_path / "p")
    assert result.report.fits and result.report.flash.parts["model"] > 0
    text = run_in_qemu(result.elf, lambda s: None, timeout=300, until="hello done", reporter=silent()).decode()
    assert "init ok" in text and "output[0]" in text


@pytest.mark.build
@pytest.mark.qemu
@pytest.mark.tflm
@pytest.mark.slow
@needs_arm
@needs_qemu
def test_tflm_runtime_on_qemu(core_dir: Path, tmp_path: Path, models_dir: Path) -> None:
    """--runtime tflm with a local TFLM tree (TINYGEN_TFLM_DIR): compiles TFLM itself, so slow."""
    if not os.environ.get("TINYGEN_TFLM_DIR"):
        pytest.skip("set TINYGEN_TFLM_DIR to a TFLM tree")
    result = build_project("qemu-m4", models_dir / "micro_speech/micro_speech_quantized.tflite", tmp_path / "p",
                           runtime="tflm")
    text = run_in_qemu(result.elf, lambda s: None, timeout=300, until="hello done", reporter=silent()).decode()
    assert "runtime=tflm" in text and "init ok" in text and "output[0] int8 x4:" in text


_RECURSE_APP = """#include <stdint.h>
#include "tg_app.h"
#include "tg_board.h"
static volatile uint32_t sink;
static uint32_t deep(uint32_t n) {
  volatile uint8_t pad[256];
  pad[0] = (uint8_t)n;
  sink = pad[0];
  return n == 0 ? 0 : deep(n - 1) + pad[0];
}
void tg_app_setup(void) {
  tg_serial_write((const uint8_t *)"start\\r\\n", 7);
  sink = deep(100000);
  tg_serial_write((const uint8_t *)"survived\\r\\n", 10);
}
void tg_app_loop(void) {}
"""


@pytest.mark.build
@pytest.mark.qemu
@needs_arm
@needs_qemu
def test_stack_overflow_faults_with_a_message(core_dir: Path, tmp_path: Path, models_dir: Path) -> None:
    """The stack sits at the bottom of RAM: overflowing it faults instead of corrupting data."""
    from tinygen.build import pio_build
    from tinygen.project import generate_project

    project = generate_project("qemu-m4", models_dir / HELLO, tmp_path / "p")
    (project.path / "src/app/hello.c").write_text(_RECURSE_APP)
    result = pio_build(project)
    text = run_in_qemu(result.elf, lambda s: None, timeout=30, until="PANIC: hard fault", reporter=silent()).decode()
    assert "start" in text and "survived" not in text


def test_platform_without_its_toolchain_fails_fast(tmp_path: Path, models_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed platform whose required packages are missing would also need the registry."""
    core = tmp_path / "core"
    (core / "platforms" / "nordicnrf52").mkdir(parents=True)
    (core / "platforms" / "nordicnrf52" / "platform.json").write_text(json.dumps({"name": "nordicnrf52", "packages": {
        "toolchain-gccarmnoneeabi": {"type": "toolchain"},
        "framework-arduino-mbed": {"type": "framework", "optional": True}}}))
    monkeypatch.setenv("TINYGEN_PIO_CORE_DIR", str(core))
    monkeypatch.setenv("TINYGEN_PIO_REGISTRY", f"127.0.0.1:{_closed_port()}")
    with pytest.raises(ToolMissingError, match="package 'toolchain-gccarmnoneeabi' not installed"):
        build_project("nano33", models_dir / HELLO, tmp_path / "p")
