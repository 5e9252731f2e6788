"""Hostile input: every regression model of tests/data/fuzz/ (once a crash, hang or misleading
answer) gets its one-line answer, files that are no models are refused without being read, and a
short seeded fuzzing run (tests/fuzz, on hypothesis) over the zoo ends with no internal error, no
hang and no leftover file. The long run is `python bench/fuzz.py` (docs/fuzzing.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.model.reader import MAX_MODEL_BYTES

from .fuzz.campaign import campaign
from .fuzz.drive import private_tmpdir, run_case

DATA = Path(__file__).resolve().parent / "data" / "fuzz"
MANIFEST = json.loads((DATA / "manifest.json").read_text())
_register()


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_regression_model(name: str, tmp_path: Path) -> None:
    entry = MANIFEST[name]
    data = (DATA / f"{name}.tflite").read_bytes()
    result = run_case(data, tmp_path)
    assert not result.failed, result.summary()
    inspect = result.outcomes[0]
    assert inspect.command == "inspect" and inspect.exit_code == entry["inspect_exit"], inspect.message
    assert entry["message"] in inspect.message
    if entry["inspect_exit"]:
        assert inspect.message.startswith("error: ") and "Traceback" not in inspect.message
    assert not any(tmp_path.iterdir()), "a case left files behind"


def test_an_unsupported_fused_activation_is_a_clear_aot_refusal(tmp_path: Path) -> None:
    code, out = _invoke("convert", str(DATA / "fused_sign_bit.tflite"), "-o", str(tmp_path / "o"), "--runtime", "aot")
    assert code == 3 and "FULLY_CONNECTED" in out and "fused activation" in out
    assert not (tmp_path / "o").exists()
    code, out = _invoke("inspect", str(DATA / "fused_sign_bit.tflite"), "--json")
    assert code == 0 and "fused activation" in json.loads(out)["aot"]["error"]


def test_a_split_v_with_a_float_axis_is_a_clear_aot_refusal(tmp_path: Path) -> None:
    code, out = _invoke("convert", str(DATA / "split_v_float_axis.tflite"), "-o", str(tmp_path / "o"), "--runtime", "aot")
    assert code == 3 and "SPLIT_V" in out and "axis tensor" in out and "float32" in out
    assert not (tmp_path / "o").exists()


def test_an_operator_failing_in_tflm_at_run_time_is_a_model_error() -> None:
    code, out = _invoke("run", str(DATA / "div_fails_at_run_time.tflite"), "--random", "1", "--compare")
    assert code == 3 and "could not run the model" in out and "tinygen bug" not in out and "Traceback" not in out


def test_a_fully_connected_multiplier_is_the_reference_interpreters() -> None:
    # per-tensor FULLY_CONNECTED: the scales multiplied in double, as the PyPI interpreter does
    # (in float32 first, TFLM 90b983c's way, run 2's output 510 is one LSB off)
    code, out = _invoke("run", str(DATA / "fc_rounding_tie.tflite"), "--random", "2", "--compare")
    assert code == 0, out


def test_run_compare_refuses_an_empty_tensor_instead_of_failing_its_compile() -> None:
    code, out = _invoke("run", str(DATA / "empty_dim.tflite"), "--random", "1", "--compare")
    assert code == 3 and "empty dimension" in out and "tinygen bug" not in out


# TFLM's own interpreter on the raw file, in a child process: a kernel's TFLITE_CHECK aborts it.
_RAW_TFLM = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
interp = runtime.Interpreter.from_bytes(data, arena_size=max(len(data) * 10, 1 << 20))
spec = interp.get_input_details(0)
interp.set_input(np.zeros(spec["shape"], dtype=spec["dtype"]), 0)
interp.invoke()
"""


@pytest.mark.parametrize("name", ["softmax_no_options", "add_output_scale", "add_output_shape"])
def test_what_tflm_aborts_on_is_refused_at_intake(name: str) -> None:
    """These once ended `run --compare` with SIGABRT (exit 134): TFLM's kernels abort on them, so
    intake refuses them (exit 3) before the reference interpreter ever sees them."""
    path = DATA / f"{name}.tflite"
    raw = subprocess.run([sys.executable, "-c", _RAW_TFLM, str(path)], capture_output=True, timeout=120)
    assert raw.returncode == -signal.SIGABRT, raw  # the reason intake gives is true
    code, out = _invoke("run", str(path), "--random", "2", "--compare")
    assert code == 3 and out.startswith("error: ") and "tinygen bug" not in out, out


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "too big"])
def test_only_regular_files_of_bounded_size_are_read(kind: str, tmp_path: Path) -> None:
    if kind == "device":
        path, expect = Path("/dev/zero"), "not a regular file"
    elif kind == "fifo":
        path, expect = tmp_path / "pipe.tflite", "not a regular file"
        os.mkfifo(path)  # opening it would block: intake must not
    elif kind == "directory":  # click refuses it first: a usage error
        path, expect = tmp_path, "is a directory"
    else:
        path, expect = tmp_path / "big.tflite", "more than the 128 MiB"
        with open(path, "wb") as f:
            f.truncate(MAX_MODEL_BYTES + 1)  # sparse: nothing to read, and intake must not try
    code, out = _invoke("inspect", str(path))
    lines = out.strip().splitlines()
    if kind == "directory":  # click's own usage error
        assert code == 2 and expect in out
        return
    assert code == 3 and expect in out, out
    assert lines[0].startswith("error: ") and len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("hint: "))


def test_short_seeded_fuzzing_run(models_dir: Path, tmp_path: Path) -> None:
    """16 mutants (both kinds) of the zoo through inspect, arena x2, convert x2 and one run --compare."""
    private_tmpdir(tmp_path)
    models = sorted(p for p in models_dir.glob("*/*.tflite") if p.stat().st_size < 100_000)
    stats = campaign(models, 16, 2024, tmp_path, compare_every=4)
    assert stats.cases == 16 and set(stats.by_kind) == {"bytes", "struct"}
    assert stats.internal == 0 and stats.hangs == 0 and stats.leftovers == 0, stats.failures
    codes = {k.split(": ")[1] for k in stats.exit_codes}
    assert {"0", "3"} <= codes  # some mutants are refused at intake, some go all the way through
    assert not list((tmp_path / "tmp").iterdir()) and not list(tmp_path.glob("case-*"))


def test_a_command_past_the_cpu_bound_is_a_hang(models_dir: Path, tmp_path: Path) -> None:
    """The harness's hang bound is CPU time per command: with a bound of 20 ms the first command
    (inspect of vww_96_int8, whose flatbuffer alone takes several times that to unpack) is the hang."""
    result = run_case((models_dir / "mlperf_tiny/vww_96_int8.tflite").read_bytes(), tmp_path, hang_seconds=0.02)
    assert result.failed and result.hang == "inspect", result.summary()
    assert not any(tmp_path.iterdir())


def test_an_arena_past_the_search_bound_is_a_model_error(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14 saw ArenaTooSmall (not a TinygenError) and assertions escape the arena search on
    mutants: a model whose arena cannot be found below the bound is a clear exit 3."""
    from collections import OrderedDict

    import tinygen.arena as arena
    import tinygen.arena.tflm as tflm

    monkeypatch.setattr(tflm, "MAX_ARENA_BYTES", 1 << 10)  # a 1 KiB bound: hello_world needs 1068 B
    monkeypatch.setattr(arena, "_PLANS", OrderedDict())  # nothing computed before this test
    code, out = _invoke("arena", str(models_dir / "hello_world/hello_world_int8.tflite"), "--json")
    assert code == 3 and "needs an arena of more than" in out and "Traceback" not in out, out
