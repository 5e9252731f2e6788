"""Prove an incremental (sliding-window) AOT model on the host before anything ships it.

`prove(model, plan, streams)` compiles the model's AOT C with NAME_run() incremental, slides a
window over each stream of frames one frame at a time (then two at a time, then with jumps, so
every path of the generated code runs), and compares every output with TFLM's interpreter on the
same window. The kws app turns incremental inference on only when this holds
(tinygen/kws/project.py); `tinygen convert --incremental` checks it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..codegen.aot.incremental import Analysis, Plan
from ..model import ModelInfo
from .compile import compile_sources
from .runner import HostModel


@dataclass
class Proof:
    windows: int = 0
    incremental: int = 0   # windows that reused earlier rows (the rest ran in full)
    mismatches: int = 0
    first_mismatch: str | None = None
    streams: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.windows > 0 and self.mismatches == 0

    def to_json(self) -> dict[str, object]:
        return {"windows": self.windows, "incremental": self.incremental, "mismatches": self.mismatches, "first_mismatch": self.first_mismatch,
                "streams": self.streams, "bit_exact": self.ok}


def random_stream(model: ModelInfo, frames: int, frame_bytes: int, seed: int = 0) -> np.ndarray:
    """int8 frames that drift slowly (neighbouring frames alike, like features) over the full range."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-24, 25, size=(frames, frame_bytes)), axis=0) + rng.integers(-128, 128, size=frame_bytes)
    return (((walk + 128) % 256) - 128).astype(np.int8)


def window_positions(total: int, window: int) -> list[int]:
    """Start frames of the windows slid over a stream: one frame at a time, then two at a time,
    a repeat, a jump back and on again (each of the generated code's paths)."""
    last = total - window
    if last < 0:
        return []
    pos = list(range(last + 1))
    tail = [p for p in range(0, last + 1, 2)]
    jumps = [last // 2, last // 2, 0, min(last, 1), min(last, 3), min(last, 4)]
    return pos + tail + jumps


def prove(model: ModelInfo, plan: Plan, streams: dict[str, np.ndarray], name: str = "inc") -> Proof:
    """Slide over every stream (frames x frame_bytes int8) and compare with TFLM window by window."""
    from ..codegen import aot
    from ..reference import Reference

    files = aot.generate(model, name, incremental=plan)
    host = HostModel(model, compile_sources(files).library, name)
    ref = Reference.from_bytes(model.data)
    t = model.inputs[0]
    proof = Proof()
    try:
        for label, frames in streams.items():
            frames = np.asarray(frames, dtype=np.int8).reshape(len(frames), -1)
            if frames.shape[1] != plan.frame_bytes:
                raise ValueError(f"stream {label}: frames of {frames.shape[1]} values, the model takes {plan.frame_bytes}")
            proof.streams.append(label)
            host.reset()
            hits = host.symbol(f"{name}_incremental_hits")
            for start in window_positions(len(frames), plan.frames):
                x = frames[start: start + plan.frames].reshape(t.shape)
                want = ref.run(x)
                got = host.invoke(x)
                proof.windows += 1
                if any(not np.array_equal(w.reshape(-1), g.reshape(-1)) for w, g in zip(want, got)):
                    proof.mismatches += 1
                    if proof.first_mismatch is None:
                        proof.first_mismatch = f"{label}: window at frame {start}"
            proof.incremental += hits()
    finally:
        host.close()
    return proof


@dataclass(frozen=True)
class Decision:
    """Whether a model runs incrementally: the analysis, and the proof when there is a plan."""

    analysis: Analysis
    proof: Proof | None

    @property
    def plan(self) -> Plan | None:
        """The plan, only when proven."""
        return self.analysis.plan if self.proof is not None and self.proof.ok else None

    @property
    def summary(self) -> str:
        a, plan = self.analysis, self.analysis.plan
        if plan is None:
            return f"incremental inference off: {a.reason}"
        if self.proof is None or not self.proof.ok:
            where = self.proof.first_mismatch if self.proof else "not checked"
            return f"incremental inference off: differs from the full window ({where})"
        ops = ", ".join(f"op {x.op_index} {x.op}" for x in plan.layers)
        return (f"incremental inference on for {ops}: {plan.macs_warm:,} of {plan.macs_total:,} MACs per "
                f"window moved on by one frame, +{plan.ram_bytes:,} B RAM; bit-exact with TFLM on "
                f"{self.proof.windows} windows of {len(self.proof.streams)} stream(s)")

    def to_json(self) -> dict[str, object]:
        return {"on": self.plan is not None, "summary": self.summary, **self.analysis.to_json(),
                "proof": self.proof.to_json() if self.proof else None}


def decide(model: ModelInfo, streams: dict[str, np.ndarray] | None = None, ram_budget: int | None = None) -> Decision:
    """Analyse `model`; prove the plan on `streams` plus a random stream. The plan is kept only
    when every window matches TFLM."""
    from ..codegen.aot.incremental import DEFAULT_RAM_BUDGET, analyse

    analysis = analyse(model, DEFAULT_RAM_BUDGET if ram_budget is None else ram_budget)
    plan = analysis.plan
    if plan is None:
        return Decision(analysis, None)
    todo = {k: v for k, v in (streams or {}).items() if np.asarray(v).reshape(len(v), -1).shape[1] == plan.frame_bytes}
    todo["random"] = random_stream(model, 2 * plan.frames + 4 * plan.phases + 8, plan.frame_bytes)
    return Decision(analysis, prove(model, plan, todo))
