"""The Arduino export of TFLM (tflite-micro-arduino-examples, what real boards get without a local
TFLM tree) compiled for the emulated Cortex-M4F, so bench/arena_search.py can measure its arenas.

The export is an Arduino library: src/tensorflow (TFLM with the CMSIS-NN kernels in place of the
reference ones), src/third_party (CMSIS-NN, flatbuffers, gemmlowp, ruy) and Nano 33 BLE-only code
(src/peripherals, used by micro_time.cpp and system_setup.cpp). This builds what decides the arena
with the flags the nano33ble project compiles it with (ArduinoCore-mbed: ARDUINO defined,
gnu++14, no TF_LITE_STATIC_MEMORY; the export's library.properties adds none), Cortex-M4F: every
source under src/tensorflow/lite (the audio frontend in experimental/ left out) and CMSIS-NN, not
the board code; DebugLog and the tick counter come from bench/arduino_export_shim.cc.

    python bench/arena_search.py MODEL --arduino-export DIR [--work DIR]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinygen.hostrun import qemu  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
# what the nano33ble project defines for the export (the platform's mbed-core builder defines ARDUINO=10810)
DEFINES = ["-DARDUINO=10810"]
CXX_STD = "-std=gnu++14"
_BOARD_SOURCES = {"tensorflow/lite/micro/system_setup.cpp", "tensorflow/lite/micro/micro_time.cpp"}


def include_dirs(export: Path) -> list[str]:
    src = export / "src"
    return [str(src), str(src / "third_party" / "flatbuffers" / "include"), str(src / "third_party" / "gemmlowp"),
            str(src / "third_party" / "ruy")]


def sources(export: Path) -> list[Path]:
    src = export / "src"
    out = []
    for base in (src / "tensorflow" / "lite", src / "third_party" / "cmsis_nn"):
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(src).as_posix()
            if path.suffix not in (".c", ".cc", ".cpp") or rel in _BOARD_SOURCES or "/experimental/" in f"/{rel}":
                continue
            out.append(path)
    return out


def export_library(export: Path, work: Path) -> Path:
    """work/libtflm_arduino.a from the export's sources (objects kept in work/obj: a second call
    compiles only what changed)."""
    export = export.resolve()
    if not (export / "src" / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").is_file():
        raise SystemExit(f"{export} is not a TFLM Arduino export (no src/tensorflow/lite/micro/micro_interpreter.h)")
    objdir = work / "obj"
    objects = []
    for path in sources(export):
        obj = objdir / (path.relative_to(export / "src").as_posix().replace("/", "__") + ".o")
        objects.append(str(obj))
        if obj.is_file() and obj.stat().st_mtime >= path.stat().st_mtime:
            continue
        obj.parent.mkdir(parents=True, exist_ok=True)
        lang = ["arm-none-eabi-gcc", "-std=gnu11"] if path.suffix == ".c" else \
            ["arm-none-eabi-g++", CXX_STD, "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics"]
        cmd = [*lang, *qemu.ARCH, "-Os", "-ffunction-sections", "-fdata-sections", *DEFINES,
               *[f"-I{d}" for d in include_dirs(export)], "-c", str(path), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"compiling {path} failed:\n{proc.stderr[-2000:]}")
    lib = work / "libtflm_arduino.a"
    lib.unlink(missing_ok=True)
    subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), *objects], check=True)
    return lib


def export_firmware(src: Path, export: Path, lib: Path, work: Path, app: Path, defines: list[str]
                    ) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Cross-compile `app` with the model sources in `src` against the export library: work/fw.elf."""
    work.mkdir(parents=True, exist_ok=True)
    elf = work / "fw.elf"
    cmd = ["arm-none-eabi-g++", *qemu.ARCH, "-Os", CXX_STD, "-fno-rtti", "-fno-exceptions",
           "-fno-threadsafe-statics", "-ffunction-sections", "-fdata-sections", *DEFINES, "-DARENA_STRING_LOG",
           *defines, "-I", str(src), *[f"-I{d}" for d in include_dirs(export)],
           str(app), str(src / "m_model_data.cc"), str(BENCH_DIR / "arduino_export_shim.cc"),
           "-x", "c", str(qemu.HARNESS_DIR / "startup.c"), "-x", "none",
           "-T", str(qemu.HARNESS_DIR / "link.ld"), "-nostartfiles", "--specs=rdimon.specs",
           "-Wl,--gc-sections", str(lib), "-lm", "-o", str(elf)]
    return elf, subprocess.run(cmd, capture_output=True, text=True)
