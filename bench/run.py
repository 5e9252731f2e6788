"""Benchmark: tinygen AOT vs TensorFlow Lite Micro on the emulated Cortex-M4F (QEMU mps2-an386).

The AOT column is the firmware users get: `tinygen verify --board qemu-m4 --random N` (the HIL
firmware tinygen builds with PlatformIO, the product's flags) runs the inputs, checks every output
against the reference interpreter and reports instructions per inference; this script takes exactly
those numbers (`cost` per input), so bench and verify agree to the instruction.

Per model, side by side in one run:
- RAM: AOT arena + persistent state vs TFLM's 32-bit arena (arena_used_bytes() reported on the
  device, and the measured minimum from tests/data/arena_truth.json when present);
- flash: AOT = the model's code and constants, the kernels and the library routines they pull in,
  as linked into the HIL firmware (from its linker map); TFLM = text+data of its firmware minus the
  same I/O harness without a model (library + model flatbuffer);
- instructions per inference under `qemu -icount shift=0` (SysTick, +-40): AOT as above (mean over
  the inputs, what verify prints), TFLM with reference kernels and with CMSIS-NN (median).

TFLM columns need a TFLM tree with Cortex-M4F libraries built: set TINYGEN_TFLM_DIR to it
(gen/cortex_m_generic_cortex-m4+fp_default_gcc/ and ..._cmsis_nn_gcc/ from
`make -f tensorflow/lite/micro/tools/make/Makefile TARGET=cortex_m_generic TARGET_ARCH=cortex-m4+fp
[OPTIMIZED_KERNEL_DIR=cmsis_nn] microlite`). Without it those columns are skipped. The TFLM outputs
are checked against the reference interpreter too (the AOT outputs equal it: verify checked).

    python bench/run.py [--models kws_ref_model,...] [--runs 3] [--json bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinygen.codegen import aot, tflm  # noqa: E402
from tinygen.hostrun import qemu  # noqa: E402
from tinygen.link.protocol import LinkConfig  # noqa: E402
from tinygen.model import load_model  # noqa: E402
from tinygen.model.variables import resource_variable_count  # noqa: E402
from tinygen.reference import Reference  # noqa: E402
from tinygen.report import silent  # noqa: E402
from tinygen.verify.firmware import build_hil_firmware  # noqa: E402
from tinygen.verify.inputs import random_inputs  # noqa: E402
from tinygen.verify.run import VerifyOptions, verify_model  # noqa: E402

MODELS_DIR = ROOT.parent / "shared" / "models"
BENCH_DIR = Path(__file__).resolve().parent
GEN = {"reference": "cortex_m_generic_cortex-m4+fp_default_gcc",
       "cmsis-nn": "cortex_m_generic_cortex-m4+fp_default_cmsis_nn_gcc"}
STUB_RUNTIME = r"""
#include "tg_runtime.h"
static tg_tensor_info info;
static unsigned char buf[4];
tg_status tg_runtime_init(void) { return TG_OK; }
tg_status tg_runtime_reset(void) { return TG_OK; }
tg_status tg_runtime_invoke(void) { return TG_OK; }
uint32_t tg_runtime_input_count(void) { return 1; }
uint32_t tg_runtime_output_count(void) { return 1; }
const tg_tensor_info *tg_runtime_input_info(uint32_t i) { (void)i; return &info; }
const tg_tensor_info *tg_runtime_output_info(uint32_t i) { (void)i; return &info; }
void *tg_runtime_input(uint32_t i) { (void)i; return buf; }
void *tg_runtime_output(uint32_t i) { (void)i; return buf; }
"""


def flash(elf: Path) -> int:
    text, data, _ = qemu.elf_sizes(elf)
    return text + data


def baseline_flash(work: Path) -> int:
    """Flash of the I/O harness alone (startup, semihosting stdio, stub runtime)."""
    files = {"stub.c": STUB_RUNTIME,
             "tg_runtime.h": (ROOT / "firmware" / "include" / "tg_runtime.h").read_text()}
    return flash(qemu.build_elf(files, work / "baseline", opt="-O2"))


def tflm_lib(tflm_dir: Path, kernels: str, work: Path) -> Path | None:
    gen = tflm_dir / "gen" / GEN[kernels]
    lib = gen / "lib" / "libtensorflow-microlite.a"
    if lib.is_file():
        return lib
    objs = sorted(str(p) for p in (gen / "obj").rglob("*.o")) if (gen / "obj").is_dir() else []
    if not objs:
        return None
    lib = work / f"libtflm_{kernels}.a"
    if not lib.exists():
        subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), *objs], check=True)
    return lib


def tflm_firmware(model, tflm_dir: Path, lib: Path, kernels: str, work: Path, app: Path,
                  defines: list[str], link: Path | None = None) -> tuple[Path, subprocess.CompletedProcess]:
    """Cross-compile `app` (a bench/*.cc TFLM app) with the model's C array against `lib`:
    work/fw.elf and the compiler's result. Shared by this benchmark and bench/arena_search.py
    (which may give its own linker script `link`; default: the AOT harness's link.ld)."""
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, content in tflm.generate(model, "m", None, tflm.ArenaSizes(0, 0)).items():
        (src / name).write_text(content)
    d = tflm_dir / "tensorflow" / "lite" / "micro" / "tools" / "make" / "downloads"
    defs = ["-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_DISABLE_X86_NEON", *defines]
    if kernels == "cmsis-nn":
        defs.append("-DCMSIS_NN")
    inc = ["-I", str(src), "-I", str(tflm_dir), "-I", str(d / "flatbuffers" / "include"),
           "-I", str(d / "gemmlowp"), "-I", str(d / "ruy")]
    elf = work / "fw.elf"
    cmd = ["arm-none-eabi-g++", *qemu.ARCH, "-O2", "-std=c++17", "-fno-rtti", "-fno-exceptions",
           "-fno-threadsafe-statics", "-ffunction-sections", "-fdata-sections", *defs, *inc,
           str(app), str(src / "m_model_data.cc"),
           "-x", "c", str(qemu.HARNESS_DIR / "startup.c"), "-x", "none",
           "-T", str(link or qemu.HARNESS_DIR / "link.ld"), "-nostartfiles", "--specs=rdimon.specs",
           "-Wl,--gc-sections", str(lib), "-lm", "-o", str(elf)]
    return elf, subprocess.run(cmd, capture_output=True, text=True)


def build_tflm(model, tflm_dir: Path, kernels: str, work: Path) -> Path | None:
    lib = tflm_lib(tflm_dir, kernels, work.parent)
    if lib is None:
        return None
    nvars = resource_variable_count(model)  # one slot per distinct resource, as tinygen's TFLM firmware
    elf, proc = tflm_firmware(model, tflm_dir, lib, kernels, work, BENCH_DIR / "tflm_app.cc",
                              [f"-DBENCH_VARS={nvars}"])
    if proc.returncode != 0:
        print(f"  TFLM {kernels} build failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return elf


def arena_truth() -> dict:
    p = ROOT / "tests" / "data" / "arena_truth.json"
    return json.loads(p.read_text()) if p.is_file() else {}


def linked_flash(map_file: Path, dirs: tuple[str, ...] = ("/src/model/", "/src/aot/")) -> int:
    """Flash bytes (text, rodata, data) of the objects under `dirs` in a GNU ld map, plus the library
    members they pulled in (transitively): the model and its runtime as linked into the firmware."""
    lines = map_file.read_text().splitlines()
    mine: set[str] = set()
    i = 1
    member = ""
    pulled: list[tuple[str, str]] = []
    while i < len(lines) and not lines[i].startswith("Discarded input sections"):
        ln = lines[i]
        if ln and not ln[0].isspace():
            member = ln.strip()
        elif ln.strip() and member:
            by = ln.strip().rsplit(" (", 1)[0]
            pulled.append((member, by))
            member = ""
        i += 1
    def ours(obj: str) -> bool:
        return any(d in obj for d in dirs) or obj in mine
    changed = True
    while changed:
        changed = False
        for m, by in pulled:
            if m not in mine and ours(by):
                mine.add(m)
                changed = True
    start = next(k for k, ln in enumerate(lines) if ln.startswith("Linker script and memory map"))
    total, out_sec, pending = 0, "", None
    for ln in lines[start:]:
        if ln and not ln[0].isspace():
            out_sec = ln.split()[0]
            continue
        if not out_sec.startswith((".text", ".rodata", ".data", ".ARM")):
            continue
        parts = ln.split()
        if len(parts) == 1 and parts[0].startswith("."):
            pending = parts[0]
            continue
        if pending is not None and len(parts) >= 3 and parts[0].startswith("0x"):
            parts = [pending] + parts
        pending = None
        if len(parts) >= 4 and parts[0].startswith(".") and parts[1].startswith("0x") and parts[2].startswith("0x"):
            if ours(" ".join(parts[3:])):
                total += int(parts[2], 16)
    return total


def bench_aot(path: Path, runs: int) -> dict:
    """What `tinygen verify --board qemu-m4 --random RUNS` builds, runs and reports."""
    elf = build_hil_firmware("qemu-m4", path, "aot", silent())
    # replies get 10 s, not 2: on a loaded machine QEMU's icount mode can hold a serial frame for seconds (the
    # guest's instruction counts, the measurement, do not change)
    result, _ = verify_model(VerifyOptions(board="qemu-m4", model=path, random=runs, seed=0, elf=elf,
                                           link=LinkConfig(timeout=10.0)))
    if not result.ok:
        raise SystemExit(f"verify failed for {path.name}: {result.error or f'{result.mismatches} mismatches'}")
    sizes = aot.sizes(load_model(path))
    return {"arena": sizes.arena, "persistent": sizes.persistent, "ram": sizes.ram,
            "flash": linked_flash(elf.parent / "firmware.map"), "firmware_text_data": flash(elf),
            "instructions": round(result.cost_per_inference),
            "instructions_per_input": [c.cost for c in result.cases], "verify_ok": result.ok}


def bench_model(rel: str, runs: int, tflm_dir: Path | None, base: int, work: Path) -> dict:
    path = MODELS_DIR / rel
    model = load_model(path)
    reference = Reference.from_file(path)
    cases = random_inputs(reference.inputs, runs, 0)   # the inputs verify --random RUNS sends
    records = [list(c.arrays) for c in cases]
    reference.reset()
    want = [reference.run(*c.arrays) for c in cases]
    row = {"model": rel, "aot": bench_aot(path, runs)}
    w = work / rel.replace("/", "_")
    truth = arena_truth().get("models", {}).get(rel, {})
    for kernels in ("reference", "cmsis-nn"):
        if tflm_dir is None:
            continue
        telf = build_tflm(model, tflm_dir, kernels, w / kernels)
        if telf is None:
            continue
        touts, tcounts = qemu.run_elf(telf, model, records)
        same = all(np.array_equal(np.asarray(x).reshape(-1), np.asarray(y).reshape(-1))
                   for a, b in zip(want, touts) for x, y in zip(a, b))
        used = None
        for line in (telf.parent / "stdout.txt").read_text().splitlines():
            if line.startswith("arena_used "):
                used = int(line.split()[1])
        if not same:
            print(f"  WARNING: TFLM {kernels} and the reference interpreter differ for {rel}", file=sys.stderr)
        row[kernels] = {"flash": flash(telf) - base, "instructions": int(np.median(tcounts)),
                        "outputs_equal_aot": same, "arena_min": _truth_arena(truth, kernels), "arena_used": used}
    return row


def _truth_arena(truth: dict, kernels: str) -> int | None:
    v = truth.get(kernels)
    if isinstance(v, dict):
        return v.get("min_arena") or v.get("arena")
    return v if isinstance(v, int) else None


def markdown(rows: list[dict]) -> str:
    head = ("| model | AOT RAM (arena+state) | TFLM arena (ref, smallest that works) | RAM ratio | AOT flash | TFLM flash (ref) | "
            "flash ratio | AOT instr | TFLM ref instr | TFLM CMSIS-NN instr | instr vs CMSIS-NN |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        a, ref, cm = r["aot"], r.get("reference", {}), r.get("cmsis-nn", {})
        tar = ref.get("arena_min") or ref.get("arena_used")

        def ratio(x, y, digits=2):
            return f"{x / y:.{digits}f}x" if x and y else "-"

        lines.append(
            f"| {r['model'].split('/')[-1].replace('.tflite', '')} | {a['ram']:,} | {tar or '-'} | {ratio(a['ram'], tar)} | "
            f"{a['flash']:,} | {ref.get('flash', '-')} | {ratio(a['flash'], ref.get('flash'))} | "
            f"{a['instructions']:,} | {ref.get('instructions', '-')} | {cm.get('instructions', '-')} | "
            f"{ratio(a['instructions'], cm.get('instructions'), 3)} |")  # three digits: 0.497x is not 0.50x
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated names (default: every int8 zoo model)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--table-from", type=Path, default=None,
                    help="only print the table of an earlier --json result (refreshing TFLM arena minimums)")
    args = ap.parse_args()
    if args.table_from:
        rows = json.loads(args.table_from.read_text())["rows"]
        for r in rows:
            truth = arena_truth().get("models", {}).get(r["model"], {})
            for kernels in ("reference", "cmsis-nn"):
                if kernels in r:
                    r[kernels]["arena_min"] = _truth_arena(truth, kernels) or r[kernels].get("arena_min")
        print(markdown(rows))
        return 0
    qemu.tools()
    env = os.environ.get("TINYGEN_TFLM_DIR")
    tflm_dir = Path(env) if env else None
    if tflm_dir is None:
        print("TINYGEN_TFLM_DIR not set: TFLM columns skipped", file=sys.stderr)
    rels = sorted(str(p.relative_to(MODELS_DIR)) for p in MODELS_DIR.glob("*/*.tflite") if p.parent.name != "not_int8")
    if args.models:
        want = set(args.models.split(","))
        rels = [r for r in rels if Path(r).stem in want]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinygen-bench-") as tmp:
        work = Path(tmp)
        base = baseline_flash(work)
        for rel in rels:
            print(f"bench {rel}", file=sys.stderr)
            rows.append(bench_model(rel, args.runs, tflm_dir, base, work))
    if args.json:
        args.json.write_text(json.dumps({"schema": "tinygen.bench", "schema_version": 2, "rows": rows}, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
