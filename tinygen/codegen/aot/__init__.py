"""tinygen's ahead-of-time runtime: a model as plain C (no interpreter, no flatbuffer on device).

`generate(model, name, labels)` returns every file of a self-contained C directory; `build` gives the
lowered, planned model for callers that want sizes (`inspect`, `convert`, `bench`).
Op lowerings live in `ops/` behind a registry (docs/aot.md); kernels in firmware/aot/.
"""

from __future__ import annotations

from ...model import ModelInfo
from .generator import AotModel, build
from .incremental import Plan
from .sizes import AotSizes, sizes

__all__ = ["AotModel", "AotSizes", "build", "generate", "sizes"]


def generate(model: ModelInfo, name: str, labels: list[str] | None = None,
             incremental: Plan | None = None) -> dict[str, str]:
    """All files of the AOT C directory for `model`, keyed by file name; with an `incremental`
    plan (incremental.analyse) NAME_run() reuses rows earlier windows computed."""
    from .emit import all_files

    m = build(model, name, row_pipelines=incremental is None)
    if incremental is not None:
        from .incremental import apply

        m = apply(m, incremental)
    return all_files(m, labels)
