"""Every bundled real board x app x runtime, compiled against its real framework.

Needs a folder of PlatformIO packages (TINYGEN_PIO_PACKAGES, the same variable `tinygen build`
reads): the platforms nordicnrf52 / ststm32 / raspberrypi, framework-arduino-mbed,
framework-arduinoststm32, framework-cmsis(-dsp), a toolchain-gccarmnoneeabi and the
Arduino_TensorFlowLite library (docs/boards.md says how to assemble one). TFLM projects use
TINYGEN_TFLM_DIR when set (TFLM 90b983c), else the Arduino export from the folder (nano33ble only).
Skipped with a reason without them; marked slow (each build compiles a whole Arduino core once).

What is checked: tinygen's sources compile with -Wall -Wextra -Werror (build_src_flags); the ST
boards and any Mbed board whose precompiled libmbed.a is present (pico's is in ArduinoCore-mbed's
git) link to a complete ELF whose memory report fits the board's limits; for the Mbed boards the
link is also redone without libmbed.a (nano33ble's is tracked in git but not every copy of the
repository has the blob): every unresolved symbol tinygen's own objects reference must be an Mbed
OS symbol (the main-thread stack `_main_stack`), none of tinygen's, and every symbol the real link
(--gc-sections from the core's main()) needs from libmbed.a must be an Mbed OS one.
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
# Mbed OS symbols tinygen's board glue references on purpose (defined in libmbed.a: _main_stack in
# mbed-os rtos/source/TARGET_CORTEX/mbed_rtos_rtx.c, declared in no header)
MBED_SYMBOLS = {"_main_stack"}
CASES = [(b, app, rt) for b in BOARDS for app in ("hello", "hil", "kws") for rt in ("aot", "tflm")
         if app != "kws" or get_board(b).microphone != "none"]
_UNDEFINED = re.compile(r"undefined reference to `([^']+)'")


def _mbed_lib_missing(log: str) -> bool:
    return "cannot find -lmbed" in log


def _link_command(project: Path, env_name: str) -> str:
    """PlatformIO's link command line: the ELF is removed and SCons' cache disabled (SCONSFLAGS), so
    `pio run -v` relinks instead of taking the ELF from the cache, and compiles nothing (another
    build_cache_dir would change the project's configuration: PlatformIO would rebuild it all)."""
    (project / ".pio" / "build" / env_name / "firmware.elf").unlink(missing_ok=True)
    env = pio_environment(load_settings()) | {"SCONSFLAGS": "--cache-disable"}
    run = subprocess.run([sys.executable, "-m", "platformio", "run", "-v", "-d", str(project), "-e", env_name],
                         capture_output=True, text=True, env=env, check=False)
    return next(ln for ln in run.stdout.splitlines() if ln.startswith("arm-none-eabi-g++ -o ") and "firmware.elf" in ln)


def _relink(project: Path, link: str, env_name: str, out: str, extra: str, gc: bool) -> set[str]:
    cmd = link.replace(" -lmbed ", f" {extra} ").replace(f"-o .pio/build/{env_name}/firmware.elf", f"-o .pio/{out}")
    if not gc:
        cmd = cmd.replace(" -Wl,--gc-sections", "")
    res = subprocess.run(cmd, shell=True, cwd=project, capture_output=True, text=True, check=False)
    return set(_UNDEFINED.findall(res.stdout + res.stderr))


def _unresolved_without_libmbed(project: Path, env_name: str, link: str) -> tuple[set[str], set[str], set[str]]:
    """Relink without -lmbed: (every symbol unresolved without --gc-sections, so nothing hides; the
    unresolved symbols tinygen's own objects reference; the symbols the real link needs from
    libmbed.a: --gc-sections kept and the core's main() as the root, where Mbed OS's startup and
    main thread (__wrap_main, in libmbed.a) would enter it)."""
    unresolved = _relink(project, link, env_name, "no-libmbed.elf", "-Wl,--warn-unresolved-symbols", gc=False)
    needed = _relink(project, link, env_name, "no-libmbed-gc.elf", "-Wl,-e,main", gc=True)
    build = project / ".pio" / "build" / env_name
    objects = [str(p) for p in (build / "src").rglob("*.o")]
    # the project library lib/tinygen-tflm-runtime (TFLM glue on the Mbed boards) is tinygen's too
    objects += [str(p) for p in build.rglob("*.o") if "tinygen-tflm-runtime" in p.parts]
    assert objects, "tinygen's objects were not compiled"
    nm = subprocess.run(["arm-none-eabi-nm", "-u", "-C", *objects], capture_output=True, text=True, check=True)
    ours = {ln.split(None, 1)[1].strip() for ln in nm.stdout.splitlines() if ln.strip().startswith("U ")}
    return unresolved, ours & unresolved, needed


def _mbed_declares(link: str) -> tuple[set[str], set[str]]:
    """(every identifier in the core's Mbed OS headers, the symbols the variant's ldflags --wrap)."""
    variant = next(Path(a[2:]) for a in link.split() if a.startswith("-L") and "/variants/" in a
                   and not a.endswith("/libs"))
    mbed = variant.parent.parent / "cores" / "arduino" / "mbed"
    assert mbed.is_dir(), f"no Mbed OS headers at {mbed}"
    names: set[str] = set()
    for header in mbed.rglob("*.h"):
        names.update(re.findall(r"[A-Za-z_]\w*", header.read_text(errors="replace")))
    wrapped = set(re.findall(r"--wrap,(\w+)", (variant / "ldflags.txt").read_text()))
    return names, wrapped


def _is_mbed_symbol(symbol: str, names: set[str], wrapped: set[str]) -> bool:
    """An Mbed OS symbol: one of MBED_SYMBOLS, mbed::/rtos:: namespaced, a --wrap target Mbed OS defines (__wrap_X), or
    named (its first identifier: the class or function) in Mbed OS's headers."""
    name = symbol.removeprefix("vtable for ").removeprefix("typeinfo for ")
    if name in MBED_SYMBOLS or name.startswith(("mbed::", "rtos::")):
        return True
    if name.startswith("__wrap_"):
        return name.removeprefix("__wrap_") in wrapped
    first = re.match(r"[A-Za-z_]\w*", name)
    return first is not None and first.group(0) in names


def _check_mbed_link(project: Path, board_name: str) -> set[str]:
    """Link without libmbed.a: only Mbed OS symbols are missing, none of tinygen's (returns them)."""
    link = _link_command(project, board_name)
    unresolved, ours, needed = _unresolved_without_libmbed(project, board_name, link)
    assert unresolved, "the link without libmbed.a resolved everything?"
    assert ours <= MBED_SYMBOLS, f"tinygen references unresolved non-Mbed symbols: {sorted(ours - MBED_SYMBOLS)}"
    assert not {s for s in unresolved if s.startswith(("tg_", "kws_")) or "_model" in s}, unresolved
    assert needed and needed <= unresolved
    assert MBED_SYMBOLS <= needed, "tinygen's glue was not reached from main()"
    names, wrapped = _mbed_declares(link)
    foreign = sorted(s for s in needed if not _is_mbed_symbol(s, names, wrapped))
    assert not foreign, f"the link needs symbols Mbed OS does not declare: {foreign}"
    return needed


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
        _check_mbed_link(out, board.name)
        if app == "kws" and has_microphone(board):
            assert "PDM" in log  # the core's PDM library was found and compiled
        return
    assert result.elf.is_file() and result.report.fits
    assert result.report.flash.limit == board.flash_limit and result.report.ram.limit == board.ram_limit
    assert result.report.flash.parts["model"] > 0
    log = result.log.read_text(errors="replace")
    assert not re.search(r"^src/.*warning:", log, re.MULTILINE)
    if board.pio_platform in ("nordicnrf52", "raspberrypi"):
        # libmbed.a is there (pico's is in public git): the same check as where it is absent
        _check_mbed_link(out, board.name)
