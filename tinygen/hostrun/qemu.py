"""Run AOT-generated C on an emulated Cortex-M4F (QEMU mps2-an386) and count its instructions.

The model's generated directory is cross-compiled with arm-none-eabi-gcc (DSP path on by default)
together with a small semihosting harness (m4/): inputs go in through a file, outputs and per-invoke
SysTick readings come back through a file. QEMU runs with `-icount shift=0`: one instruction is one
nanosecond of virtual time, and SysTick counts the 25 MHz system clock, so instructions = 40 x ticks
(+-40 per invoke).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BuildError, DeviceError, ToolMissingError
from ..model import ModelInfo

HARNESS_DIR = Path(__file__).resolve().parent / "m4"
ARCH = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
INSTRUCTIONS_PER_TICK = 40  # 1 ns per instruction (icount shift=0) at a 25 MHz SysTick clock


@dataclass(frozen=True)
class M4Run:
    outputs: list[list[np.ndarray]]     # per record, per output
    instructions: list[int]             # per record (per invoke)
    text_bytes: int                     # code + constants in flash (whole firmware)
    data_bytes: int
    bss_bytes: int


def tools() -> tuple[str, str]:
    gcc, qemu = shutil.which("arm-none-eabi-gcc"), shutil.which("qemu-system-arm")
    if not gcc or not qemu:
        raise ToolMissingError("arm-none-eabi-gcc and qemu-system-arm are needed for the emulated Cortex-M4",
                               hint="apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm")
    return gcc, qemu


def build_elf(files: dict[str, str], work: Path, dsp: bool = True, opt: str = "-O2",
              extra_sources: tuple[Path, ...] = ()) -> Path:
    """Cross-compile generated files + the harness into work/fw.elf."""
    gcc, _ = tools()
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (src / name).write_text(content)
    sources = sorted(str(p) for p in src.glob("*.c")) + [str(HARNESS_DIR / "startup.c"), str(HARNESS_DIR / "harness.c")]
    sources += [str(p) for p in extra_sources]
    flags = [*ARCH, opt, "-std=c99", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections",
             "-I", str(src)] + ([] if dsp else ["-DTG_AOT_NO_DSP"])
    elf = work / "fw.elf"
    cmd = [gcc, *flags, *sources, "-T", str(HARNESS_DIR / "link.ld"), "-nostartfiles", "--specs=rdimon.specs",
           "-Wl,--gc-sections", "-o", str(elf), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln or "undefined" in ln),
                     proc.stderr[:300])
        raise BuildError(f"Cortex-M4 build of the generated C failed: {first}")
    return elf


def elf_sizes(elf: Path) -> tuple[int, int, int]:
    size = shutil.which("arm-none-eabi-size") or "arm-none-eabi-size"
    out = subprocess.run([size, str(elf)], capture_output=True, text=True, check=True).stdout.splitlines()[1]
    text, data, bss = (int(x) for x in out.split()[:3])
    return text, data, bss


def run_elf(elf: Path, model: ModelInfo, records: list[list[np.ndarray]], timeout: float = 600) -> tuple[list[list[np.ndarray]], list[int]]:
    _, qemu = tools()
    work = elf.parent
    blob = bytearray(struct.pack("<I", len(records)))
    for xs in records:
        for x, t in zip(xs, model.inputs):
            blob += np.asarray(x, dtype=np.dtype(t.dtype)).tobytes()
    (work / "in.bin").write_bytes(bytes(blob))
    (work / "out.bin").unlink(missing_ok=True)
    cmd = [qemu, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]
    try:
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise DeviceError(f"emulated Cortex-M4 did not finish within {timeout:.0f} s") from exc
    (work / "stdout.txt").write_text(proc.stdout)
    if proc.returncode != 0:
        raise DeviceError(f"emulated Cortex-M4 harness exited with {proc.returncode}: {proc.stdout.strip()[-200:]}")
    data = (work / "out.bin").read_bytes()
    outs, counts, pos = [], [], 0
    for _ in records:
        row = []
        for t in model.outputs:
            row.append(np.frombuffer(data[pos: pos + t.nbytes], dtype=np.dtype(t.dtype)).reshape(t.shape).copy())
            pos += t.nbytes
        ticks = struct.unpack_from("<Q", data, pos)[0]
        pos += 8
        outs.append(row)
        counts.append(int(ticks) * INSTRUCTIONS_PER_TICK)
    return outs, counts


def run_on_m4(model: ModelInfo, records: list[list[np.ndarray]], dsp: bool = True, opt: str = "-O2",
              work: Path | None = None) -> M4Run:
    """Generate, cross-compile and run `records` (one stream) on the emulated Cortex-M4F."""
    from ..codegen import aot

    files = aot.generate(model, "m")
    with tempfile.TemporaryDirectory(prefix="tinygen-m4-") as tmp:
        w = Path(work) if work else Path(tmp)
        elf = build_elf(files, w, dsp=dsp, opt=opt)
        text, data, bss = elf_sizes(elf)
        outs, counts = run_elf(elf, model, records)
    return M4Run(outs, counts, text, data, bss)
