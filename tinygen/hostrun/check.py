"""Compare a model's AOT C on the host with TFLM's interpreter, bit for bit, on random inputs.

One `HostModel` and one interpreter are kept for the whole run, so streaming models are compared
step by step with their state carried across invokes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model import ModelInfo, TensorInfo, load_model
from .runner import HostModel


@dataclass
class CheckResult:
    model: str
    runs: int = 0
    mismatched_runs: int = 0
    first_mismatch: int | None = None
    max_abs_diff: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.runs > 0 and self.mismatched_runs == 0

    def to_json(self) -> dict[str, object]:
        return {"model": self.model, "runs": self.runs, "mismatched_runs": self.mismatched_runs,
                "first_mismatch": self.first_mismatch, "max_abs_diff": self.max_abs_diff, "bit_exact": self.ok}


def random_input(t: TensorInfo, rng: np.random.Generator) -> np.ndarray:
    info = np.iinfo(np.dtype(t.dtype))
    values: np.ndarray = rng.integers(info.min, int(info.max) + 1, size=t.shape, dtype=np.int64).astype(t.dtype)
    return values


def check_random(model: str | Path | ModelInfo, runs: int = 10, seed: int = 0,
                 host: HostModel | None = None) -> CheckResult:
    """Run `runs` random inputs through both runtimes (one stream for streaming models)."""
    from ..reference import Reference

    info = model if isinstance(model, ModelInfo) else load_model(model)
    host = host or HostModel.build(info)
    ref = Reference.from_bytes(info.data)
    rng = np.random.default_rng(seed)
    res = CheckResult(str(info.path))
    for k in range(runs):
        xs = [random_input(t, rng) for t in info.inputs]
        want = ref.run(*xs)
        got = host.invoke(*xs)
        res.runs += 1
        diffs = [np.abs(w.astype(np.int64).reshape(-1) - g.astype(np.int64).reshape(-1)).max(initial=0)
                 for w, g in zip(want, got)]
        if any(d > 0 for d in diffs):
            res.mismatched_runs += 1
            res.max_abs_diff = max(res.max_abs_diff, int(max(diffs)))
            if res.first_mismatch is None:
                res.first_mismatch = k
    return res
