"""Model -> C sources for one runtime. The library call behind `tinygen convert`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arena import compute_arena
from .codegen import aot, tflm
from .codegen.aot import sizes
from .errors import ModelError, UsageError
from .model import ModelInfo, check_deployable, load_model
from .codegen.cnames import c_identifier
from .codegen.output import check_writable, write_files
from .report import Reporter, silent

RUNTIMES = ("tflm", "aot")


@dataclass(frozen=True)
class ConvertResult:
    name: str
    runtime: str
    out_dir: Path
    files: tuple[str, ...]
    changed: tuple[str, ...]
    memory: dict[str, object] | None = None  # AOT RAM/flash next to the TFLM arena, for reports


def read_labels(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    try:
        labels = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise UsageError(f"cannot read labels file {path}: {exc.strerror}") from exc
    if not labels:
        raise UsageError(f"labels file {path} is empty")
    return labels


def tflm_arena_sizes(model: ModelInfo) -> tflm.ArenaSizes:
    return tflm.ArenaSizes(
        reference=compute_arena(model, kernels="reference").total,
        cmsis_nn=compute_arena(model, kernels="cmsis-nn").total,
    )


def generate_sources(model: ModelInfo, runtime: str, name: str, labels: list[str] | None,
                     arena_size: int | None = None, incremental: Any = None) -> dict[str, str]:
    """The files one runtime needs, keyed by file name (nothing written).

    `arena_size` overrides the computed TFLM arena (for ops the arena model does not cover);
    `incremental` is an AOT incremental plan (codegen/aot/incremental.py, proven by the caller)."""
    if runtime == "tflm":
        sizes = tflm.ArenaSizes(arena_size, arena_size) if arena_size else tflm_arena_sizes(model)
        return tflm.generate(model, name, labels, sizes)
    if runtime == "aot":
        return aot.generate(model, name, labels, incremental=incremental)
    raise UsageError(f"unknown runtime '{runtime}' (choose from {', '.join(RUNTIMES)})")


def convert(
    model_path: str | Path,
    out_dir: str | Path,
    name: str | None = None,
    runtime: str = "tflm",
    labels_path: Path | None = None,
    reporter: Reporter | None = None,
    arena_size: int | None = None,
    incremental: Any = None,
) -> ConvertResult:
    reporter = reporter or silent()
    check_writable(Path(out_dir))
    model = load_model(model_path)
    check_deployable(model)
    name = c_identifier(name) if name else c_identifier(model.path.stem)
    labels = read_labels(labels_path)
    reporter.step(f"generating {runtime} sources for {model.path.name} as '{name}'")
    files = generate_sources(model, runtime, name, labels, arena_size, incremental)
    changed = write_files(Path(out_dir), files)
    memory = memory_report(model) if runtime == "aot" else None
    if memory and "aot" in memory:
        a, t = memory["aot"], memory.get("tflm_arena")
        vs = f" vs TFLM arena {t} B ({a['ram'] / t:.2f}x)" if t else ""  # type: ignore[index,operator]
        reporter.info(f"AOT RAM {a['ram']} B (arena {a['arena']} + state {a['persistent']}){vs}; "  # type: ignore[index]
                      f"flash ~{a['flash']} B")  # type: ignore[index]
    return ConvertResult(
        name=name,
        runtime=runtime,
        out_dir=Path(out_dir),
        files=tuple(sorted(files)),
        changed=tuple(sorted(p.name for p in changed)),
        memory=memory,
    )


def memory_report(model: ModelInfo) -> dict[str, object]:
    """AOT RAM/flash and, when the arena model can say, TFLM's reference-kernel arena."""
    report: dict[str, object] = {"aot": sizes(model).to_json()}
    try:
        report["tflm_arena"] = compute_arena(model, kernels="reference").total
    except ModelError:  # an op the TFLM arena model lacks: the AOT conversion does not need the figure
        pass
    return report
