"""MLPerf Tiny benchmarks on the host: which benchmark a model is, the device's input conversions and
result text (tinygen/mlperf/benchmarks.py), the generated mlperf_config.h, and the mlperf app's C
compiled warning-free for every benchmark with the host compiler (the QEMU tests build one)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinygen.errors import UsageError
from tinygen.mlperf.benchmarks import (
    F32,
    detect,
    fixed3,
    model_input,
    plan_for,
    quantize_ad,
    random_input,
    result_text,
    truncated3,
)
from tinygen.mlperf.firmware import config_header
from tinygen.model import load_model
from tinygen.resources import firmware_dir

ZOO = {"kws01": "kws_ref_model", "ic01": "pretrainedResnet_quant", "vww01": "vww_96_int8", "ad01": "ad01_int8"}


@pytest.mark.parametrize("bench", sorted(ZOO))
def test_benchmark_detected_from_the_zoo_models_input(models_dir: Path, bench: str) -> None:
    model = load_model(models_dir / "mlperf_tiny" / f"{ZOO[bench]}.tflite")
    assert detect(model).name == bench
    plan = plan_for(model)
    assert plan.db_bytes == {"kws01": 490, "ic01": 3072, "vww01": 27648, "ad01": 2560}[bench]
    assert plan.result_count == {"kws01": 12, "ic01": 10, "vww01": 2, "ad01": 1}[bench]


def test_a_model_of_no_benchmark_asks_for_benchmark(models_dir: Path) -> None:
    model = load_model(models_dir / "hello_world" / "hello_world_int8.tflite")
    with pytest.raises(UsageError) as err:
        detect(model)
    assert "--benchmark" in (err.value.hint or "")
    with pytest.raises(UsageError, match="unknown MLPerf Tiny benchmark"):
        plan_for(model, "sww01")
    # named explicitly, the benchmark applies to any int8 model whose output it can print
    assert plan_for(model, "kws01").db_bytes == 1


def test_ad01_needs_an_output_as_large_as_the_input(models_dir: Path) -> None:
    with pytest.raises(UsageError, match="compares output with input"):
        plan_for(load_model(models_dir / "mlperf_tiny" / "kws_ref_model.tflite"), "ad01")


def test_fixed3_is_printf_rounding_on_the_exact_value() -> None:
    assert fixed3(F32(0.0625)) == "0.062"     # an exact tie: to even
    assert fixed3(F32(0.1875)) == "0.188"
    assert fixed3(F32(0.0005)) == "0.001"     # float32 0.0005 is slightly above the tie
    assert fixed3(F32(-0.0)) == "-0.000"
    assert fixed3(F32(1e20)) == "100000002004087734272.000"
    assert fixed3(F32(np.inf)) == "inf" and fixed3(F32(-np.inf)) == "-inf" and fixed3(F32(np.nan)) == "nan"


def test_truncated3_is_the_kws_reference_digits() -> None:
    assert truncated3(F32(255 / 256)) == "0.996"  # 0.99609375: truncated, not rounded
    assert truncated3(F32(0.0)) == "0.000"
    assert truncated3(F32(0.5)) == "0.500"
    assert truncated3(F32(1.5)) == "1.500"        # outside [0, 1): the fixed3 text


def test_ad01_quantization_rounds_half_away_and_clamps() -> None:
    values = np.array([0.5, -0.5, 1.5, -1.5, 2.49, 1000.0, -1000.0, np.nan], dtype=np.float32)
    assert quantize_ad(values, 1.0, 0).tolist() == [1, -1, 2, -2, 2, 127, -128, 0]
    assert quantize_ad(np.array([np.nan], dtype=np.float32), 0.5, -7).tolist() == [-7]


def test_ic_vww_inputs_are_shifted_by_minus_128(models_dir: Path) -> None:
    plan = plan_for(load_model(models_dir / "mlperf_tiny" / "pretrainedResnet_quant.tflite"))
    data = bytes([0, 127, 128, 255]) * 768
    assert model_input(plan, data)[:4].tolist() == [-128, -1, 0, 127]
    with pytest.raises(UsageError, match="3072 bytes"):
        model_input(plan, data[:-1])


def test_ad01_result_is_the_mean_squared_error(models_dir: Path) -> None:
    plan = plan_for(load_model(models_dir / "mlperf_tiny" / "ad01_int8.tflite"))
    data = random_input(plan, np.random.default_rng(1))
    out = model_input(plan, data)   # as if the model reproduced its quantized input
    floats = np.frombuffer(data, dtype="<f4").astype(np.float64)
    deq = (out.astype(np.float64) - plan.output_zero_point) * plan.output_scale
    mse = float(np.mean((deq - floats) ** 2))
    assert [float(v) for v in result_text(plan, out, data)] == pytest.approx([mse], abs=1e-3)


def test_config_header_names_the_benchmark(models_dir: Path) -> None:
    model = load_model(models_dir / "mlperf_tiny" / "ad01_int8.tflite")
    text = config_header(model, plan_for(model))
    assert '#define MLPERF_MODEL "ad01"' in text
    assert "#define MLPERF_INPUT MLPERF_INPUT_FLOAT32" in text
    assert "#define MLPERF_DB_BYTES 2560u" in text
    assert "#define MLPERF_RESULTS MLPERF_RESULTS_MSE" in text
    assert "Do not edit" in text


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host C compiler")
@pytest.mark.parametrize("bench", sorted(ZOO))
def test_mlperf_app_compiles_warning_free_for_every_benchmark(models_dir: Path, tmp_path: Path, bench: str) -> None:
    model = load_model(models_dir / "mlperf_tiny" / f"{ZOO[bench]}.tflite")
    (tmp_path / "mlperf_config.h").write_text(config_header(model, plan_for(model)))
    (tmp_path / "tg_project.h").write_text('#define TG_BOARD_NAME "host"\n#define TG_RUNTIME_NAME "aot"\n')
    res = subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion",
                          "-Wno-sign-conversion", "-c", "-o", str(tmp_path / "mlperf.o"), "-I", str(tmp_path),
                          "-I", str(firmware_dir() / "include"), "-I", str(firmware_dir() / "boards"),
                          str(firmware_dir() / "apps" / "mlperf" / "mlperf.c")], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr
