"""Shared fixtures: where the model zoo is, and the models in it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT.parent / "shared" / "models"

INT8_MODELS = sorted(
    str(p.relative_to(MODELS_DIR)) for p in MODELS_DIR.glob("*/*.tflite") if p.parent.name != "not_int8"
)
FLOAT_MODELS = sorted(str(p.relative_to(MODELS_DIR)) for p in MODELS_DIR.glob("not_int8/*.tflite"))


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS_DIR.is_dir():
        pytest.skip(f"model zoo not found at {MODELS_DIR} (expected ../shared/models beside the repo)")
    return MODELS_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
