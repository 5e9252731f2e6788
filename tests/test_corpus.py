"""The public-model corpus runner (bench/corpus.py) and what it checks.

Default: the small public models committed under tests/data (SVDF keyword_scrambled_8bit, the
mnist LSTM, a 16x8 TRANSPOSE_CONV layer): intake accepts them, the AOT C is bit-exact with TFLM's
interpreter on the host, and the computed arena equals the measured minimum (+0..16 B) for both
kernel sets (tests/data/arena_truth.json, `corpus_models`).

With TINYGEN_MODEL_CORPUS pointing at an extracted corpus (docs/models.md) the slow test runs the
same stages over every model in it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
COMMITTED = [DATA / "models" / "keyword_scrambled_8bit.tflite", DATA / "models" / "trained_lstm_int8.tflite",
             DATA / "seanet" / "transpose_conv4.tflite"]

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no host C compiler")


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tinygen_bench_corpus", ROOT / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _check_rows(rows: list[dict]) -> tuple[int, list[str]]:
    """Problems with a corpus result: (arena cells compared, list of problems)."""
    problems, compared = [], 0
    for r in rows:
        if not r["accepted"]:
            if not r.get("refusal"):
                problems.append(f"{r['model']}: refused without a reason")
            continue
        run = r.get("run", {})
        if not run.get("ok"):
            problems.append(f"{r['model']}: run --compare: {run}")
        for kernels, cell in r.get("arena", {}).items():
            if "error" in cell:
                problems.append(f"{r['model']}: no {kernels} arena: {cell['error']}")
            elif "measured" in cell:
                compared += 1
                if not 0 <= cell["delta"] <= 16:
                    problems.append(f"{r['model']}: {kernels} arena {cell['computed']} vs measured {cell['measured']}")
    return compared, problems


def test_committed_models_pass_every_host_stage(tmp_path: Path) -> None:
    pytest.importorskip("tflite_micro")
    for p in COMMITTED:
        shutil.copy(p, tmp_path / p.name)
    corpus = _corpus()
    rows = corpus.run_corpus(tmp_path, {"intake", "arena", "run"}, runs=3, log=open(os.devnull, "w"))
    assert [r["model"] for r in rows] == sorted(p.name for p in COMMITTED)
    compared, problems = _check_rows(rows)
    assert not problems
    assert compared >= len(COMMITTED)  # every committed model has at least its reference arena measured
    by_name = {r["model"]: r for r in rows}
    assert by_name["transpose_conv4.tflite"]["verdict"] == "int16x8"
    assert by_name["keyword_scrambled_8bit.tflite"]["ops"]["SVDF"] == 7
    assert by_name["trained_lstm_int8.tflite"]["macs"] > 28 * 4 * 20 * (28 + 20)
    table = corpus.markdown(rows)
    assert table.count("bit-exact") == len(COMMITTED) and "keyword_scrambled_8bit.tflite" in table


def test_refusals_carry_the_intake_message(tmp_path: Path) -> None:
    """A float model is a row with its refusal (what convert prints), not a crash of the runner."""
    models = Path(os.environ.get("TINYGEN_MODELS_DIR", ROOT.parent / "shared" / "models"))
    float_model = models / "not_int8" / "hello_world_float.tflite"
    if not float_model.is_file():
        pytest.skip(f"{float_model} not found")
    shutil.copy(float_model, tmp_path / float_model.name)
    (tmp_path / "broken.tflite").write_bytes(b"not a flatbuffer")
    rows = _corpus().run_corpus(tmp_path, {"intake", "arena", "run"}, log=open(os.devnull, "w"))
    by_name = {r["model"]: r for r in rows}
    assert by_name["hello_world_float.tflite"]["accepted"] is False
    assert "float" in by_name["hello_world_float.tflite"]["refusal"]
    assert by_name["hello_world_float.tflite"]["exit_code"] == 3
    assert by_name["broken.tflite"]["verdict"] == "unreadable" and by_name["broken.tflite"]["refusal"]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TINYGEN_MODEL_CORPUS"),
                    reason="TINYGEN_MODEL_CORPUS is not set (a folder of public models, see docs/models.md)")
def test_public_corpus(tmp_path: Path) -> None:
    pytest.importorskip("tflite_micro")
    folder = Path(os.environ["TINYGEN_MODEL_CORPUS"])
    rows = _corpus().run_corpus(folder, {"intake", "arena", "run"}, runs=3, log=open(os.devnull, "w"))
    (tmp_path / "corpus.json").write_text(json.dumps(rows))
    assert rows, f"no .tflite under {folder}"
    _, problems = _check_rows(rows)
    assert not problems, "\n".join(problems)
