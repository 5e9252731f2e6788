"""Every public model in a folder through tinygen: intake verdict, arena, host and QEMU checks, cost.

The corpus is every int8 / int16x8 `.tflite` of tensorflow/tflite-micro (examples, models,
integration_tests), mlcommons/tiny (benchmark/training/**/trained_models) and
esphome/micro-wake-word-models, extracted outside the repository (docs/models.md says how). Per
model, in this order (later stages only for models intake accepts):

- intake: `classify_quantization` verdict and reason, and what `check_deployable` says (the
  refusal message convert/verify print, with its exit code);
- ops and MACs;
- arena: `compute_arena` for reference and CMSIS-NN kernels, next to the measured minimum from
  tests/data/arena_truth.json (matched by sha256) or, with --measure-arena, measured now with
  bench/arena_search.py (needs TINYGEN_TFLM_DIR with the Cortex-M4F libraries);
- run: `tinygen run --compare` (the AOT C on the host vs TFLM's interpreter, bit for bit);
- verify: `tinygen verify --board qemu-m4 --random N` on the aot and tflm runtimes, with what that
  firmware (the one users get) reports: arena size, instructions per inference, and its text/data/bss
  (the table's cost columns: AOT vs TFLM with the reference kernels tinygen's TFLM runtime compiles);
- bench: AOT vs TFLM reference and CMSIS-NN with bench/run.py's apps (in the json only).

    python bench/corpus.py [FOLDER] [--stages intake,arena,run,verify,bench] [--match TEXT]
        [--exclude TEXT] [--measure-arena [missing|all] [--record tests/data/arena_truth.json]] [--runs 5]
        [--json OUT.json] [--markdown OUT.md]
    python bench/corpus.py --combine A.json B.json [--json ALL.json] [--markdown OUT.md]

FOLDER defaults to $TINYGEN_MODEL_CORPUS. Progress goes to stderr; the markdown table to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

from tinygen.errors import TinygenError  # noqa: E402
from tinygen.model import check_deployable, classify_quantization, load_model  # noqa: E402
from tinygen.model.cost import model_macs  # noqa: E402

STAGES = ("intake", "arena", "run", "verify", "bench")
KERNELS = ("reference", "cmsis-nn")
SHARED_MODELS = ROOT.parent / "shared" / "models"
TRUTH = ROOT / "tests" / "data" / "arena_truth.json"


def corpus_models(folder: Path, match: str = "", exclude: tuple[str, ...] = ()) -> list[Path]:
    def keep(rel: str) -> bool:
        return match in rel and not any(x in rel for x in exclude)

    return sorted(p for p in folder.rglob("*.tflite") if keep(str(p.relative_to(folder))))


def truth_by_sha(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """arena_truth.json entries (zoo `models`, `corpus_models`, `synthetic_models`) keyed by the
    model's sha256: stored in the entry, or hashed from ../shared/models for the zoo."""
    out: dict[str, dict[str, Any]] = {}
    for section in ("models", "corpus_models", "synthetic_models"):
        for key, entry in truth.get(section, {}).items():
            sha = entry.get("sha256")
            if sha is None and (SHARED_MODELS / key).is_file():
                sha = hashlib.sha256((SHARED_MODELS / key).read_bytes()).hexdigest()
            if sha:
                out[sha] = entry
    return out


def intake(path: Path) -> tuple[Any, dict[str, Any]]:
    model = load_model(path)
    q = classify_quantization(model)
    row: dict[str, Any] = {
        "sha256": model.sha256, "bytes": len(model.data), "verdict": q.kind, "reason": q.reason,
        "ops": model.op_counts, "macs": model_macs(model), "accepted": True,
    }
    try:
        check_deployable(model)
    except TinygenError as exc:
        row.update(accepted=False, refusal=str(exc).removeprefix(f"{path}: "), exit_code=exc.exit_code)
    return model, row


def arena(model: Any, truth: dict[str, dict[str, Any]], measure: str, rel: str = "",
          record: Path | None = None) -> dict[str, Any]:
    """measure: "" (only what arena_truth.json has), "missing" (measure the kernel sets it lacks)
    or "all" (measure both again)."""
    from tinygen.arena import compute_arena

    out: dict[str, Any] = {}
    measured = truth.get(model.sha256, {})
    if measure:
        todo = [k for k in KERNELS if measure == "all" or "min_arena" not in measured.get(k, {})]
        guesses = {}
        for k in todo:
            try:  # only where the binary search starts; the measurement does not depend on it
                guesses[k] = compute_arena(model, kernels=k).total
            except TinygenError:
                pass
        fresh = measure_arena(model, todo, guesses) if todo else {}
        measured = {**measured, **fresh}
        ok = {k: v for k, v in fresh.items() if "min_arena" in v}
        if ok and record is not None:
            record_truth(record, rel, model.sha256, ok)
    for k in KERNELS:
        cell: dict[str, Any] = {}
        try:
            cell["computed"] = compute_arena(model, kernels=k).total
        except TinygenError as exc:
            cell["error"] = str(exc)
        m = measured.get(k)
        if isinstance(m, dict) and "min_arena" in m:
            cell["measured"] = m["min_arena"]
        elif isinstance(m, dict) and "measure_error" in m:
            cell["measure_error"] = m["measure_error"]
        if "computed" in cell and "measured" in cell:
            cell["delta"] = cell["computed"] - cell["measured"]
        out[k] = cell
    return out


def measure_arena(model: Any, kernels: list[str], guesses: dict[str, int] | None = None) -> dict[str, Any]:
    """{kernels: arena_search entry} or {kernels: {"measure_error": why}} when the firmware does
    not build or TFLM fails even with arena_search's largest arena."""
    import arena_search  # bench/arena_search.py

    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        return {}
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tinygen-corpus-arena-") as tmp:
        for k in kernels:
            if arena_search.tflm_lib(Path(tflm_dir), k, Path(tmp)) is None:
                continue
            try:
                res[k] = arena_search.measure(model, Path(tflm_dir), k, Path(tmp), (guesses or {}).get(k),
                                              log=sys.stderr)
                if arena_search.resource_slots(model):
                    res[k]["resource_slots"] = arena_search.resource_slots(model)
            except SystemExit as exc:  # arena_search's way of saying "cannot measure this one"
                res[k] = {"measure_error": str(exc.code).strip().splitlines()[0][:200]}
    return res


def record_truth(truth_path: Path, rel: str, sha256: str, measured: dict[str, Any]) -> None:
    """Merge measured minimums ({kernels: arena_search entry}) into arena_truth.json's
    `corpus_models` section under the model's corpus-relative path, with its sha256."""
    truth = json.loads(truth_path.read_text()) if truth_path.is_file() else {}
    section = truth.setdefault("corpus_models", {})
    entry = section.setdefault(rel, {"sha256": sha256})
    entry["sha256"] = sha256
    entry.update({k: v for k, v in measured.items() if k in KERNELS})
    truth["corpus_models"] = dict(sorted(section.items()))
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")


def host_compare(model: Any, runs: int) -> dict[str, Any]:
    from tinygen.hostrun.check import check_random

    try:
        r = check_random(model, runs=runs)
    except TinygenError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": r.ok, "runs": r.runs, "mismatched_runs": r.mismatched_runs, "max_abs_diff": r.max_abs_diff}


def firmware_sizes(model: Any, runtime: str) -> dict[str, int] | None:
    """text/data/bss of the HIL firmware `verify` built for this model (its cache directory)."""
    from tinygen.hostrun.qemu import elf_sizes
    from tinygen.verify.firmware import cache_dir

    elfs = sorted((cache_dir() / f"qemu-m4-{runtime}-{model.sha256[:16]}").glob(".pio/build/*/firmware.elf"))
    if not elfs:
        return None
    text, data, bss = elf_sizes(elfs[0])
    return {"text": text, "data": data, "bss": bss}


def verify(path: Path, runtime: str, runs: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "tinygen.cli.main", "verify", "--board", "qemu-m4", "--model", str(path),
           "--random", str(runs), "--runtime", runtime, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    row: dict[str, Any] = {"exit_code": proc.returncode, "ok": proc.returncode == 0}
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        doc = {}
    if doc:
        row["summary"] = {k: doc[k] for k in ("planned", "completed", "mismatches", "error") if k in doc}
        perf = doc.get("performance") or {}
        # what the firmware users get measured on the device: instructions per inference, arena
        row["performance"] = {k: perf[k] for k in ("cost_per_inference", "cost_unit", "arena_size", "arena_used",
                                                   "stack_used") if k in perf}
        row["max_abs_error"] = max((o.get("max_abs_error", 0) for o in doc.get("outputs", [])), default=0)
        if isinstance(doc.get("reference"), dict):  # what the outputs were compared with (docs/verify.md)
            row["reference"] = doc["reference"].get("kind")
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        row["error"] = lines[-2:] if lines else []
    return row


def bench(model: Any, runs: int, work: Path, base: int) -> dict[str, Any]:
    """AOT vs TFLM on QEMU, as bench/run.py measures it (same inputs, outputs compared)."""
    import numpy as np
    from run import build_tflm, flash

    from tinygen.codegen import aot
    from tinygen.hostrun import qemu
    from tinygen.hostrun.check import random_input

    rng = np.random.default_rng(0)
    records = [[random_input(t, rng) for t in model.inputs] for _ in range(runs)]
    sizes = aot.sizes(model)
    w = work / model.sha256[:16]
    elf = qemu.build_elf(aot.generate(model, "m"), w / "aot")
    outs, counts = qemu.run_elf(elf, model, records)
    row: dict[str, Any] = {"aot": {"ram": sizes.ram, "flash": flash(elf) - base,
                                   "instructions": int(np.median(counts))}}
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    for k in KERNELS if tflm_dir else ():
        telf = build_tflm(model, Path(tflm_dir), k, w / k)
        if telf is None:
            continue
        touts, tcounts = qemu.run_elf(telf, model, records)
        row[k] = {"flash": flash(telf) - base, "instructions": int(np.median(tcounts)),
                  "outputs_equal_aot": all(np.array_equal(a[0], b[0]) for a, b in zip(outs, touts))}
    return row


def run_model(path: Path, folder: Path, stages: set[str], truth: dict[str, dict[str, Any]], runs: int,
              measure: str, work: Path, base: int | None, record: Path | None = None) -> dict[str, Any]:
    rel = str(path.relative_to(folder))
    try:
        model, row = intake(path)
    except TinygenError as exc:
        return {"model": rel, "verdict": "unreadable", "accepted": False,
                "refusal": str(exc).removeprefix(f"{path}: "), "exit_code": exc.exit_code}
    row = {"model": rel, **row}
    if not row["accepted"]:
        return row
    if "arena" in stages:
        row["arena"] = arena(model, truth, measure, rel, record)
    if "run" in stages:
        row["run"] = host_compare(model, runs)
    if "verify" in stages:
        row["verify"] = {rt: verify(path, rt, runs) for rt in ("aot", "tflm")}
        for rt, v in row["verify"].items():
            fw = firmware_sizes(model, rt)
            if fw:
                v["firmware"] = fw
    if "bench" in stages and base is not None and row.get("run", {}).get("ok", True):
        try:
            row["bench"] = bench(model, 3, work, base)
        except (TinygenError, subprocess.CalledProcessError) as exc:
            row["bench"] = {"error": str(exc)}
    return row


# ---- the table -------------------------------------------------------------------------------------

def _ops(ops: dict[str, int]) -> str:
    return ", ".join(f"{k}" + (f" x{v}" if v > 1 else "") for k, v in ops.items())


def _arena_cell(a: dict[str, Any] | None) -> str:
    if not a:
        return "-"
    if "error" in a:
        return "no model"
    c, m = a.get("computed"), a.get("measured")
    if m is None:
        return f"{c:,} / not measurable" if "measure_error" in a else f"{c:,} / ?"
    return f"{c:,} / {m:,}" + ("" if c == m else f" ({c - m:+d})")


def _check_cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    if r.get("ok"):
        return "bit-exact"
    summ = r.get("summary", {})
    if summ.get("mismatches") and not summ.get("error"):  # verify ran every input, some differ
        done = summ.get("completed", 0)
        return f"{done - summ['mismatches']}/{done} exact, max err {r.get('max_abs_error', '?')}"
    if "error" in r:
        err = r["error"]
        first = (err[0] if err else "") if isinstance(err, list) else str(err)
        first = first.removeprefix("error: ").split(" (limits")[0].split("; full log")[0]
        code = f" (exit {r['exit_code']})" if "exit_code" in r else ""
        return f"fails{code}: {first[:110]}"
    return f"{r.get('mismatched_runs', '?')}/{r.get('runs', '?')} differ"


def _device_cell(r: dict[str, Any], key: str) -> str:
    """AOT / TFLM from the firmware verify ran: arena bytes the device reports ("arena"), firmware
    text+data ("flash"), instructions per inference ("instructions")."""
    vals = []
    for rt in ("aot", "tflm"):
        v = r.get("verify", {}).get(rt, {})
        perf, fw = v.get("performance", {}), v.get("firmware")
        if key == "arena":
            vals.append(perf.get("arena_size"))
        elif key == "flash":
            vals.append(fw["text"] + fw["data"] if fw else None)
        else:
            vals.append(round(perf["cost_per_inference"]) if "cost_per_inference" in perf else None)
    if not any(vals):
        return "-"
    cell = " / ".join(f"{x:,}" if x else "-" for x in vals)
    if key == "instructions" and all(vals):
        cell += f" ({vals[0] / vals[1]:.2f}x)"
    return cell


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| model | verdict | ops | arena ref: computed / measured | arena CMSIS-NN: computed / measured "
            "| run --compare | verify aot | verify tflm | arena: AOT / TFLM | firmware flash: AOT / TFLM "
            "| instructions: AOT / TFLM |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        verdict = r["verdict"] if r.get("accepted") else f"refused ({r.get('refusal') or r.get('reason', '')})"
        a, v = r.get("arena", {}), r.get("verify", {})
        cells = [r["model"], verdict, _ops(r.get("ops", {})), _arena_cell(a.get("reference")),
                 _arena_cell(a.get("cmsis-nn")), _check_cell(r.get("run")), _check_cell(v.get("aot")),
                 _check_cell(v.get("tflm")), _device_cell(r, "arena"),
                 _device_cell(r, "flash"), _device_cell(r, "instructions")]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """The counts above the table: verdicts, and per stage how many models ran and passed."""
    from collections import Counter

    def kind(r: dict[str, Any]) -> str:
        if r.get("accepted"):
            return r["verdict"]
        return "refused " + (r["verdict"] if r["verdict"] in ("float", "hybrid", "unreadable") else "(ops)")

    verdicts = Counter(kind(r) for r in rows)
    acc = [r for r in rows if r.get("accepted")]
    runs = [r["run"] for r in acc if "run" in r]
    lines = [f"- {len(rows)} models: " + ", ".join(f"{n} {k}" for k, n in sorted(verdicts.items())),
             f"- run --compare: {sum(1 for x in runs if x.get('ok'))}/{len(runs)} bit-exact"]
    for k in KERNELS:
        cells = [r["arena"][k] for r in acc if k in r.get("arena", {})]
        meas = [c for c in cells if "measured" in c]
        exact = sum(1 for c in meas if 0 <= c["delta"] <= 16)
        lines.append(f"- arena, {k} kernels: computed for {sum(1 for c in cells if 'computed' in c)}/{len(cells)}, "
                     f"measured for {len(meas)}, computed = measured (+0..16 B) for {exact}/{len(meas)}"
                     + (f"; not measurable {sum(1 for c in cells if 'measure_error' in c)}"
                        if any("measure_error" in c for c in cells) else ""))
    for rt in ("aot", "tflm"):
        ver = [r["verify"][rt] for r in acc if rt in r.get("verify", {})]
        bad = Counter(_check_cell(v) for v in ver if not v.get("ok"))
        lines.append(f"- verify --runtime {rt} on qemu-m4: run on {len(ver)}, bit-exact {sum(1 for v in ver if v.get('ok'))}"
                     + "".join(f"; {n} x {k}" for k, n in sorted(bad.items())))
    return "\n".join(lines)


def run_corpus(folder: Path, stages: set[str], match: str = "", runs: int = 5, measure: str = "",
               log: Any = sys.stderr, record: Path | None = None, exclude: tuple[str, ...] = (),
               json_out: Path | None = None) -> list[dict[str, Any]]:
    """Rows per model; with json_out, the rows so far are rewritten there after every model."""
    truth = truth_by_sha(json.loads(TRUTH.read_text())) if TRUTH.is_file() else {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinygen-corpus-") as tmp:
        work = Path(tmp)
        base = None
        if "bench" in stages:
            from run import baseline_flash

            base = baseline_flash(work)
        for path in corpus_models(folder, match, exclude):
            print(f"corpus {path.relative_to(folder)}", file=log, flush=True)
            rows.append(run_model(path, folder, stages, truth, runs, measure, work, base, record))
            if json_out is not None:
                write_json(json_out, rows)
    return rows


def write_json(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"schema": "tinygen.corpus", "schema_version": 1, "rows": rows}, indent=1))


def combine(files: list[Path]) -> list[dict[str, Any]]:
    """Rows of several runs (e.g. intake+arena+run over all, verify over a subset) merged by model:
    a later file's stages replace an earlier one's, stages it did not run are kept."""
    merged: dict[str, dict[str, Any]] = {}
    for f in files:
        for r in json.loads(f.read_text())["rows"]:
            merged.setdefault(r["model"], {}).update(r)
    return [merged[k] for k in sorted(merged)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=os.environ.get("TINYGEN_MODEL_CORPUS"))
    ap.add_argument("--stages", default="intake,arena,run", help=f"comma-separated, from {','.join(STAGES)}")
    ap.add_argument("--match", default="", help="only models whose relative path contains this")
    ap.add_argument("--exclude", action="append", default=[], help="skip models whose relative path contains this")
    ap.add_argument("--runs", type=int, default=5, help="random inputs per check")
    ap.add_argument("--measure-arena", nargs="?", const="missing", default="", choices=("missing", "all"),
                    help="measure arenas now (bench/arena_search.py): the kernel sets arena_truth.json lacks, or all")
    ap.add_argument("--record", type=Path, default=None,
                    help="with --measure-arena: merge the measurements into this arena_truth.json (corpus_models)")
    ap.add_argument("--json", type=Path, help="write the rows here (rewritten after every model)")
    ap.add_argument("--combine", type=Path, nargs="+", help="run nothing: merge these --json outputs (later wins)")
    ap.add_argument("--markdown", type=Path)
    args = ap.parse_args()
    if args.combine:
        rows = combine(args.combine)
        if args.json:
            write_json(args.json, rows)
        table = markdown(rows)
        if args.markdown:
            args.markdown.write_text(summary(rows) + "\n\n" + table + "\n")
        print(table)
        return 0
    if args.folder is None or not Path(args.folder).is_dir():
        ap.error("give a corpus folder or set TINYGEN_MODEL_CORPUS")
    stages = set(args.stages.split(","))
    unknown = stages - set(STAGES)
    if unknown:
        ap.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    rows = run_corpus(Path(args.folder), stages, args.match, args.runs, args.measure_arena, record=args.record,
                      exclude=tuple(args.exclude), json_out=args.json)
    table = markdown(rows)
    if args.markdown:
        args.markdown.write_text(summary(rows) + "\n\n" + table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
