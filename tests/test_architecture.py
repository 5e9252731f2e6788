"""The stage order of docs/architecture.md, enforced: every import inside tinygen/ points down the
pipeline (to the module's own stage or one listed above it), and every module belongs to a stage.

The order is read from the doc's stage table (the backticked names in its `module` column that are
modules of tinygen/), so the doc and the rule cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinygen"
DOC = ROOT / "docs" / "architecture.md"
# Not Python modules of tinygen: package data and the PlatformIO builder script (runs in SCons).
NOT_MODULES = {"data"}
EXCLUDED_FILES = {PACKAGE / "platform" / "qemu" / "builder" / "main.py", PACKAGE / "platform" / "qemu" / "platform.py"}


def stage_table() -> list[tuple[str, list[str]]]:
    """[(stage, [top-level module names])] in the doc's order."""
    stages: list[tuple[str, list[str]]] = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| stage | module |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if set(cells[0]) <= {"-", " "}:
                continue
            names = []
            for token in re.findall(r"`([^`]+)`", cells[1]):
                name = token.removesuffix(".py").removesuffix("/")
                if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file():
                    names.append(name)
            stages.append((cells[0], names))
    return stages


def stage_of_module() -> dict[str, int]:
    rank: dict[str, int] = {"__init__": 0}  # tinygen/__init__.py (__version__) is a basic
    for index, (_, names) in enumerate(stage_table()):
        for name in names:
            rank[name] = index
    return rank


def top_level(module: str) -> str:
    """'tinygen.codegen.aot.emit' -> 'codegen'; 'tinygen' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, this: str | None = None) -> list[tuple[int, str]]:
    """Every tinygen module imported anywhere in the file (function-level imports included)."""
    this = this or module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "tinygen"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "tinygen":
                continue
            if target == "tinygen" or (node.module is None and node.level):
                # `from . import x` / `from tinygen import x`: x may be a submodule
                found += [(node.lineno, f"{target}.{a.name}") if (ROOT / target.replace(".", "/") / a.name).exists()
                          or (ROOT / target.replace(".", "/") / f"{a.name}.py").exists()
                          else (node.lineno, target) for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in EXCLUDED_FILES)


def test_doc_lists_every_module_of_the_package() -> None:
    rank = stage_of_module()
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
            if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.name != "__pycache__"}
    missing = sorted(tops - set(rank) - NOT_MODULES)
    assert not missing, f"modules missing from the stage table of docs/architecture.md: {missing}"


def test_the_table_has_the_pipeline_stages_in_order() -> None:
    names = [stage for stage, _ in stage_table()]
    assert names[0] == "basics" and names[-1] == "pytest"
    assert names.index("intake") < names.index("arena") < names.index("codegen") < names.index("build")


def test_imports_point_down_the_pipeline() -> None:
    rank = stage_of_module()
    stages = [stage for stage, _ in stage_table()]
    upward = []
    for path in python_files():
        mine = top_level(module_name(path))
        if mine not in rank:
            continue  # reported by the test above
        for line, target in imported_modules(path):
            theirs = top_level(target)
            if theirs in rank and rank[theirs] > rank[mine]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({stages[rank[mine]]}) imports {target} "
                              f"({stages[rank[theirs]]})")
    assert not upward, "imports pointing up the pipeline of docs/architecture.md:\n" + "\n".join(upward)


@pytest.mark.parametrize("source, expected", [
    ("from ..project import x\n", "tinygen.project"),
    ("from .. import project\n", "tinygen.project"),
    ("import tinygen.emulator\n", "tinygen.emulator"),
])
def test_the_import_reader_resolves_relative_imports(tmp_path: Path, source: str, expected: str) -> None:
    """The checker itself: a relative import in tinygen/build/x.py resolves to the right module."""
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert [t for _, t in imported_modules(probe, "tinygen.build.probe")] == [expected]
