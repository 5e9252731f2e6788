"""The TFLM tensor arena a model needs on a 32-bit microcontroller, to the byte.

`compute_arena(model)` replays what TensorFlow Lite Micro (the commit tinygen pins) does inside
the arena during MicroInterpreter::AllocateTensors - struct by struct for the target's ABI, kernel
by kernel for the chosen kernel set, with TFLM's greedy memory planner - and searches the
smallest arena size with which it succeeds. Invoke allocates nothing further.

`total` is that smallest size. It can be larger than `arena_used_bytes()` reports afterwards:
the planner borrows all free arena memory (40 bytes per planned buffer) while planning, and
the tail, aligned down from the arena end, cannot always shift by a byte. `head` (planned
activations and scratch buffers) + `tail` (persistent data) is what stays in use.
Checked against QEMU runs of TFLM on a Cortex-M4 (tests/data/arena_truth.json, docs/arena.md).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..errors import ModelError, UnsupportedOpError, UsageError
from ..model import ModelInfo
from .abi import CORTEX_M, HOST64, Abi
from .planner import plan
from .tflm import ArenaTooSmall, Result, UnsupportedByModel, simulate, smallest_arena

TFLM_COMMIT = "90b983c"
KERNELS = ("reference", "cmsis-nn")
# Plans already computed in this process, by model content (inspect, convert and build of one model
# each ask for the same plans).
_PLANS: OrderedDict[tuple[object, ...], ArenaPlan] = OrderedDict()
_PLANS_KEPT = 32


@dataclass(frozen=True)
class Target:
    """What the arena depends on besides the model: struct layout and, for CMSIS-NN, CPU features."""

    abi: Abi
    dsp: bool  # Armv7E-M/Armv8-M DSP extension: CMSIS-NN asks for some scratch buffers only then


# All 32-bit Cortex-M cores share the AAPCS layout. MVE cores (M55, M85) use other CMSIS-NN
# kernels with other buffer sizes and are not modelled.
TARGETS: dict[str, Target] = {
    "cortex-m0": Target(CORTEX_M, dsp=False), "cortex-m0plus": Target(CORTEX_M, dsp=False),
    "cortex-m3": Target(CORTEX_M, dsp=False), "cortex-m4": Target(CORTEX_M, dsp=True),
    "cortex-m7": Target(CORTEX_M, dsp=True), "cortex-m33": Target(CORTEX_M, dsp=True),
    "host64": Target(HOST64, dsp=False),  # the PyPI tflite-micro interpreter's ABI, for cross-checks
}
# Tail categories, in the order TFLM allocates them.
TAIL_CATEGORIES = (
    "runtime_objects", "resource_variables", "eval_tensors", "node_and_registration",
    "builtin_data", "op_data", "scratch_buffer_handles", "variable_tensors",
    "persistent_tensors", "quantization_data",
)


@dataclass(frozen=True)
class ArenaPlan:
    """The arena for one model, kernel set and target. All sizes in bytes."""

    model: str
    kernels: str
    target: str
    total: int  # smallest arena with which AllocateTensors and Invoke succeed
    head: int  # planned non-persistent memory: activations + kernel scratch buffers
    tail: int  # persistent memory at `total` (includes TFLM's alignment padding)
    breakdown: dict[str, int] = field(default_factory=dict)
    limited_by: str = ""  # the step of AllocateTensors that fails with one byte less
    planned_buffers: int = 0
    resource_variables: int = 0

    @property
    def arena_used_bytes(self) -> int:
        """What MicroInterpreter::arena_used_bytes() reports with an arena of `total` bytes."""
        return self.head + self.tail

    @property
    def slack(self) -> int:
        """total - arena_used_bytes: memory needed only during AllocateTensors (when `limited_by`
        is the memory planning) or alignment slack of the 16-byte aligned tail (otherwise)."""
        return self.total - self.arena_used_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kernels": self.kernels,
            "target": self.target,
            "tflm_commit": TFLM_COMMIT,
            "total": self.total,
            "head": self.head,
            "tail": self.tail,
            "arena_used_bytes": self.arena_used_bytes,
            "slack": self.slack,
            "limited_by": self.limited_by,
            "planned_buffers": self.planned_buffers,
            "resource_variables": self.resource_variables,
            "breakdown": dict(self.breakdown),
        }


def compute_arena(model: ModelInfo, kernels: str = "reference", target: str = "cortex-m4",
                  resource_variables: int | None = None) -> ArenaPlan:
    """The smallest TFLM arena for `model`, split into head and tail with a per-category breakdown.

    `resource_variables` is the N passed to MicroResourceVariables::Create (created from the same
    allocator before the interpreter); by default one slot per VAR_HANDLE operator.
    """
    if kernels not in KERNELS:
        raise UsageError(f"unknown kernel set '{kernels}' (choose from {', '.join(KERNELS)})")
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}' (choose from {', '.join(TARGETS)})")
    key = (model.sha256, model.path.name, _fingerprint(model), kernels, target, resource_variables)
    if key in _PLANS:
        _PLANS.move_to_end(key)
        cached = _PLANS[key]
        return dataclasses.replace(cached, breakdown=dict(cached.breakdown))
    t = TARGETS[target]
    try:
        result = smallest_arena(model, kernels, t.abi, resource_variables, t.dsp)
    except UnsupportedByModel as exc:
        msg = str(exc)
        cls = UnsupportedOpError if "op " in msg else ModelError
        raise cls(f"{model.path.name}: cannot compute the TFLM arena: {msg}",
                  hint="size the arena by hand (--arena-size BYTES, measured on the device)") from exc
    plan_ = _plan_from(model, result, kernels, target)
    _PLANS[key] = plan_
    while len(_PLANS) > _PLANS_KEPT:
        _PLANS.popitem(last=False)
    return dataclasses.replace(plan_, breakdown=dict(plan_.breakdown))


def _fingerprint(model: ModelInfo) -> int:
    """What the plan depends on besides the file's bytes (a ModelInfo edited in memory keeps its sha256)."""
    return hash(tuple((op.op, op.inputs, op.outputs, op.custom_options) for sg in model.subgraphs
                      for op in sg.operators)
                + tuple((t.dtype, t.shape, t.buffer, t.is_variable, t.is_constant, t.quantization)
                        for sg in model.subgraphs for t in sg.tensors))


def _plan_from(model: ModelInfo, r: Result, kernels: str, target: str) -> ArenaPlan:
    breakdown = {c: r.tail_by_category.get(c, 0) for c in TAIL_CATEGORIES}
    activations = _activations_only(r)
    breakdown["activations"] = activations
    breakdown["scratch_buffers"] = r.head - activations
    breakdown["slack"] = r.arena_size - r.used
    return ArenaPlan(
        model=model.path.name, kernels=kernels, target=target, total=r.arena_size, head=r.head,
        tail=r.tail, breakdown=breakdown, limited_by=r.fails_below_at,
        planned_buffers=r.planned_buffers, resource_variables=r.resource_variables,
    )


def _activations_only(r: Result) -> int:
    """Head size the plan would need without the kernels' scratch buffers."""
    tensors = [b for b in r.buffers if not b.scratch]
    return plan([b.buffer for b in tensors])[1] if tensors else 0


__all__ = ["KERNELS", "TARGETS", "TFLM_COMMIT", "ArenaPlan", "ArenaTooSmall", "Target", "compute_arena", "simulate"]
