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
    assert compared == 2 * len(COMMITTED)  # every committed model has both kernel sets measured
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


def test_public_model_quirks_pass_intake() -> None:
    """TFLM's person_detect gives its per-channel conv biases quantized_dimension 3 on a 1-D shape
    (TFLM never reads it for a bias): intake must not call that a damaged file."""
    import numpy as np

    from tinygen.model import parse_model
    from tinygen.model.schema import fb

    from .test_aot_ops import Graph, Op, _opts

    g = Graph()
    x = g.t((1, 4, 4, 2), scale=0.05)
    w = g.t((3, 1, 1, 2), scale=[0.01, 0.02, 0.03], axis=0, data=np.ones((3, 1, 1, 2), np.int8))
    b = g.t((3,), dtype=fb.TensorType.INT32, scale=[0.0005, 0.001, 0.0015], axis=3, data=np.zeros(3, np.int32))
    y = g.t((1, 4, 4, 3), scale=0.1)
    g.ops.append(Op(fb.BuiltinOperator.CONV_2D, [x, w, b], [y], fb.BuiltinOptions.Conv2DOptions,
                    _opts("Conv2DOptionsT", padding=0, strideW=1, strideH=1, dilationWFactor=1, dilationHFactor=1)))
    info = parse_model(g.build([x], [y]))
    assert info.main.tensors[b].quantization is not None


def _vela_like_model() -> bytes:
    """The shape of TFLM's models/person_detect_vela.tflite, small: one custom 'ethos-u' operator
    reading a command stream, weights, two scratch tensors (no data, no writer: the Ethos-U driver
    allocates them) and the int8 input."""
    import flatbuffers

    from tinygen.model.schema import fb

    m = fb.ModelT()
    m.version = 3
    m.buffers = [fb.BufferT()]
    sg = fb.SubGraphT()
    sg.tensors = []
    specs = [("out", fb.TensorType.INT8, [1, 2], None), ("cmd", fb.TensorType.UINT8, [16], bytes(16)),
             ("flash", fb.TensorType.UINT8, [32], bytes(32)), ("scratch", fb.TensorType.UINT8, [64], None),
             ("scratch_fast", fb.TensorType.UINT8, [64], None), ("in", fb.TensorType.INT8, [1, 4, 4, 1], None)]
    for name, dtype, shape, data in specs:
        t = fb.TensorT()
        t.name, t.type, t.shape = name.encode(), dtype, shape
        if dtype == fb.TensorType.INT8:
            q = fb.QuantizationParametersT()
            q.scale, q.zeroPoint = [0.01], [0]
            t.quantization = q
        if data is not None:
            b = fb.BufferT()
            b.data = list(data)
            m.buffers.append(b)
            t.buffer = len(m.buffers) - 1
        sg.tensors.append(t)
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [1, 2, 3, 4, 5], [0]
    sg.operators, sg.inputs, sg.outputs = [op], [5], [0]
    m.subgraphs = [sg]
    code = fb.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.customCode, code.version = (
        fb.BuiltinOperator.CUSTOM, fb.BuiltinOperator.CUSTOM, b"ethos-u", 1)
    m.operatorCodes = [code]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_vela_model_is_refused_as_npu_code_not_as_damaged(tmp_path: Path) -> None:
    """A Vela-compiled model (TFLM ships person_detect_vela.tflite) is one 'ethos-u' operator whose
    scratch tensors nobody writes: intake reads it, and convert/verify/inspect refuse it because it
    runs only on an Ethos-U NPU (it used to be called a damaged file)."""
    from click.testing import CliRunner

    from tinygen.cli.main import _register, cli
    from tinygen.errors import UnsupportedOpError
    from tinygen.model import check_deployable, load_model

    _register()

    path = tmp_path / "vela.tflite"
    path.write_bytes(_vela_like_model())
    model = load_model(path)
    assert model.op_counts == {"ethos-u": 1}
    with pytest.raises(UnsupportedOpError, match="Vela for an Arm Ethos-U NPU"):
        check_deployable(model)
    res = CliRunner().invoke(cli, ["inspect", str(path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["deployable"] is False and doc["runtimes"] == [] and "Ethos-U" in doc["refusal"]
    res = CliRunner().invoke(cli, ["convert", str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 3 and "Ethos-U" in res.output
    assert not (tmp_path / "out").exists()


def _fake_tflm_tree(root: Path, sub_common: str) -> Path:
    """The files find_tflm_tree looks for, and kernels/sub_common.cc with the given text."""
    (root / "tensorflow/lite/micro/kernels").mkdir(parents=True)
    (root / "tensorflow/lite/micro/micro_interpreter.h").write_text("// stand-in\n")
    for d in ("flatbuffers/include", "gemmlowp", "ruy", "kissfft"):
        (root / "third_party" / d).mkdir(parents=True)
    (root / "tensorflow/lite/micro/kernels/sub_common.cc").write_text(sub_common)
    return root


def test_tflm_version_note_names_the_float_ratio_change(tmp_path: Path) -> None:
    """verify --runtime tflm on a model with SUB / LEAKY_RELU explains a mismatch with the TFLM
    version when the tree computes the multipliers from float ratios (TFLM before pull request
    3274, e.g. 90b983c), and says nothing for a tree with the change or a model without those ops."""
    from tinygen.platform.tflm import find_tflm_tree, ratios_in_float
    from tinygen.verify.run import VerifyOptions, tflm_version_note

    old = _fake_tflm_tree(tmp_path / "old", "    const float twice_max_input_scale =\n        2 * std::max(a, b);\n")
    new = _fake_tflm_tree(tmp_path / "new", "    const double twice_max_input_scale =\n        2 * static_cast<double>(m);\n")
    assert ratios_in_float(find_tflm_tree(old)) is True
    assert ratios_in_float(find_tflm_tree(new)) is False
    assert ratios_in_float(None) is True  # the Arduino export (2023) divides in float
    sub4, conv0 = DATA / "seanet" / "sub4.tflite", DATA / "seanet" / "conv0.tflite"
    note = tflm_version_note(VerifyOptions(board="qemu-m4", model=sub4, runtime="tflm", tflm_dir=old), load(sub4))
    assert note is not None and "SUB" in note and "pull request 3274" in note and "tflite-micro 0." in note
    # compared with the device's own tree built for the host (verify's default there): no version differs
    assert tflm_version_note(VerifyOptions(board="qemu-m4", model=sub4, runtime="tflm", tflm_dir=old), load(sub4),
                             "tflm-tree") is None
    assert tflm_version_note(VerifyOptions(board="qemu-m4", model=sub4, runtime="tflm", tflm_dir=new), load(sub4)) is None
    assert tflm_version_note(VerifyOptions(board="qemu-m4", model=conv0, runtime="tflm", tflm_dir=old), load(conv0)) is None
    assert tflm_version_note(VerifyOptions(board="qemu-m4", model=sub4, runtime="aot", tflm_dir=old), load(sub4)) is None


def load(path: Path):  # type: ignore[no-untyped-def]
    from tinygen.model import load_model

    return load_model(path)
