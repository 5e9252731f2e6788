"""CLI behaviour of the intake commands: JSON documents, one-line errors, exit codes, no partial output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import INT8_MODELS


def tinygen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinygen.cli.main", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_inspect_json(models_dir: Path, rel: str) -> None:
    proc = tinygen("inspect", str(models_dir / rel), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tinygen.inspect" and doc["full_int8"] is True
    assert doc["inputs"] and doc["outputs"] and doc["ops"]
    assert all(op["tflm"] for op in doc["ops"])
    assert sum(op["count"] for op in doc["ops"]) == sum(len(sg["operators"]) for sg in doc["subgraphs"])


def test_inspect_does_not_import_tensorflow(models_dir: Path) -> None:
    code = (
        "import sys, time; t=time.time();"
        "from tinygen.cli.main import main; sys.argv=['tinygen','inspect',sys.argv[1],'--json'];"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main()\n"
        "    except SystemExit: pass\n"
        "print('tensorflow' in sys.modules, time.time()-t)"
    )
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, str(models_dir / "hello_world/hello_world_int8.tflite")],
                         capture_output=True, text=True, timeout=60)
    wall = time.monotonic() - t0
    imported, _ = out.stdout.split()
    assert imported == "False", out.stderr
    assert wall < 10  # generous bound against a TensorFlow import (~7 s); typical is well under 1 s


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d, m: m / "not_int8/hello_world_float.tflite", "float model"),
        (lambda d, m: m / "not_int8/kws_ref_model_float32.tflite", "hybrid"),
        (lambda d, m: d / "missing.tflite", "no such file"),
        (lambda d, m: _write(d / "text.tflite", b"not a model at all"), "not a TensorFlow Lite model"),
        (lambda d, m: _write(d / "cut.tflite", (m / "mlperf_tiny/kws_ref_model.tflite").read_bytes()[:3000]),
         "truncated"),
    ],
)
def test_convert_refuses_bad_models_without_output(tmp_path: Path, models_dir: Path, make, expected: str) -> None:
    model = make(tmp_path, models_dir)
    out = tmp_path / "out"
    proc = tinygen("convert", str(model), "-o", str(out))
    assert proc.returncode == 3
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0]
    assert not out.exists()


def test_unwritable_output_dir(tmp_path: Path, models_dir: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = tinygen("convert", str(models_dir / "hello_world/hello_world_int8.tflite"), "-o", str(blocker / "sub"))
    assert proc.returncode != 0 and "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_every_command_has_help() -> None:
    proc = tinygen("--help")
    assert proc.returncode == 0
    commands = [ln.split()[0] for ln in proc.stdout.split("Commands:")[1].splitlines() if ln.strip()]
    assert {"inspect", "convert", "quantize"} <= set(commands)
    for name in commands:
        sub = tinygen(name, "--help")
        assert sub.returncode == 0 and "Usage:" in sub.stdout, name


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_convert_tflm_writes_the_computed_arena_or_the_override(tmp_path: Path, models_dir: Path) -> None:
    model = str(models_dir / "micro_speech/micro_speech_quantized.tflite")
    proc = tinygen("convert", model, "-o", str(tmp_path / "a"), "--name", "kws", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tinygen.convert"
    assert sorted(doc["files"]) == ["kws_arena.h", "kws_model_data.cc", "kws_model_data.h", "kws_op_resolver.h"]
    header = (tmp_path / "a/kws_arena.h").read_text()
    assert "#define KWS_ARENA_SIZE_REFERENCE 6800" in header and "#define KWS_ARENA_SIZE_CMSIS_NN 6836" in header
    proc = tinygen("convert", model, "-o", str(tmp_path / "b"), "--name", "kws", "--arena-size", "9000")
    assert proc.returncode == 0, proc.stderr
    assert "#define KWS_ARENA_SIZE_REFERENCE 9000" in (tmp_path / "b/kws_arena.h").read_text()
