"""Every bundled real board x app x runtime, compiled against its real framework.

Needs a folder of PlatformIO packages (TINYGEN_PIO_PACKAGES, the same variable `tinygen build`
reads): the platforms nordicnrf52 / ststm32 / raspberrypi, framework-arduino-mbed,
framework-arduinoststm32, framework-cmsis(-dsp), a toolchain-gccarmnoneeabi and the
Arduino_TensorFlowLite library (docs/boards.md says how to assemble one). TFLM projects use
TINYGEN_TFLM_DIR when set (TFLM 90b983c), else the Arduino export from the folder (nano33ble only).
Skipped with a reason without them; marked slow (each build compiles a whole Arduino core once).

What is checked: tinygen's sources compile with -Wall -Wextra -Werror (build_src_flags); the ST
boards and any Mbed board whose precompiled libmbed.a is present link to a complete ELF whose
memory report fits the board's limits; where libmbed.a is absent (public git lacks nano33ble's),
the link is redone without it and every unresolved symbol tinygen's own objects reference must be
an Mbed OS symbol (the main-thread stack `_main_stack`), none of tinygen's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.boards import get_board
from tinygen.build import build_project
from tinygen.build.pio import pio_environment
from tinygen.config import load_settings
from tinygen.errors import BuildError
from tinygen.kws.project import has_microphone, kws_app_files
from tinygen.report import silent

PACKAGES = os.environ.get("TINYGEN_PIO_PACKAGES")
pytestmark = [
    pytest.mark.framework, pytest.mark.build, pytest.mark.slow,
    pytest.mark.skipif(not PACKAGES, reason="set TINYGEN_PIO_PACKAGES to a folder of PlatformIO packages with the "
                                            "real frameworks (docs/boards.md, 'Checking against the frameworks')"),
]
MODELS = {"hello": "hello_world/hello_world_int8.tflite", "hil": "hello_world/hello_world_int8.tflite",
          "kws": "micro_speech/micro_speech_quantized.tflite"}
BOARDS = ("nano33ble", "nucleo_l4r5zi", "disco_f746ng", "pico")
# Mbed OS symbols tinygen's board glue references on purpose (defined in libmbed.a)
MBED_SYMBOLS = {"_main_stack"}
CASES = [(b, app, rt) for b in BOARDS for app in ("hello", "hil", "kws") for rt in ("aot", "tflm")
         if app != "kws" or get_board(b).microphone != "none"]


def _mbed_lib_missing(log: str) -> bool:
    return "cannot find -lmbed" in log


def _unresolved_without_libmbed(project: Path, env_name: str) -> tuple[set[str], set[str]]:
    """Relink without -lmbed (and without --gc-sections, so nothing hides): (every unresolved
    symbol, the unresolved symbols tinygen's own objects reference)."""
    run = subprocess.run([sys.executable, "-m", "platformio", "run", "-v", "-d", str(project), "-e", env_name],
                         capture_output=True, text=True, env=pio_environment(load_settings()), check=False)
    link = next(ln for ln in run.stdout.splitlines() if ln.startswith("arm-none-eabi-g++ -o ") and "firmware.elf" in ln)
    cmd = (link.replace(" -lmbed ", " ").replace(" -Wl,--gc-sections", "")
           .replace(f"-o .pio/build/{env_name}/firmware.elf", "-o .pio/no-libmbed.elf -Wl,--warn-unresolved-symbols"))
    out = subprocess.run(cmd, shell=True, cwd=project, capture_output=True, text=True, check=False)
    unresolved = set(re.findall(r"undefined reference to `([^']+)'", out.stdout + out.stderr))
    objects = [str(p) for p in (project / ".pio" / "build" / env_name / "src").rglob("*.o")]
    assert objects, "tinygen's objects were not compiled"
    nm = subprocess.run(["arm-none-eabi-nm", "-u", "-C", *objects], capture_output=True, text=True, check=True)
    ours = {ln.split(None, 1)[1].strip() for ln in nm.stdout.splitlines() if ln.strip().startswith("U ")}
    return unresolved, ours & unresolved


@pytest.mark.parametrize(("board_name", "app", "runtime"), CASES, ids=["-".join(c) for c in CASES])
def test_project_builds_against_the_framework(board_name: str, app: str, runtime: str, models_dir: Path,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    board = get_board(board_name)
    out = tmp_path_factory.mktemp(f"{board_name}-{app}-{runtime}")
    model = models_dir / MODELS[app]
    try:
        result = build_project(board, model, out, app=app, runtime=runtime, reporter=silent(),
                               packages_dir=Path(str(PACKAGES)), app_files=kws_app_files if app == "kws" else None)
    except BuildError as exc:
        log = (out / ".pio" / "tinygen-build.log").read_text(errors="replace")
        if not (board.pio_platform in ("nordicnrf52", "raspberrypi") and _mbed_lib_missing(log)):
            raise
        # compiled (warning-free: -Werror) up to the link; then only Mbed OS may be missing
        assert "Linking .pio/build" in log, exc.message
        unresolved, ours = _unresolved_without_libmbed(out, board.name)
        assert unresolved, "the link without libmbed.a resolved everything?"
        assert ours <= MBED_SYMBOLS, f"tinygen references unresolved non-Mbed symbols: {sorted(ours - MBED_SYMBOLS)}"
        assert not {s for s in unresolved if s.startswith(("tg_", "kws_")) or "_model" in s}, unresolved
        if app == "kws" and has_microphone(board):
            assert "PDM" in log  # the core's PDM library was found and compiled
        return
    assert result.elf.is_file() and result.report.fits
    assert result.report.flash.limit == board.flash_limit and result.report.ram.limit == board.ram_limit
    assert result.report.flash.parts["model"] > 0
    log = result.log.read_text(errors="replace")
    assert not re.search(r"^src/.*warning:", log, re.MULTILINE)
