"""Measure the smallest TFLM arena a model needs on the emulated Cortex-M4F, byte by byte.

This is how tests/data/arena_truth.json was taken (docs/arena.md, "Ground truth"): TFLM built with its
own Makefile for Cortex-M4F (reference or CMSIS-NN kernels; TINYGEN_TFLM_DIR as for bench/run.py),
one firmware per model and kernel set (bench/arena_app.cc) that reads the arena size at run time, and
QEMU mps2-an386 runs:

1. a run with the largest arena (ARENA_MAX) gives the reference output hash;
2. a binary search finds the smallest N for which AllocateTensors succeeds (a HardFault or a hang
   past --timeout counts as failure; a run with the Invokes gets 10x the largest arena's run time + 60 s (the machine load can vary),
   that run itself up to INVOKE_TIMEOUT, 4 h; bench/corpus.py and this script start at tinygen's computed
   arena and one byte less: if the first succeeds and the second fails, that is N without the
   bisection; the checks below are the same);
3. at N, AllocateTensors and two Invokes must succeed and the outputs hash equal to the reference
   (if not, the search goes on with full runs from N up, and the entry says so in `note`); N-1 runs
   the same way and must fail (`fails_below_with`);
4. every size from N-32 to N-2 must fail AllocateTensors and N..N+32 (step 4) must pass it, else the
   result is flagged "not monotonic".

Why trials may stop after AllocateTensors (entries with "trials": "allocate-only"; --full-trials runs
the two Invokes and the hash check in every trial, as the entries without that key were measured):
in TFLM 90b983c, MicroInterpreter::AllocateTensors runs every kernel's Init and Prepare, the only
states in which kernels may call AllocatePersistentBuffer and RequestScratchBufferInArena
(MicroInterpreterContext DCHECKs it), then MicroAllocator::FinishModelAllocation commits the memory
plan and the input/output TfLiteTensors are allocated. Invoke (MicroInterpreterGraph::InvokeSubgraph)
allocates nothing in the arena itself; a kernel could ask for temporary TfLiteTensors (reset after
every operator), but in tensorflow/lite/micro/kernels/ and kernels/cmsis_nn/ every
AllocatePersistentBuffer, AllocateTemp*Tensor and RequestScratchBufferInArena call is in Init- or
Prepare-time code (read for this; the signal/ ops were not). So an arena AllocateTensors rejects fails
with the Invokes too (the failure side is exact), and the full run at N confirms the success side.

Models too big for tinygen/hostrun/m4/link.ld's layout (a flatbuffer over 2 MiB, or a computed arena
over ARENA_MAX / 2: mobilenet_v2_quantized_1x3x224x224) get bench/arena_psram.ld: the flatbuffer and
an arena of up to ARENA_MAX_PSRAM in QEMU's 16 MB PSRAM at 0x21000000 (measurement firmware only;
the arena start is 16-byte aligned in both layouts). Their entries have `largest_arena`.

    python bench/arena_search.py MODEL.tflite [MODEL...] [--kernels reference,cmsis-nn] [--full-trials]
        [--layout auto|ssram|psram] [--resource-slots N] [--json OUT.json] [--merge tests/data/arena_truth.json --key REL]
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
import time
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

ARENA_MAX = 2 * 1024 * 1024        # largest arena with tinygen/hostrun/m4/link.ld (arena in SSRAM2/3)
ARENA_MAX_PSRAM = 8 * 1024 * 1024  # with bench/arena_psram.ld (model and arena in PSRAM)
PSRAM_LD = BENCH_DIR / "arena_psram.ld"
INVOKE_TIMEOUT = 4 * 3600.0        # seconds for the run at the largest arena (two Invokes)
_RESULT = re.compile(r"RESULT alloc=(-?\d+) invoke1=(-?\d+) invoke2=(-?\d+) used=(\d+) hash=([0-9a-f]+)")


@dataclass(frozen=True)
class Layout:
    name: str        # "ssram": link.ld, as every other bench firmware; "psram": arena_psram.ld
    arena_max: int


SSRAM = Layout("ssram", ARENA_MAX)
PSRAM = Layout("psram", ARENA_MAX_PSRAM)


def layout_for(model: ModelInfo, guess: int | None) -> Layout:
    """PSRAM when the flatbuffer would crowd the 4 MB code SSRAM (over 2 MiB) or the arena tinygen
    computes, doubled, exceeds ARENA_MAX; SSRAM otherwise. Only where the firmware puts things:
    the arena's start is 16-byte aligned in both."""
    if len(model.data) > 2 * 1024 * 1024 or (guess or 0) * 2 > ARENA_MAX:
        return PSRAM
    return SSRAM


@dataclass(frozen=True)
class Trial:
    ok: bool
    kind: str          # OK, ALLOC_FAIL, INVOKE_FAIL, WRONG_OUTPUT, FAULT, HANG
    used: int
    hash: str
    log: str           # TFLM's last log line before the result
    invoked: bool      # the two Invokes ran (or were meant to: a full trial)
    seconds: float     # wall time of the QEMU run


def resource_slots(model: ModelInfo) -> int:
    """MicroResourceVariables slots the measurement firmware creates: one per distinct resource, as
    tinygen's TFLM firmware does (model/variables.py; the Cortex-M3 entries of arena_truth.json were
    measured with one per VAR_HANDLE op and say so in `resource_slots`)."""
    return resource_variable_count(model)


def build(model: ModelInfo, tflm_dir: Path, kernels: str, work: Path, slots: int, layout: Layout = SSRAM) -> Path:
    lib = tflm_lib(tflm_dir, kernels, work)
    if lib is None:
        raise SystemExit(f"no TFLM {kernels} library under {tflm_dir}/gen: build it with TFLM's Makefile "
                         "(see bench/run.py's docstring)")
    defines = [f"-DARENA_VARS={slots}", f"-DARENA_MAX={layout.arena_max}"]
    if layout is PSRAM:
        defines.append("-DARENA_PSRAM")
    elf, proc = tflm_firmware(model, tflm_dir, lib, kernels, work / kernels, BENCH_DIR / "arena_app.cc", defines,
                              PSRAM_LD if layout is PSRAM else None)
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


def trial(elf: Path, size: int, timeout: float, reference_hash: str | None, invoke: bool = True) -> Trial:
    """One QEMU run with a `size`-byte arena: AllocateTensors, then (invoke) the two Invokes and the
    output hash check; without invoke the run stops after AllocateTensors."""
    _, qemu_bin = qemu.tools()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tg-arena-") as tmp:
        Path(tmp, "arena.txt").write_text(f"{size} {0 if invoke else 1}")
        cmd = [qemu_bin, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Trial(False, "HANG", 0, "", "", invoke, time.monotonic() - start)
    secs = time.monotonic() - start
    m = _RESULT.search(proc.stdout)
    before = proc.stdout[: m.start()] if m else proc.stdout
    lines = [ln.strip() for ln in before.splitlines() if ln.strip()]
    log = lines[-1] if lines else ""
    if m is None:
        return Trial(False, "FAULT", 0, "", log, invoke, secs)
    alloc, i1, i2, used, digest = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
    if alloc != 0:
        return Trial(False, "ALLOC_FAIL", used, digest, log, invoke, secs)
    if not invoke:
        return Trial(True, "OK", used, "", log, False, secs)
    if i1 != 0 or i2 != 0:
        return Trial(False, "INVOKE_FAIL", used, digest, log, True, secs)
    if reference_hash is not None and digest != reference_hash:
        return Trial(False, "WRONG_OUTPUT", used, digest, log, True, secs)
    return Trial(True, "OK", used, digest, log, True, secs)


def search(elf: Path, timeout: float, guess: int | None = None, arena_max: int = ARENA_MAX,
           full_trials: bool = False, invoke_timeout: float = INVOKE_TIMEOUT, log=None) -> dict:
    """The entry for one firmware. `guess` (e.g. tinygen's computed arena) only narrows the binary
    search: it is tried first, with guess-1; the result and the checks around it are the same.
    Without full_trials the search's trials stop after AllocateTensors; the largest arena, N and
    N-1 always run the two Invokes (docstring above). `timeout` bounds a run without Invokes;
    a run with them gets 10x the largest arena's run time + 60 s (at least `timeout`)."""
    big = trial(elf, arena_max, invoke_timeout, None)
    if not big.ok:
        raise SystemExit(f"{elf.name}: fails even with {arena_max} B ({big.kind}: {big.log})")
    if log is not None:
        print(f"  {elf.parent.name}: {arena_max} B arena, two Invokes: {big.seconds:.0f} s", file=log, flush=True)
    ref = big.hash
    full_timeout = max(timeout, 10 * big.seconds + 60)

    def ok(size: int, invoke: bool) -> bool:
        return trial(elf, size, full_timeout if invoke else timeout, ref, invoke).ok

    def bisect(lo: int, hi: int, invoke: bool) -> int:   # lo fails, hi succeeds
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid, invoke):
                hi = mid
            else:
                lo = mid
        return hi

    lo, hi = 0, arena_max        # an empty arena cannot work
    if guess is not None and 1 < guess < arena_max:
        if ok(guess, full_trials):
            hi = guess
            lo = guess - 1 if not ok(guess - 1, full_trials) else lo
        else:
            lo = guess
    n = bisect(lo, hi, full_trials)
    at_min = trial(elf, n, full_timeout, ref)
    note = ""
    if not at_min.ok:  # AllocateTensors succeeds at n but the Invokes do not: search n..max with them
        full_trials = True
        n = bisect(n, arena_max, True)
        at_min = trial(elf, n, full_timeout, ref)
        note = f"AllocateTensors succeeds below N, the Invokes do not ({at_min.kind} there)"
    below = trial(elf, n - 1, full_timeout, ref)
    # an arena AllocateTensors rejects is rejected with the Invokes too: below N the allocation-only
    # trials are as strong as full ones; above N they show AllocateTensors succeeds
    monotonic = all(not ok(s, full_trials) for s in range(max(1, n - 32), n - 1))
    monotonic = monotonic and all(ok(s, full_trials) for s in range(n, n + 33, 4))
    entry = {"min_arena": n, "arena_used_bytes": at_min.used, "arena_used_bytes_4mib": big.used,
             "fails_below_with": below.kind, "tflm_error_below": below.log}
    if not full_trials:
        entry["trials"] = "allocate-only"
    if arena_max != ARENA_MAX:
        entry["largest_arena"] = arena_max
    if not monotonic:
        note = "; ".join(x for x in (note, "not monotonic within N-32..N+32") if x)
    if note:
        entry["note"] = note
    return entry


def computed_arena(model: ModelInfo, kernels: str) -> int | None:
    """tinygen's computed arena (compute_arena(...).total), where the search starts; None if it has no model."""
    from tinygen.arena import compute_arena
    from tinygen.errors import TinygenError

    try:
        return compute_arena(model, kernels=kernels).total
    except TinygenError:
        return None


def measure(model: ModelInfo, tflm_dir: Path, kernels: str, work: Path, guess: int | None = None,
            timeout: float = 120.0, full_trials: bool = False, layout: Layout | None = None,
            slots: int | None = None, log=None) -> dict:
    """Build the firmware for one kernel set (layout: layout_for unless given) and search."""
    lay = layout or layout_for(model, guess)
    elf = build(model, tflm_dir, kernels, work, resource_slots(model) if slots is None else slots, lay)
    return search(elf, timeout, guess, lay.arena_max, full_trials, log=log)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--kernels", default="reference,cmsis-nn")
    ap.add_argument("--tflm-dir", type=Path, default=os.environ.get("TINYGEN_TFLM_DIR"))
    ap.add_argument("--resource-slots", type=int, default=None,
                    help="MicroResourceVariables slots (default: one per distinct resource, as tinygen's firmware)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds before a run without Invokes counts as a hang (with them: 10x the largest arena's run)")
    ap.add_argument("--full-trials", action="store_true",
                    help="every trial runs the two Invokes and the hash check (default: only N, N-1 and the largest arena)")
    ap.add_argument("--layout", choices=("auto", "ssram", "psram"), default="auto",
                    help="firmware memory layout (auto: psram for a model over 2 MiB or a computed arena over 1 MiB)")
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
                    entry = search(elf, args.timeout, full_trials=args.full_trials, log=sys.stderr)
                else:
                    guess = computed_arena(model, kernels)
                    layout = {"ssram": SSRAM, "psram": PSRAM}.get(args.layout)
                    entry = measure(model, args.tflm_dir, kernels, Path(tmp) / path.stem, guess, args.timeout,
                                    args.full_trials, layout, slots, log=sys.stderr)
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
