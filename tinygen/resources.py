"""Where tinygen's non-Python files live: templates/, firmware/, boards/ (top level of the repo)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_ROOT = _PACKAGE_DIR.parent


def _resource_dir(name: str) -> Path:
    for candidate in (_ROOT / name, _PACKAGE_DIR / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tinygen installation is missing its {name}/ directory")


def templates_dir() -> Path:
    return _resource_dir("templates")


def firmware_dir() -> Path:
    return _resource_dir("firmware")


def boards_dir() -> Path:
    return _resource_dir("boards")
