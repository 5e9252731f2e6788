"""`tinygen profile`: per-op cost on the emulated Cortex-M4 for both runtimes (real PlatformIO builds,
real QEMU): one JSON row per op named after the model's ops, and the per-op costs add up to the
whole inference measured with the same counter."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.emulator import qemu_available
from tinygen.link.errors import ProtocolError
from tinygen.model import load_model
from tinygen.profile import OpCost, ProfileResult, named

MICRO = "micro_speech/micro_speech_quantized.tflite"


def _profile(models_dir: Path, tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    _register()
    png = tmp_path / "ops.png"
    res = CliRunner().invoke(cli, ["profile", "--board", "qemu-m4", "--model", str(models_dir / MICRO),
                                   "--random", "2", "--json", "--png", str(png), *extra])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    ops = [op.op for op in load_model(models_dir / MICRO).main.operators]
    assert [r["op"] for r in doc["ops"]] == ops and [r["index"] for r in doc["ops"]] == list(range(len(ops)))
    assert doc["unit"] == "instructions" and doc["inferences"] == 2
    assert all(r["calls"] == 2 for r in doc["ops"])
    # the convolution is where the time goes; per-op totals add up to the whole invoke (the only
    # difference is the runtime's own work outside the ops, and the 40-instruction tick)
    assert max(doc["ops"], key=lambda r: r["cost"])["op"] == "DEPTHWISE_CONV_2D"
    assert abs(doc["ops_cost"] - doc["invoke_cost"]) <= 0.02 * doc["invoke_cost"] + 200
    if doc.get("png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return doc


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_aot_profile_rows_add_up_to_the_inference(models_dir: Path, tmp_path: Path) -> None:
    doc = _profile(models_dir, tmp_path)
    assert doc["runtime"] == "aot"
    assert abs(doc["ops_cost"] - doc["invoke_cost"]) <= 200


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.tflm
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
@pytest.mark.skipif(not os.environ.get("TINYGEN_TFLM_DIR"), reason="TINYGEN_TFLM_DIR not set")
def test_tflm_profile_rows_add_up_to_the_inference(models_dir: Path, tmp_path: Path) -> None:
    doc = _profile(models_dir, tmp_path, "--runtime", "tflm")
    assert doc["runtime"] == "tflm"


def test_rows_are_named_from_the_model_and_checked(models_dir: Path) -> None:
    model = load_model(models_dir / MICRO)
    ops = named(model, 2, [(0, 2, 100), (1, 2, 2_000_000), (2, 2, 60_000), (3, 2, 4_000)])
    assert [o.op for o in ops] == ["RESHAPE", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    assert ops[1].cost == 1_000_000 and ops[1].macs == 320_000
    result = ProfileResult("qemu-m4", "m.tflite", "aot", "instructions", 2, 1_032_100.0, ops)
    table = result.table()
    assert "DEPTHWISE_CONV_2D" in table[2] and "96.9%" in table[2] and table[-1].split()[1] == "1,032,100"
    with pytest.raises(ProtocolError, match="has 4 ops"):
        named(model, 1, [(7, 1, 10)])
    assert OpCost(0, "RESHAPE", 1, 5.0, 0).cost_per_mac is None
