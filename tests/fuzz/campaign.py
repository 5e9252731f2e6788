"""A fuzzing campaign on hypothesis: cases are (zoo model, byte or structural mutation, seed), each
mutated and driven through the CLI (drive.run_case); failures are saved as regression files.

Hypothesis generates the cases (seeded, so a run is reproducible) and never sees a failure: every
outcome is recorded and the campaign goes on, so one run reports all it finds. The short run in
tests/test_fuzz.py and the long one of bench/fuzz.py are the same code with other numbers.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .drive import CaseResult, run_case
from .mutate import byte_mutation, data_ranges, structural_mutation

KINDS = ("bytes", "struct")


@dataclass
class Stats:
    cases: int = 0
    by_model: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[str] = field(default_factory=Counter)
    accepted: int = 0  # cases intake accepted: every command ran on them
    compared: int = 0
    internal: int = 0
    hangs: int = 0
    leftovers: int = 0
    slowest: float = 0.0  # wall seconds of the slowest case
    slowest_cpu: float = 0.0  # CPU seconds of the case that used most (commands + run --compare child)
    slowest_command_cpu: float = 0.0  # the most CPU one command used (the hang bound applies to this)
    failures: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"cases": self.cases, "by_model": dict(sorted(self.by_model.items())),
                "by_kind": dict(self.by_kind), "exit_codes": dict(sorted(self.exit_codes.items())), "accepted": self.accepted,
                "run_compare_cases": self.compared, "internal_errors": self.internal, "hangs": self.hangs,
                "leftover_files": self.leftovers, "slowest_case_seconds": round(self.slowest, 2),
                "slowest_case_cpu_seconds": round(self.slowest_cpu, 2),
                "slowest_command_cpu_seconds": round(self.slowest_command_cpu, 2),
                "failures": self.failures}


def mutant(data: bytes, kind: str, case_seed: int, skip: list[tuple[int, int]]) -> bytes:
    rnd = random.Random(case_seed)
    return byte_mutation(data, rnd, skip) if kind == "bytes" else structural_mutation(data, rnd)


def campaign(models: list[Path], cases: int, run_seed: int, workdir: Path, compare_every: int = 0,
             crash_dir: Path | None = None, deadline: float | None = None, progress: Path | None = None) -> Stats:
    """Run `cases` mutated models (fewer when `deadline`, a time.monotonic() value, passes first);
    every 500 cases the counts so far go to `progress` (a JSON file) when given."""
    originals = {p: p.read_bytes() for p in models}
    skips = {p: data_ranges(d) for p, d in originals.items()}
    stats = Stats()

    @settings(max_examples=cases, deadline=None, database=None, derandomize=False, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seed(run_seed)
    @given(model=st.sampled_from(models), kind=st.sampled_from(KINDS), case_seed=st.integers(0, 2**32 - 1))
    def one(model: Path, kind: str, case_seed: int) -> None:
        if deadline is not None and time.monotonic() > deadline:
            return
        data = mutant(originals[model], kind, case_seed, skips[model])
        compare = bool(compare_every) and stats.accepted % compare_every == 0  # every Nth accepted mutant
        start = time.monotonic()
        result = run_case(data, workdir, compare=compare)
        _record(stats, model, kind, case_seed, data, result, compare, time.monotonic() - start, crash_dir)
        if progress is not None and stats.cases % 500 == 0:
            doc = {k: v for k, v in stats.to_json().items() if k not in ("failures", "exit_codes")}
            progress.write_text(json.dumps(doc) + "\n")

    one()
    return stats


def _record(stats: Stats, model: Path, kind: str, case_seed: int, data: bytes, result: CaseResult, compare: bool,
            seconds: float, crash_dir: Path | None) -> None:
    stats.cases += 1
    stats.by_model[model.name] += 1
    stats.by_kind[kind] += 1
    stats.accepted += int(result.accepted)
    stats.compared += int(any(o.command == "run --compare" for o in result.outcomes))
    stats.slowest = max(stats.slowest, seconds)
    stats.slowest_cpu = max(stats.slowest_cpu, sum(o.cpu_seconds for o in result.outcomes))
    stats.slowest_command_cpu = max([stats.slowest_command_cpu] + [o.cpu_seconds for o in result.outcomes])
    for o in result.outcomes:
        stats.exit_codes[f"{o.command}: {o.exit_code}"] += 1
    if not result.failed:
        return
    stats.internal += int(any(o.internal for o in result.outcomes))
    stats.hangs += int(bool(result.hang))
    stats.leftovers += len(result.leftovers)
    sha = hashlib.sha256(data).hexdigest()[:16]
    entry: dict[str, object] = {"model": model.name, "kind": kind, "seed": case_seed, "sha": sha,
                                "summary": result.summary()[-2000:]}
    stats.failures.append(entry)
    if crash_dir is not None:
        crash_dir.mkdir(parents=True, exist_ok=True)
        (crash_dir / f"{model.stem}-{kind}-{sha}.tflite").write_bytes(data)
        (crash_dir / f"{model.stem}-{kind}-{sha}.json").write_text(json.dumps(entry, indent=1) + "\n")
