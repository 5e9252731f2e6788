"""tinygen's ahead-of-time runtime: a model as plain C (no interpreter, no flatbuffer on device).

`generate(model, name, labels)` returns every file of a self-contained C directory; `build` gives the
lowered, planned model for callers that want sizes (`inspect`, `convert`, `bench`).
Op lowerings live in `ops/` behind a registry (docs/aot.md); kernels in firmware/aot/.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model import ModelInfo
from .generator import AotModel, build

__all__ = ["AotModel", "AotSizes", "build", "generate", "sizes"]


@dataclass(frozen=True)
class AotSizes:
    arena: int        # activation arena incl. scratch
    persistent: int   # resource variables + kernel state
    const: int        # weights, tables and parameter blocks (flash data)

    @property
    def ram(self) -> int:
        return self.arena + self.persistent

    def to_json(self) -> dict[str, int]:
        return {"arena": self.arena, "persistent": self.persistent, "ram": self.ram, "const": self.const}


def generate(model: ModelInfo, name: str, labels: list[str] | None = None) -> dict[str, str]:
    """All files of the AOT C directory for `model`, keyed by file name."""
    from .emit import all_files

    return all_files(build(model, name), labels)


def sizes(model: ModelInfo, name: str = "model") -> AotSizes:
    m = build(model, name)
    return AotSizes(m.arena_bytes, m.persistent_bytes, m.const_bytes)
