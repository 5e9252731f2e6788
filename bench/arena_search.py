"""Measure the smallest TFLM arena a model needs on the emulated Cortex-M4F, byte by byte.

This is how tests/data/arena_truth.json was taken (docs/arena.md, "Ground truth"): TFLM built with its
own Makefile for Cortex-M4F (reference or CMSIS-NN kernels; TINYGEN_TFLM_DIR as for bench/run.py),
one firmware per model and kernel set (bench/arena_app.cc) that reads the arena size at run time, and
QEMU mps2-an386 runs:

1. a run with the largest arena gives the reference output hash;
2. a binary search finds the smallest N for which AllocateTensors and two Invokes succeed and the
   outputs hash equal to the reference (a HardFault or a hang past --timeout counts as failure;
   bench/corpus.py tries tinygen's computed arena and one byte less first: if the first succeeds
   and the second fails, that is N without the bisection; the checks below are the same);
3. every size from N-32 to N-1 must fail and N..N+32 (step 4) must succeed, else the result is
   flagged "not monotonic".

    python bench/arena_search.py MODEL.tflite [MODEL...] [--kernels reference,cmsis-nn]
        [--resource-slots N] [--json OUT.json] [--merge tests/data/arena_truth.json --key REL]
    python bench/arena_search.py MODEL.tflite [MODEL...] --arduino-export DIR [--work DIR] [--json OUT.json]

With --arduino-export, the TFLM measured is the Arduino export real boards get without a local
tree (a copy of tflite-micro-arduino-examples, e.g. at 7948b85), compiled for the emulated
Cortex-M4F with the flags the nano33ble project uses (bench/arduino_export.py; kernels "arduino":
its CMSIS-NN kernels); --work keeps its compiled library between runs.

The entry printed (and merged with --merge) has the arena_truth.json fields: min_arena,
arena_used_bytes (at the minimum), arena_used_bytes_4mib (at the largest arena, despite the name
kept for the file's format), fails_below_with and tflm_error_below (TFLM's last log line at N-1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

from arduino_export import export_firmware, export_library  # noqa: E402
from run import tflm_firmware, tflm_lib  # noqa: E402

from tinygen.codegen import tflm  # noqa: E402
from tinygen.hostrun import qemu  # noqa: E402
from tinygen.model import ModelInfo, load_model  # noqa: E402
from tinygen.model.variables import resource_variable_count  # noqa: E402

ARENA_MAX = 2 * 1024 * 1024
_RESULT = re.compile(r"RESULT alloc=(-?\d+) invoke1=(-?\d+) invoke2=(-?\d+) used=(\d+) hash=([0-9a-f]+)")


@dataclass(frozen=True)
class Trial:
    ok: bool
    kind: str          # OK, ALLOC_FAIL, INVOKE_FAIL, WRONG_OUTPUT, FAULT, HANG
    used: int
    hash: str
    log: str           # TFLM's last log line before the result


def resource_slots(model: ModelInfo) -> int:
    """MicroResourceVariables slots the measurement firmware creates: one per distinct resource, as
    tinygen's TFLM firmware does (model/variables.py; the Cortex-M3 entries of arena_truth.json were
    measured with one per VAR_HANDLE op and say so in `resource_slots`)."""
    return resource_variable_count(model)


def build(model: ModelInfo, tflm_dir: Path, kernels: str, work: Path, slots: int) -> Path:
    lib = tflm_lib(tflm_dir, kernels, work)
    if lib is None:
        raise SystemExit(f"no TFLM {kernels} library under {tflm_dir}/gen: build it with TFLM's Makefile "
                         "(see bench/run.py's docstring)")
    elf, proc = tflm_firmware(model, tflm_dir, lib, kernels, work / kernels, BENCH_DIR / "arena_app.cc",
                              [f"-DARENA_VARS={slots}", f"-DARENA_MAX={ARENA_MAX}"])
    if proc.returncode != 0:
        raise SystemExit(f"TFLM {kernels} build failed:\n{proc.stderr[-2000:]}")
    return elf


def build_arduino(model: ModelInfo, export: Path, lib: Path, work: Path, slots: int) -> Path:
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, content in tflm.generate(model, "m", None, tflm.ArenaSizes(0, 0)).items():
        (src / name).write_text(content)
    elf, proc = export_firmware(src, export, lib, work, BENCH_DIR / "arena_app.cc",
                                [f"-DARENA_VARS={slots}", f"-DARENA_MAX={ARENA_MAX}"])
    if proc.returncode != 0:
        raise SystemExit(f"TFLM Arduino export build failed:\n{proc.stderr[-2000:]}")
    return elf


def trial(elf: Path, size: int, timeout: float, reference_hash: str | None) -> Trial:
    _, qemu_bin = qemu.tools()
    with tempfile.TemporaryDirectory(prefix="tg-arena-") as tmp:
        Path(tmp, "arena.txt").write_text(str(size))
        cmd = [qemu_bin, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Trial(False, "HANG", 0, "", "")
    m = _RESULT.search(proc.stdout)
    before = proc.stdout[: m.start()] if m else proc.stdout
    lines = [ln.strip() for ln in before.splitlines() if ln.strip()]
    log = lines[-1] if lines else ""
    if m is None:
        return Trial(False, "FAULT", 0, "", log)
    alloc, i1, i2, used, digest = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
    if alloc != 0:
        return Trial(False, "ALLOC_FAIL", used, digest, log)
    if i1 != 0 or i2 != 0:
        return Trial(False, "INVOKE_FAIL", used, digest, log)
    if reference_hash is not None and digest != reference_hash:
        return Trial(False, "WRONG_OUTPUT", used, digest, log)
    return Trial(True, "OK", used, digest, log)


def search(elf: Path, timeout: float, guess: int | None = None) -> dict:
    """The entry for one firmware. `guess` (e.g. tinygen's computed arena) only narrows the binary
    search: it is tried first, with guess-1; the result and the checks around it are the same."""
    big = trial(elf, ARENA_MAX, timeout, None)
    if not big.ok:
        raise SystemExit(f"{elf.name}: fails even with {ARENA_MAX} B ({big.kind}: {big.log})")
    ref = big.hash
    lo, hi = 0, ARENA_MAX        # lo fails (an empty arena cannot work), hi succeeds
    if guess is not None and 1 < guess < ARENA_MAX:
        if trial(elf, guess, timeout, ref).ok:
            hi = guess
            lo = guess - 1 if not trial(elf, guess - 1, timeout, ref).ok else lo
        else:
            lo = guess
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if trial(elf, mid, timeout, ref).ok:
            hi = mid
        else:
            lo = mid
    n = hi
    at_min = trial(elf, n, timeout, ref)
    below = trial(elf, n - 1, timeout, ref)
    monotonic = all(not trial(elf, s, timeout, ref).ok for s in range(max(1, n - 32), n - 1))
    monotonic = monotonic and all(trial(elf, s, timeout, ref).ok for s in range(n, n + 33, 4))
    entry = {"min_arena": n, "arena_used_bytes": at_min.used, "arena_used_bytes_4mib": big.used,
             "fails_below_with": below.kind, "tflm_error_below": below.log}
    if not monotonic:
        entry["note"] = "not monotonic within N-32..N+32"
    return entry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--kernels", default="reference,cmsis-nn")
    ap.add_argument("--tflm-dir", type=Path, default=os.environ.get("TINYGEN_TFLM_DIR"))
    ap.add_argument("--resource-slots", type=int, default=None,
                    help="MicroResourceVariables slots (default: one per distinct resource, as tinygen's firmware)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as a hang")
    ap.add_argument("--json", type=Path, help="write {model: {kernels: entry}} here")
    ap.add_argument("--merge", type=Path, help="merge the entries into this arena_truth.json")
    ap.add_argument("--key", help="with one model and --merge: the key under 'models' (default: file name)")
    ap.add_argument("--arduino-export", type=Path, help="measure this TFLM Arduino export instead of --tflm-dir")
    ap.add_argument("--work", type=Path, help="with --arduino-export: keep its compiled library here")
    args = ap.parse_args()
    if args.arduino_export is None and args.tflm_dir is None:
        ap.error("set TINYGEN_TFLM_DIR or --tflm-dir to a TFLM tree with Cortex-M4F libraries built")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="tg-arena-build-") as tmp:
        lib = None
        if args.arduino_export is not None:
            lib = export_library(args.arduino_export, args.work or Path(tmp) / "arduino-lib")
            args.kernels = "arduino"
        for path in args.models:
            model = load_model(path)
            slots = resource_slots(model) if args.resource_slots is None else args.resource_slots
            key = args.key if args.key and len(args.models) == 1 else path.name
            results[key] = {}
            for kernels in args.kernels.split(","):
                if lib is not None:
                    elf = build_arduino(model, args.arduino_export, lib, Path(tmp) / path.stem, slots)
                else:
                    elf = build(model, args.tflm_dir, kernels, Path(tmp) / path.stem, slots)
                entry = search(elf, args.timeout)
                results[key][kernels] = entry
                print(f"{key} {kernels}: {json.dumps(entry)}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.merge:
        truth = json.loads(args.merge.read_text())
        for key, entry in results.items():
            truth.setdefault("models", {}).setdefault(key, {}).update(entry)
        args.merge.write_text(json.dumps(truth, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
