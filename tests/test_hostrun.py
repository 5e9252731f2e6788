"""`tinygen run` and the hostrun library: the generated C on this computer, checked against TFLM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.hostrun import HostModel
from tinygen.hostrun.check import check_random

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no host C compiler")


def _run(*args: str) -> tuple[int, str]:
    _register()
    r = CliRunner().invoke(cli, ["-q", "run", *args])
    return r.exit_code, r.output


def test_run_random_compare_json(models_dir: Path) -> None:
    code, out = _run(str(models_dir / "micro_wake_word" / "vad.tflite"), "--random", "5", "--compare", "--json")
    assert code == 0, out
    d = json.loads(out)
    assert d["schema"] == "tinygen.run" and d["mismatched_runs"] == 0
    assert len(d["runs"]) == 5 and all(r["bit_exact"] for r in d["runs"])


def test_run_input_file(models_dir: Path, tmp_path: Path) -> None:
    x = np.full((1, 1), 17, np.int8)
    np.save(tmp_path / "x.npy", x)
    code, out = _run(str(models_dir / "hello_world" / "hello_world_int8.tflite"), "--input", str(tmp_path / "x.npy"),
                     "--compare")
    assert code == 0, out
    assert out.startswith("run 0: ") and "== tflm" in out


def test_run_needs_inputs_and_refuses_float(models_dir: Path) -> None:
    code, _ = _run(str(models_dir / "hello_world" / "hello_world_int8.tflite"))
    assert code == 2
    code, _ = _run(str(models_dir / "not_int8" / "hello_world_float.tflite"), "--random", "1")
    assert code == 3


def test_library_check_and_private_state(models_dir: Path) -> None:
    path = models_dir / "micro_wake_word" / "okay_nabu.tflite"
    assert check_random(path, runs=20).ok
    a, b = HostModel.build(path), HostModel.build(path)
    x = np.zeros((1, 3, 40), np.int8)
    for _ in range(4):
        a.invoke(x)
    # b was never run: its first output equals a fresh model's, not a's fifth
    fresh = HostModel.build(path).invoke(x)[0]
    assert np.array_equal(b.invoke(x)[0], fresh)
