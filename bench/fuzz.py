"""Long fuzzing run: mutated zoo models (bytes and flatbuffer structures) through inspect, arena
(both kernel sets), convert (both runtimes) and a sample of `run --compare`.

    nice python bench/fuzz.py --cases 100000 --workers 2 [--seed 1] [--compare-every 50]
        [--minutes M] [--out DIR]

Each worker runs its share of the cases (tests/fuzz/campaign.py, on hypothesis) in a private
temporary directory; at the end the run prints one JSON summary (cases per model and mutation
kind, exit codes per command, internal errors, hangs over 10 s of CPU, leftover files) and writes every
failing mutant to DIR/crashes/ (turn each into a regression file under tests/data/fuzz/); while it
runs, DIR/progress-N.json holds worker N's counts, renewed every 500 cases.
`--minutes` stops the workers when the time is up (the summary then says how many cases ran).
Needs the model zoo (../shared/models beside the repository, or --models DIR).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def zoo(models_dir: Path) -> list[Path]:
    return sorted(models_dir.glob("*/*.tflite"))


def _worker(args: tuple[int, int, int, int, str, str, float | None]) -> dict[str, object]:
    index, cases, run_seed, compare_every, models_dir, out, minutes = args
    from tests.fuzz.campaign import campaign
    from tests.fuzz.drive import private_tmpdir

    work = Path(tempfile.mkdtemp(prefix=f"worker{index}-", dir=out))
    tmp = private_tmpdir(work)
    # private caches too: host libraries of `run --compare` must not pile up in the user's cache
    os.environ["TINYGEN_CACHE_DIR"] = str(work / "cache")
    deadline = time.monotonic() + minutes * 60 if minutes else None
    start = time.monotonic()
    stats = campaign(zoo(Path(models_dir)), cases, run_seed, work, compare_every, Path(out) / "crashes", deadline,
                     Path(out) / f"progress-{index}.json")
    doc = stats.to_json()
    doc["seconds"] = round(time.monotonic() - start, 1)
    left = sorted(str(p.relative_to(work)) for p in tmp.rglob("*"))
    left += sorted(str(p.relative_to(work)) for p in work.glob("case-*"))
    doc["leftover_temp_files"] = left[:50]
    doc["leftover_temp_count"] = len(left)
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="processes (at most 2 on a shared machine)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare-every", type=int, default=50, help="run --compare on every Nth mutant intake accepts (0: never)")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    parser.add_argument("--models", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--out", type=Path, default=None, help="folder for crashes and the summary")
    a = parser.parse_args()
    if not zoo(a.models):
        print(f"no models under {a.models}", file=sys.stderr)
        return 2
    out = a.out or Path(tempfile.mkdtemp(prefix="tinygen-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    share = [a.cases // a.workers + (1 if i < a.cases % a.workers else 0) for i in range(a.workers)]
    jobs = [(i, n, a.seed * 1000 + i, a.compare_every, str(a.models), str(out), a.minutes) for i, n in enumerate(share)]
    start = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(a.workers) as pool:
        docs = pool.map(_worker, jobs)
    total: dict[str, object] = {
        "command": " ".join(["python", "bench/fuzz.py"] + sys.argv[1:]),
        "models": [p.name for p in zoo(a.models)],
        "cases": sum(int(d["cases"]) for d in docs),  # type: ignore[call-overload]
        "accepted_by_intake": sum(int(d["accepted"]) for d in docs),  # type: ignore[call-overload]
        "run_compare_cases": sum(int(d["run_compare_cases"]) for d in docs),  # type: ignore[call-overload]
        "internal_errors": sum(int(d["internal_errors"]) for d in docs),  # type: ignore[call-overload]
        "hangs_over_10s": sum(int(d["hangs"]) for d in docs),  # type: ignore[call-overload]
        "leftover_files": sum(int(d["leftover_files"]) + int(d["leftover_temp_count"]) for d in docs),  # type: ignore[call-overload]
        "slowest_case_seconds": max(float(d["slowest_case_seconds"]) for d in docs),  # type: ignore[arg-type]
        "slowest_case_cpu_seconds": max(float(d["slowest_case_cpu_seconds"]) for d in docs),  # type: ignore[arg-type]
        "slowest_command_cpu_seconds": max(float(d["slowest_command_cpu_seconds"]) for d in docs),  # type: ignore[arg-type]
        "wall_seconds": round(time.monotonic() - start, 1),
        "workers": docs,
        "out": str(out),
    }
    (out / "summary.json").write_text(json.dumps(total, indent=1) + "\n")
    brief = {k: v for k, v in total.items() if k != "workers"}
    brief["by_model"] = {}
    for d in docs:
        for k, v in d["by_model"].items():  # type: ignore[attr-defined]
            brief["by_model"][k] = brief["by_model"].get(k, 0) + v  # type: ignore[index,attr-defined]
    print(json.dumps(brief, indent=1))
    return 0 if not (total["internal_errors"] or total["hangs_over_10s"] or total["leftover_files"]) else 1


if __name__ == "__main__":
    sys.exit(main())
