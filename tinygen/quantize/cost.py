"""What a quantized model costs on the target, from tinygen's own estimates (no TensorFlow).

TFLM arena: `tinygen arena` (reference kernels, 32-bit Cortex-M). AOT RAM and flash: the AOT
generator's plan (`tinygen inspect`). Instructions per inference: the model's AOT C run on the
emulated Cortex-M4F (`hostrun.qemu`, the same measurement as bench/run.py) on one sample, when
arm-none-eabi-gcc and QEMU are installed. A figure a stage cannot give says why instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TinygenError
from ..model import parse_model
from ..model.cost import model_macs


@dataclass(frozen=True)
class Figure:
    value: int | None
    why_not: str | None = None

    def to_json(self) -> int | dict[str, str] | None:
        return self.value if self.why_not is None else {"unavailable": self.why_not}

    def text(self) -> str:
        return f"{self.value:,}" if self.value is not None else "n/a"


@dataclass(frozen=True)
class Cost:
    flatbuffer_bytes: int
    macs: int
    tflm_arena: Figure
    aot_ram: Figure
    aot_flash: Figure
    instructions: Figure   # AOT on the emulated Cortex-M4F, per inference

    def to_json(self) -> dict[str, Any]:
        return {"flatbuffer_bytes": self.flatbuffer_bytes, "macs": self.macs,
                "tflm_arena": self.tflm_arena.to_json(), "aot_ram": self.aot_ram.to_json(),
                "aot_flash": self.aot_flash.to_json(), "instructions": self.instructions.to_json()}

    def notes(self) -> list[str]:
        seen: list[str] = []
        for f in (self.tflm_arena, self.aot_ram, self.instructions):
            if f.why_not and f.why_not not in seen:
                seen.append(f.why_not)
        return seen


def estimate(flatbuffer: bytes, sample: np.ndarray, measure: bool = True) -> Cost:
    """Arena, AOT RAM/flash and (with `measure`) instructions for one quantized model."""
    from ..arena import compute_arena
    from ..codegen.aot import sizes

    model = parse_model(flatbuffer)
    try:
        arena = Figure(compute_arena(model, kernels="reference").total)
    except TinygenError as exc:
        arena = Figure(None, f"TFLM arena: {exc.message}")
    try:
        s = sizes(model)
        ram, flash = Figure(s.ram), Figure(s.flash)
    except TinygenError as exc:
        ram = flash = Figure(None, f"AOT: {exc.message}")
    instructions = Figure(None, "not measured")
    if measure and ram.value is not None:
        instructions = _instructions(model, sample)
    elif ram.why_not:
        instructions = Figure(None, ram.why_not)
    return Cost(len(flatbuffer), model_macs(model), arena, ram, flash, instructions)


def _instructions(model: Any, sample: np.ndarray) -> Figure:
    from ..hostrun.qemu import run_on_m4
    from ..reference import Reference

    spec = Reference.from_bytes(model.data).inputs[0]
    try:
        run = run_on_m4(model, [[spec.quantize(sample[None, ...])]])
    except TinygenError as exc:
        return Figure(None, f"instructions: {exc.message}")
    return Figure(run.instructions[0])
