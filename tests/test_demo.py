"""`tinygen demo`: the README's main command, end to end on the emulated board (real PlatformIO build,
real QEMU), and its verdict logic on results that must fail."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from tinygen.audio.micro_speech import MICRO_SPEECH_LABELS
from tinygen.cli.demo import demo_model
from tinygen.cli.main import _register, cli
from tinygen.emulator import qemu_available
from tinygen.kws.config import config_for_model
from tinygen.kws.session import Clip, KwsRunResult, WordEvent, expected_word_problems
from tinygen.model import load_model


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_demo_passes_bit_exact_with_yes_and_no_detected() -> None:
    _register()
    res = CliRunner().invoke(cli, ["demo", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True
    # 4 s at a 20 ms stride: 199 frames; one inference per frame once the 49-frame window is full.
    assert doc["features"] == {"equal": 199, "of": 199, "first_mismatch": None}
    assert doc["scores"] == {"equal": 151, "of": 151, "first_mismatch": None}
    dev = [(d["label"], d["clip"], d["time_ms"]) for d in doc["detections"]["device"]]
    assert dev == [("yes", "yes_1000ms", 1030.0), ("no", "no_1000ms", 2050.0)]
    assert doc["detections"]["same"] is True
    cost = doc["cost"]
    assert cost["unit"] == "instructions" and cost["frontend"] > 0 and cost["classifier"] > 0
    # incremental inference of the classifier (docs/kws.md) keeps the flagship board real time
    assert doc["incremental"].startswith("incremental inference on for op 1 DEPTHWISE_CONV_2D")
    assert cost["per_second_of_audio"]["real_time_load_nano33ble"] <= 0.40


def _result() -> KwsRunResult:
    clips = [Clip("yes_1000ms", 0, 16000), Clip("no_1000ms", 16000, 16000), Clip("silence_1000ms", 32000, 16000),
             Clip("noise_1000ms", 48000, 16000)]
    yes, no = WordEvent("yes", 50, 1030.0, 0.99, "yes_1000ms"), WordEvent("no", 101, 2050.0, 0.94, "no_1000ms")
    return KwsRunResult("qemu-m4", str(demo_model()), "aot", clips, 199, 151, 199, None, 151, None, [yes, no],
                        [yes, no], "instructions", 1, 1, 4.0, 25_000_000, 1.0)


def test_verdict_fails_on_any_wrong_detection_or_mismatch() -> None:
    cfg = config_for_model(load_model(demo_model()), labels=list(MICRO_SPEECH_LABELS))
    good = _result()
    assert expected_word_problems(good, cfg) == [] and good.failures() == []
    missing_no = replace(good, device_detections=good.device_detections[:1])
    assert "detections differ from the reference" in missing_no.failures()
    assert expected_word_problems(missing_no, cfg) == ["clip 'no_1000ms': detected nothing, expected ['no']"]
    in_noise = replace(good, device_detections=[*good.device_detections, WordEvent("no", 180, 3630.0, 0.9, "noise_1000ms")])
    assert expected_word_problems(in_noise, cfg) == ["clip 'noise_1000ms': detected ['no'], expected nothing"]
    off_by_one = replace(good, first_score_mismatch=7, score_inferences_equal=150)
    assert off_by_one.failures() == ["scores differ from inference 7"] and not off_by_one.ok
