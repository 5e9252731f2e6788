"""Model intake: every zoo model parses, classifies, and bad files are refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygen.errors import ModelError, UnsupportedOpError
from tinygen.model import check_deployable, classify_quantization, load_model, parse_model
from tinygen.model.cost import model_macs

from .conftest import FLOAT_MODELS, INT8_MODELS

# Op lists checked by hand against each model's source (TFLM examples, MLPerf Tiny, microWakeWord).
EXPECTED_OPS = {
    "hello_world/hello_world_int8.tflite": {"FULLY_CONNECTED": 3},
    "micro_speech/micro_speech_quantized.tflite": {
        "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "RESHAPE": 1, "SOFTMAX": 1},
    "mlperf_tiny/kws_ref_model.tflite": {
        "AVERAGE_POOL_2D": 1, "CONV_2D": 5, "DEPTHWISE_CONV_2D": 4, "FULLY_CONNECTED": 1,
        "RESHAPE": 1, "SOFTMAX": 1},
    "mlperf_tiny/ad01_int8.tflite": {"FULLY_CONNECTED": 10},
}


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_zoo_models_are_full_int8_and_deployable(models_dir: Path, rel: str) -> None:
    model = load_model(models_dir / rel)
    assert classify_quantization(model).kind == "full-int8"
    check_deployable(model)
    assert model.inputs and model.outputs
    assert 0 < model.constant_bytes < len(model.data)
    if rel in EXPECTED_OPS:
        assert model.op_counts == EXPECTED_OPS[rel]


def test_micro_wake_word_has_two_subgraphs_and_variables(models_dir: Path) -> None:
    model = load_model(models_dir / "micro_wake_word/okay_nabu.tflite")
    assert len(model.subgraphs) == 2
    assert model.op_counts["VAR_HANDLE"] == 12 and model.op_counts["CALL_ONCE"] == 1
    assert model.outputs[0].dtype == "uint8"


def test_macs_of_kws_ref_model(models_dir: Path) -> None:
    # DS-CNN (MLPerf Tiny KWS): ~2.7 M MACs per inference is the published figure.
    macs = model_macs(load_model(models_dir / "mlperf_tiny/kws_ref_model.tflite"))
    assert 2_500_000 < macs < 3_000_000


@pytest.mark.parametrize("rel", FLOAT_MODELS)
def test_float_and_hybrid_models_are_refused(models_dir: Path, rel: str) -> None:
    model = load_model(models_dir / rel)
    with pytest.raises(ModelError) as info:
        check_deployable(model)
    msg = str(info.value)
    assert "\n" not in msg
    assert ("float model" in msg) or ("hybrid" in msg)


def test_hybrid_model_named_as_hybrid(models_dir: Path) -> None:
    model = load_model(models_dir / "not_int8/kws_ref_model_float32.tflite")
    assert classify_quantization(model).kind == "hybrid"


def test_not_a_flatbuffer_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"hello, this is text and not a model")
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        load_model(bad)


@pytest.mark.parametrize("cut", [16, 200, 5000, -100])
def test_truncated_models_are_refused(models_dir: Path, cut: int) -> None:
    data = (models_dir / "mlperf_tiny/kws_ref_model.tflite").read_bytes()
    with pytest.raises(ModelError):
        model = parse_model(data[:cut])
        # A cut that leaves the structure intact still loses constant data: the buffers check fires.
        check_deployable(model)


def test_corrupt_bytes_are_refused(models_dir: Path) -> None:
    data = bytearray((models_dir / "hello_world/hello_world_int8.tflite").read_bytes())
    for i in range(8, 400, 3):
        data[i] ^= 0x5A
    with pytest.raises(ModelError):
        check_deployable(parse_model(bytes(data)))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        load_model(tmp_path / "nope.tflite")


def test_op_missing_from_tflm_is_refused(models_dir: Path) -> None:
    """Rename an op code in the flatbuffer to one TFLM lacks (a custom op) and expect a refusal."""
    data = (models_dir / "hello_world/hello_world_int8.tflite").read_bytes()
    model = parse_model(data)
    code = model.raw.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = 32  # CUSTOM
    code.customCode = b"MyFancyOp"
    import flatbuffers

    from tinygen.model.schema import fb

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.raw.Pack(builder), file_identifier=b"TFL3")
    with pytest.raises(UnsupportedOpError, match="MyFancyOp"):
        check_deployable(parse_model(bytes(builder.Output())))
    assert fb is not None
