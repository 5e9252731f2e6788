"""verify refuses what convert refuses (same one line, same exit code) before touching TFLM, and a
TFLM run with --arena-size never needs the arena model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen.emulator import qemu_available
from tinygen.model.schema import fb

from .test_aot_ops import Graph, Op


def tinygen(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinygen.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("rel", ["not_int8/hello_world_float.tflite", "not_int8/kws_ref_model_float32.tflite"])
@pytest.mark.parametrize("runtime", ["aot", "tflm"])
def test_verify_refuses_like_convert(models_dir: Path, tmp_path: Path, rel: str, runtime: str) -> None:
    model = str(models_dir / rel)
    conv = tinygen("convert", model, "--runtime", runtime, "-o", str(tmp_path / "out"))
    ver = tinygen("verify", "-b", "qemu-m4", "-m", model, "--runtime", runtime, "--random", "1")
    assert conv.returncode == ver.returncode == 3
    assert ver.stderr == conv.stderr
    assert ver.stderr.startswith("error: ") and "Traceback" not in ver.stderr
    assert len(ver.stderr.strip().splitlines()) == 2  # the message and its hint, no TFLM log lines
    assert ver.stdout == "" and not (tmp_path / "out").exists()


def elu_model() -> bytes:
    """One int8 ELU: an op TFLM has and tinygen's arena model does not cover."""
    g = Graph()
    x = g.t((1, 16), scale=0.05, zp=3)
    y = g.t((1, 16), scale=0.04, zp=-20)
    g.ops.append(Op(fb.BuiltinOperator.ELU, [x], [y]))
    return g.build([x], [y])


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.tflm
@pytest.mark.slow
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_tflm_verify_with_arena_size_needs_no_arena_model(tmp_path: Path) -> None:
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        pytest.skip("set TINYGEN_TFLM_DIR to a TFLM tree")
    model = tmp_path / "elu.tflite"
    model.write_bytes(elu_model())
    arena = tinygen("arena", str(model))
    assert arena.returncode == 4 and "ELU" in arena.stderr  # the arena model has no ELU kernel
    report = tmp_path / "r.json"
    res = tinygen("verify", "-b", "qemu-m4", "-m", str(model), "--runtime", "tflm", "--tflm-dir", tflm_dir,
                  "--arena-size", "4096", "--random", "5", "--report", str(report))
    assert res.returncode == 0, res.stderr
    doc = json.loads(report.read_text())
    assert doc["ok"] and doc["completed"] == 5
    assert doc["device"]["arena_size"] == 4096 and doc["device"]["arena_recommended"] is None
    assert np.all([o["exact"] == 5 for o in doc["outputs"]])
