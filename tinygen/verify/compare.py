"""Per-output comparison metrics, accumulated over inputs: exact-match rate, max abs error, RMSE,
cosine similarity, top-1 agreement. Errors are in integer (quantized) units: the device and the
reference share quantization, so "bit-exact" means max abs error 0."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OutputStats:
    """Running statistics for one model output."""

    name: str
    zero_point: int = 0     # cosine similarity is taken on (q - zero_point), proportional to real values
    count: int = 0
    exact: int = 0
    max_abs_error: int = 0
    _sq_sum: float = 0.0
    _elements: int = 0
    _cos_sum: float = 0.0
    top1_agree: int = 0
    mismatched_inputs: list[str] = field(default_factory=list)

    def add(self, case: str, got: np.ndarray, want: np.ndarray, tolerance: int = 0) -> bool:
        """Add one inference; True when within tolerance."""
        g = np.asarray(got).astype(np.int64).ravel()
        w = np.asarray(want).astype(np.int64).ravel()
        if g.shape != w.shape:
            raise ValueError(f"output {self.name}: device shape {g.shape} != reference shape {w.shape}")
        diff = np.abs(g - w)
        err = int(diff.max()) if diff.size else 0
        self.count += 1
        self.max_abs_error = max(self.max_abs_error, err)
        self._sq_sum += float((diff.astype(np.float64) ** 2).sum())
        self._elements += diff.size
        self._cos_sum += _cosine(g - self.zero_point, w - self.zero_point)
        if diff.size and int(np.argmax(g)) == int(np.argmax(w)):
            self.top1_agree += 1
        ok = err <= tolerance
        if err == 0:
            self.exact += 1
        if not ok:
            self.mismatched_inputs.append(case)
        return ok

    @property
    def exact_rate(self) -> float:
        return self.exact / self.count if self.count else 0.0

    @property
    def rmse(self) -> float:
        return math.sqrt(self._sq_sum / self._elements) if self._elements else 0.0

    @property
    def cosine(self) -> float:
        return self._cos_sum / self.count if self.count else 0.0

    @property
    def top1_rate(self) -> float:
        return self.top1_agree / self.count if self.count else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "zero_point": self.zero_point, "inferences": self.count, "exact": self.exact,
                "exact_match_rate": self.exact_rate, "max_abs_error": self.max_abs_error,
                "rmse": self.rmse, "cosine_similarity": self.cosine, "top1_agreement": self.top1_rate,
                "mismatched_inputs": list(self.mismatched_inputs)}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 1.0 if na == nb else 0.0  # both all-zero: identical
    return float(np.dot(a.astype(np.float64), b.astype(np.float64)) / (na * nb))


def compare_outputs(stats: list[OutputStats], case: str, got: list[np.ndarray], want: list[np.ndarray],
                    tolerance: int = 0) -> bool:
    """Add one inference to every output's stats; True when all are within tolerance."""
    return all([s.add(case, g, w, tolerance) for s, g, w in zip(stats, got, want)])
