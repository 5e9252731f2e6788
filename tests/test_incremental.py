"""Incremental (sliding-window) AOT inference: the analysis, bit-exactness with TFLM on real audio
streams (micro_speech on the frontend's features, kws_ref_model on MFCCs of the same clips), a
wrong plan caught by the proof, and the instructions it saves on the emulated Cortex-M4."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.fft import dct

from tinygen.audio.data import clip_path
from tinygen.audio.wav import read_wav
from tinygen.codegen import aot
from tinygen.codegen.aot.incremental import Analysis, analyse
from tinygen.hostrun.incremental import Decision, decide, prove, random_stream
from tinygen.kws.incremental import PROOF_CLIPS, decide_for_kws
from tinygen.model import load_model

MICRO = "micro_speech/micro_speech_quantized.tflite"
KWS = "mlperf_tiny/kws_ref_model.tflite"


def _mel(hz: float) -> float:
    return float(2595 * np.log10(1 + hz / 700))


def _mfcc_stream(model_path: Path) -> np.ndarray:
    """[frames, 10] int8: MFCCs (30 ms Hann frames every 20 ms, 40 mel bands, DCT-II) of the
    bundled clips back to back, quantized with kws_ref_model's input parameters."""
    audio = np.concatenate([read_wav(clip_path(c)) for c in PROOF_CLIPS]).astype(np.float64) / 32768
    n = (len(audio) - 480) // 320 + 1
    frames = np.stack([audio[i * 320: i * 320 + 480] for i in range(n)]) * np.hanning(480)
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    edges = 700 * (10 ** (np.linspace(_mel(20), _mel(4000), 42) / 2595) - 1) / 8000 * 256
    bins = np.arange(257)
    bank = np.stack([np.clip(np.minimum((bins - a) / (b - a), (c - bins) / (c - b)), 0, None)
                     for a, b, c in zip(edges[:-2], edges[1:-1], edges[2:])])
    coeffs = dct(np.log(power @ bank.T + 1e-6), type=2, norm="ortho", axis=1)[:, :10]
    q = load_model(model_path).inputs[0].quantization
    return np.clip(np.round(coeffs / q.scale[0]) + q.zero_point[0], -128, 127).astype(np.int8)


def test_micro_speech_plan_streams_its_convolution_in_two_phases(models_dir: Path) -> None:
    plan = analyse(load_model(models_dir / MICRO)).plan
    assert plan is not None and (plan.frames, plan.frame_bytes, plan.phases) == (49, 40, 2)
    (layer,) = plan.layers
    # SAME padding, 10 rows, stride 2: rows 0-1 reach the top padding, 22-24 the bottom one
    assert (layer.op_index, layer.rows, layer.clean) == (1, 25, (2, 21))
    assert layer.dirty_ranges() == [(0, 2), (21, 25)]
    assert plan.macs_warm * 25 == plan.macs_total * 6
    assert analyse(load_model(models_dir / MICRO)).reason.startswith("op 2 FULLY_CONNECTED mixes rows")


def test_analysis_refuses_what_does_not_slide(models_dir: Path) -> None:
    nabu = analyse(load_model(models_dir / "micro_wake_word/okay_nabu.tflite"))
    assert nabu.plan is None and "keeps its own state" in nabu.reason
    ad = analyse(load_model(models_dir / "mlperf_tiny/ad01_int8.tflite"))
    assert ad.plan is None and "FULLY_CONNECTED" in ad.reason
    kws = load_model(models_dir / KWS)
    small = analyse(kws, ram_budget=64 * 1024)
    assert [x.op_index for x in small.plan.layers] == [0, 1, 2] and "RAM budget" in small.reason
    whole = analyse(kws, ram_budget=256 * 1024)
    assert [x.op_index for x in whole.plan.layers] == list(range(9))
    assert whole.reason.startswith("op 9 AVERAGE_POOL_2D mixes rows")
    # each 3x3 SAME depthwise layer widens the rows padding reaches by one on each side
    assert [x.clean for x in whole.plan.layers[::2]] == [(2, 21), (3, 20), (4, 19), (5, 18), (6, 17)]


def test_micro_speech_bit_exact_on_the_clips() -> None:
    model = load_model(Path(aot.__file__).resolve().parents[2] / "data" / "micro_speech" / "micro_speech_quantized.tflite")
    d = decide_for_kws(model)
    assert d.plan is not None, d.summary
    assert d.proof is not None and d.proof.streams == ["clips", "random"]
    # 199 frames of the four clips: 151 windows one frame apart, 76 two apart, 6 jumps; + random
    assert d.proof.windows > 300 and d.proof.mismatches == 0
    assert d.proof.incremental > 0.9 * d.proof.windows
    assert d.to_json()["on"] is True and "bit-exact with TFLM" in d.summary


def test_kws_ref_model_bit_exact_on_mfcc_streams(models_dir: Path) -> None:
    model = load_model(models_dir / KWS)
    for budget in (64 * 1024, 256 * 1024):
        d = decide(model, {"mfcc": _mfcc_stream(models_dir / KWS)}, ram_budget=budget)
        assert d.plan is not None and d.proof is not None, d.summary
        assert d.proof.streams == ["mfcc", "random"] and d.proof.mismatches == 0
        assert d.proof.incremental > 0.9 * d.proof.windows


def _chain_model() -> bytes:
    """int8 [1,20,6,2] -> CONV_2D 3x3 (SAME, stride 2 in time, RELU) -> LOGISTIC -> QUANTIZE ->
    DEPTHWISE_CONV_2D 3x3 (VALID, dilation 2 in time) -> FULLY_CONNECTED: every kind of layer the
    analysis streams, in one chain."""
    from tests.test_aot_ops import Graph, Op, _conv, _opts
    from tinygen.model.schema import fb

    g = Graph()
    x = g.t((1, 20, 6, 2), scale=0.05, zp=3)
    h = _conv(g, x, (1, 10, 6, 4), (4, 3, 3, 2), False, padding=0, strideW=1, strideH=2,
              dilationWFactor=1, dilationHFactor=1, fusedActivationFunction=1)
    s = g.t((1, 10, 6, 4), scale=1 / 256, zp=-128)
    g.ops.append(Op(fb.BuiltinOperator.LOGISTIC, [h], [s]))
    q = g.t((1, 10, 6, 4), scale=0.003, zp=-100)
    g.ops.append(Op(fb.BuiltinOperator.QUANTIZE, [s], [q]))
    d = _conv(g, q, (1, 6, 4, 4), (1, 3, 3, 4), True, padding=1, strideW=1, strideH=1, depthMultiplier=1,
              dilationWFactor=1, dilationHFactor=2, fusedActivationFunction=0)
    rng = np.random.default_rng(5)
    w = g.t((3, 96), data=rng.integers(-127, 128, size=(3, 96)).astype(np.int8), scale=0.01, zp=0)
    b = g.t((3,), fb.TensorType.INT32, data=rng.integers(-500, 500, size=3).astype(np.int32), scale=0.0008, zp=0)
    y = g.t((1, 3), scale=0.1, zp=0)
    g.ops.append(Op(fb.BuiltinOperator.FULLY_CONNECTED, [d, w, b], [y], fb.BuiltinOptions.FullyConnectedOptions,
                    _opts("FullyConnectedOptionsT", fusedActivationFunction=0)))
    return g.build([x], [y])


def test_a_chain_of_every_streamed_kind_is_bit_exact() -> None:
    from tinygen.model import parse_model

    model = parse_model(_chain_model())
    d = decide(model)
    plan = d.analysis.plan
    assert plan is not None and [x.op for x in plan.layers] == ["CONV_2D", "LOGISTIC", "QUANTIZE", "DEPTHWISE_CONV_2D"]
    # SAME with stride 2 pads one row at the bottom only: row 9 is an edge row, and so is every
    # later row that reads it (the dilated depthwise row 5 reads input rows 5, 7, 9)
    assert [x.clean for x in plan.layers] == [(0, 8), (0, 8), (0, 8), (0, 4)]
    assert [x.phases for x in plan.layers] == [2, 2, 2, 2]
    assert d.plan is not None and d.proof is not None and d.proof.mismatches == 0, d.summary
    assert d.proof.incremental > 0.5 * d.proof.windows


def test_a_wrong_plan_is_caught_and_switched_off(models_dir: Path) -> None:
    """Claim that row 1 of micro_speech's convolution (it reaches the top padding) moves with the
    window: the proof must see outputs differ from TFLM, and the decision must turn it off."""
    model = load_model(models_dir / MICRO)
    good = analyse(model).plan
    bad = replace(good, layers=(replace(good.layers[0], clean=(1, 21)),))
    proof = prove(model, bad, {"random": random_stream(model, 70, 40)})
    assert proof.mismatches > 0 and proof.first_mismatch is not None
    d = Decision(Analysis(bad, ""), proof)
    assert d.plan is None and "differs from the full window" in d.summary


@pytest.mark.qemu
@pytest.mark.skipif(not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")),
                    reason="qemu-system-arm / arm-none-eabi-gcc missing")
def test_m4_instructions_per_window_drop_and_outputs_stay_equal(models_dir: Path) -> None:
    from tinygen.hostrun.qemu import build_elf, run_elf

    model = load_model(models_dir / MICRO)
    plan = analyse(model).plan
    frames = random_stream(model, 49 + 5, 40, seed=3)
    records = [[frames[s: s + 49].reshape(1, 1960)] for s in range(6)]
    runs = {}
    for label, p in (("full", None), ("incremental", plan)):
        with tempfile.TemporaryDirectory() as tmp:
            elf = build_elf(aot.generate(model, "m", incremental=p), Path(tmp), opt="-Os")
            runs[label] = run_elf(elf, model, records)
    (full_out, full_n), (inc_out, inc_n) = runs["full"], runs["incremental"]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(full_out, inc_out))
    # windows 0 and 1 fill the two phase caches; from window 2 on, 6 of 25 rows are computed
    assert inc_n[0] < 1.02 * full_n[0]
    assert max(inc_n[2:]) < 0.35 * min(full_n)


def test_cli_convert_and_generate_switch_it_on_where_proven(models_dir: Path, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from tinygen.cli.main import _register, cli

    _register()
    run = CliRunner().invoke
    res = run(cli, ["convert", str(models_dir / MICRO), "--runtime", "aot", "--incremental", "--json",
                    "-o", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    inc = json.loads(res.stdout)["incremental"]
    assert inc["on"] is True and inc["proof"]["mismatches"] == 0
    assert "micro_speech_quantized_inc_warm" in (tmp_path / "c" / "micro_speech_quantized_model.c").read_text()
    # a model that does not slide: converted as usual, with the reason
    res = run(cli, ["convert", str(models_dir / "mlperf_tiny/ad01_int8.tflite"), "--runtime", "aot",
                    "--incremental", "--json", "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    inc = json.loads(res.stdout)["incremental"]
    assert inc["on"] is False and "FULLY_CONNECTED" in inc["summary"]
    assert "_inc_" not in (tmp_path / "a" / "ad01_int8_model.c").read_text()
    res = run(cli, ["convert", str(models_dir / MICRO), "--incremental", "-o", str(tmp_path / "t")])
    assert res.exit_code == 2 and "--runtime aot" in res.output
    # the kws app: on by default (said in the project manifest), off on request
    for flag, on in ((None, True), ("--no-incremental", False)):
        out = tmp_path / f"kws-{on}"
        args = ["generate", "--board", "qemu-m4", "--model", str(models_dir / MICRO), "--app", "kws", "-o", str(out)]
        res = run(cli, args + ([flag] if flag else []))
        assert res.exit_code == 0, res.output
        manifest = json.loads((out / "tinygen.json").read_text())
        assert (manifest.get("incremental") or {}).get("on", False) is on
        assert ("inc_warm" in (out / "src/model/micro_speech_quantized_model.c").read_text()) is on
