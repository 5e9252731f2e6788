"""verify with the TFLM runtime (a local TFLite Micro tree, TINYGEN_TFLM_DIR): bit-exact 50/50 with
exactly the arena `tinygen arena` recommends; the device reports the reserved size and
`arena_used_bytes()`. Slow: PlatformIO compiles TFLM itself (once, then its build cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.emulator import qemu_available

from .conftest import INT8_MODELS

pytestmark = [pytest.mark.qemu, pytest.mark.build, pytest.mark.tflm, pytest.mark.slow,
              pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_tflm_random_50_bit_exact_with_recommended_arena(rel: str, models_dir: Path, tmp_path: Path) -> None:
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        pytest.skip("set TINYGEN_TFLM_DIR to a TFLM tree")
    _register()
    report = tmp_path / "r.json"
    res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "--model", str(models_dir / rel), "--runtime",
                                   "tflm", "--tflm-dir", tflm_dir, "--random", "50", "--report", str(report)])
    assert res.exit_code == 0, res.output
    doc = json.loads(report.read_text())
    dev = doc["device"]
    assert doc["ok"] and doc["completed"] == 50 and dev["runtime"] == "tflm"
    assert all(o["exact"] == 50 for o in doc["outputs"])
    assert dev["arena_size"] == dev["arena_recommended"]["reference"]   # exactly what `tinygen arena` says
    assert 0 < dev["arena_used"] <= dev["arena_size"]
