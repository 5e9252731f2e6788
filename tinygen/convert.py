"""Model -> C sources for one runtime. The library call behind `tinygen convert`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .arena import compute_arena
from .codegen import aot, tflm
from .codegen.aot import sizes
from .codegen.cnames import model_prefix
from .codegen.output import check_writable, remove_stale, write_files
from .errors import ModelError, UsageError
from .model import ModelInfo, check_deployable, load_model
from .report import Reporter, silent

RUNTIMES = ("tflm", "aot")
# What the last `convert` wrote into a folder: the next one into it removes what it no longer writes
# (another model's *_tg_runtime.c would otherwise be compiled with the new one).
MANIFEST = ".tinygen-convert.json"


@dataclass(frozen=True)
class ConvertResult:
    name: str
    runtime: str
    out_dir: Path
    files: tuple[str, ...]
    changed: tuple[str, ...]
    memory: dict[str, object] | None = None  # AOT RAM/flash next to the TFLM arena, for reports


def read_labels(path: Path | None) -> list[str] | None:
    """One class label per line, byte for byte: lines end at \\n (or \\r\\n) only, so other Unicode
    line breaks, tabs and spaces stay inside a label. Trailing empty lines are ignored; the file
    must be UTF-8 text."""
    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read labels file {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"labels file {path} is not UTF-8 text (byte {exc.start})",
                         hint="save it as UTF-8, one label per line") from exc
    lines = text.split("\n")
    labels = [line[:-1] if line.endswith("\r") else line for line in lines]
    while labels and labels[-1] == "":
        labels.pop()
    if not labels:
        raise UsageError(f"labels file {path} is empty")
    empty = next((i for i, label in enumerate(labels, 1) if label == ""), None)
    if empty is not None:
        raise UsageError(f"labels file {path}: line {empty} is empty", hint="one label per line, no blank lines")
    if "\0" in text:
        raise UsageError(f"labels file {path} contains a NUL character, which a C string cannot hold")
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
    name = model_prefix(name, model.path.stem)
    labels = read_labels(labels_path)
    reporter.step(f"generating {runtime} sources for {model.path.name} as '{name}'")
    files: dict[str, str | bytes] = dict(generate_sources(model, runtime, name, labels, arena_size, incremental))
    previous = _previous_files(Path(out_dir))
    files[MANIFEST] = json.dumps({"schema": "tinygen.convert", "schema_version": 1, "model": model.path.name,
                                  "runtime": runtime, "name": name, "files": sorted(files)}, indent=1) + "\n"
    changed = write_files(Path(out_dir), files)
    removed = remove_stale(Path(out_dir), previous, files)
    if removed:
        reporter.info(f"removed {len(removed)} file(s) an earlier conversion wrote: {', '.join(removed[:4])}"
                      + (" ..." if len(removed) > 4 else ""))
    memory = memory_report(model) if runtime == "aot" else None
    if memory and "aot" in memory:
        a, t = memory["aot"], memory.get("tflm_arena")
        vs = f" vs TFLM arena {t} B ({a['ram'] / t:.2f}x)" if t else ""  # type: ignore[index]
        reporter.info(f"AOT RAM {a['ram']} B (arena {a['arena']} + state {a['persistent']}){vs}; "  # type: ignore[index]
                      f"flash ~{a['flash']} B")  # type: ignore[index]
    return ConvertResult(
        name=name,
        runtime=runtime,
        out_dir=Path(out_dir),
        files=tuple(sorted(f for f in files if f != MANIFEST)),
        changed=tuple(sorted(p.name for p in changed if p.name != MANIFEST)),
        memory=memory,
    )


def _previous_files(out_dir: Path) -> list[str]:
    try:
        doc = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    files = doc.get("files") if isinstance(doc, dict) else None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def memory_report(model: ModelInfo) -> dict[str, object]:
    """AOT RAM/flash and, when the arena model can say, TFLM's reference-kernel arena."""
    report: dict[str, object] = {"aot": sizes(model).to_json()}
    try:
        report["tflm_arena"] = compute_arena(model, kernels="reference").total
    except ModelError:  # an op the TFLM arena model lacks: the AOT conversion does not need the figure
        pass
    return report
