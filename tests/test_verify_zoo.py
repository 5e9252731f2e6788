"""The issue's definition of done: `tinygen verify --board qemu-m4 --model M --random 50` is
bit-exact (50/50) for every model of the zoo with the AOT runtime. The streaming vad runs in
the default suite; the rest with --run-slow (make test-all): a build plus 50 inferences each, and
vww alone moves 1.4 MB through the emulated UART."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.emulator import qemu_available

from .conftest import INT8_MODELS

DEFAULT = {"micro_wake_word/vad.tflite"}

pytestmark = [pytest.mark.qemu, pytest.mark.build,
              pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]


@pytest.mark.parametrize("rel", [pytest.param(m, marks=() if m in DEFAULT else pytest.mark.slow) for m in INT8_MODELS])
def test_random_50_bit_exact(rel: str, models_dir: Path, tmp_path: Path) -> None:
    _register()
    report = tmp_path / "r.json"
    res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "--model", str(models_dir / rel),
                                   "--random", "50", "--report", str(report)])
    assert res.exit_code == 0, res.output
    doc = json.loads(report.read_text())
    assert doc["ok"] and doc["completed"] == 50 and doc["mismatches"] == 0
    assert all(o["exact"] == 50 and o["max_abs_error"] == 0 for o in doc["outputs"])
    assert doc["device"]["runtime"] == "aot" and doc["device"]["arena_used"] <= doc["device"]["arena_size"]
