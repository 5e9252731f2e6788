"""Intake verdicts on public models: full-int8, int16x8, hybrid, float, each with a true reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinygen.errors import ModelError
from tinygen.model import check_deployable, classify_quantization, load_model

SEANET = Path(__file__).parent / "data" / "seanet"
SEANET_MODELS = sorted(p.name for p in SEANET.glob("*.tflite"))


@pytest.mark.parametrize("name", SEANET_MODELS)
def test_seanet_16x8_layers_are_int16x8_and_deployable(name: str) -> None:
    model = load_model(SEANET / name)
    verdict = classify_quantization(model)
    assert verdict.kind == "int16x8", verdict.reason
    assert verdict.deployable and verdict.runtimes == ("tflm", "aot")
    assert check_deployable(model) == verdict
    op = next(iter(model.op_counts))
    assert verdict.reason.startswith(f"{op} (operator 0)")


def test_transpose_conv_activation_is_its_third_input() -> None:
    # TRANSPOSE_CONV's inputs are (output_shape int32, weights, activation, bias): the verdict must
    # read input 2, not the int32 shape at input 0.
    verdict = classify_quantization(load_model(SEANET / "transpose_conv4.tflite"))
    assert verdict.reason == "TRANSPOSE_CONV (operator 0) has int16 activations with int8 weights"


def test_int16_io_around_int8_body_is_full_int8(models_dir: Path) -> None:
    # Unquantized int16 audio in, int32 features out: integer preprocessing, not the 16x8 scheme.
    verdict = classify_quantization(load_model(models_dir / "micro_speech/audio_preprocessor_int8.tflite"))
    assert verdict.kind == "full-int8"


def test_float_and_hybrid_verdicts_name_the_cause(models_dir: Path) -> None:
    flt = classify_quantization(load_model(models_dir / "not_int8/hello_world_float.tflite"))
    assert flt.kind == "float" and not flt.deployable and flt.runtimes == ()
    assert "is float32" in flt.reason
    hyb = classify_quantization(load_model(models_dir / "not_int8/kws_ref_model_float32.tflite"))
    assert hyb.kind == "hybrid"
    assert hyb.reason == "CONV_2D (operator 0) has int8 weights but float32 activations"


def _tflm_example(rel: str) -> Path:
    root = os.environ.get("TINYGEN_TFLM_DIR")
    if not root:
        pytest.skip("TINYGEN_TFLM_DIR not set (a tflite-micro checkout holds the LSTM examples)")
    path = Path(root) / "tensorflow/lite/micro/examples" / rel
    if not path.is_file():
        pytest.skip(f"{path} not in this TFLM tree")
    return path


@pytest.mark.parametrize("rel", ["mnist_lstm/trained_lstm_int8.tflite", "dtln/dtln_noise_suppression.tflite"])
def test_int8_lstm_with_zero_element_float_intermediates_is_full_int8(rel: str) -> None:
    model = load_model(_tflm_example(rel))
    # The converter attaches float32 (0,) intermediates to the LSTM: not activations.
    assert any(t.dtype == "float32" and t.num_elements == 0 for t in model.main.tensors)
    verdict = classify_quantization(model)
    assert verdict.kind == "full-int8", verdict.reason


def test_float_lstm_is_float() -> None:
    model = load_model(_tflm_example("mnist_lstm/trained_lstm.tflite"))
    with pytest.raises(ModelError, match="float model"):
        check_deployable(model)


def test_float_io_around_integer_body_is_named() -> None:
    """Make QUANTIZE's input float32 (a float-I/O export has exactly that) and read the reason."""
    import flatbuffers

    from tinygen.model import parse_model
    from tinygen.model.schema import fb

    model = load_model(SEANET / "quantize0.tflite")
    raw = model.raw
    raw.subgraphs[0].tensors[raw.subgraphs[0].inputs[0]].type = fb.TensorType.FLOAT32
    builder = flatbuffers.Builder(1024)
    builder.Finish(raw.Pack(builder), file_identifier=b"TFL3")
    verdict = classify_quantization(parse_model(bytes(builder.Output())))
    assert verdict.kind == "float"
    assert verdict.reason.startswith("float input/output around an integer body")
