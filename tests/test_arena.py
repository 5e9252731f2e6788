"""tinygen.arena: exact TFLM arena sizes, checked against QEMU measurements and the host runtime."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.arena import KERNELS, compute_arena, simulate
from tinygen.arena import abi as A
from tinygen.arena import kernels as K
from tinygen.arena import signal_kernels as S
from tinygen.arena.abi import CORTEX_M, HOST64, layout
from tinygen.arena.planner import Buffer, plan
from tinygen.arena.tflm import ArenaTooSmall
from tinygen.errors import UnsupportedOpError
from tinygen.model import load_model

from .conftest import FLOAT_MODELS, INT8_MODELS

TRUTH_PATH = Path(__file__).parent / "data" / "arena_truth.json"
TRUTH = json.loads(TRUTH_PATH.read_text())


# ---- the planner, on TFLM's own greedy_memory_planner_test cases -------------------------------

def test_planner_matches_tflm_medium_case() -> None:
    sizes = [(10, 0, 1), (20, 1, 2), (30, 2, 3), (40, 3, 4), (50, 0, 1)]
    offsets, total = plan([Buffer(*s) for s in sizes])
    assert offsets == [50, 70, 40, 0, 0]
    assert total == 90


def test_planner_matches_tflm_overlap_case() -> None:
    _, total = plan([Buffer(100, 0, 1), Buffer(50, 2, 3), Buffer(20, 1, 2)])
    assert total == 120


def test_planner_breaks_size_ties_like_tflm() -> None:
    # TFLM fills its sort array from the end, so the later of two equal buffers is placed first.
    offsets, total = plan([Buffer(16, 0, 1), Buffer(16, 0, 1)])
    assert offsets == [16, 0]
    assert total == 32


# ---- struct layouts ---------------------------------------------------------------------------

@pytest.mark.parametrize("struct,arm,host", [
    (A.EVAL_TENSOR, (12, 4), (24, 8)),
    (A.TENSOR, (32, 4), (64, 8)),  # short enums on arm-none-eabi
    (A.NODE_AND_REGISTRATION, (32, 4), (64, 8)),
    (A.SINGLE_ARENA_ALLOCATOR, (36, 4), (72, 8)),
    (A.GREEDY_PLANNER, (44, 4), (72, 8)),
])
def test_struct_layouts(struct: A.Field, arm: tuple[int, int], host: tuple[int, int]) -> None:
    # 32-bit values read back from arm-none-eabi-g++ objects; 64-bit from the host runtime's report.
    assert layout(struct, CORTEX_M) == arm
    assert layout(struct, HOST64) == host


@pytest.mark.parametrize("fields,arm_size", [
    # sizeof() of each kernel's OpData as arm-none-eabi-g++ 12.2 computes it (read back from objects
    # built with TFLM's flags); 16-byte rounding hides most errors in the totals, so pin them here.
    (K.OP_DATA_CONV, 56), ((K.OP_DATA_CONV, "int"), 60), (K.OP_DATA_FC, 48),
    ((K.OP_DATA_FC, "int", "int", "ptr", "i32", "i32", "i32"), 72), (K.SOFTMAX_PARAMS, 56),
    ((K.SOFTMAX_PARAMS, "i32", "i32"), 64), (K.STRIDED_SLICE_PARAMS, 84), (K.OP_DATA_POOLING, 32),
    (K.OP_DATA_ADD, 60), (K.OP_DATA_MUL, 36), (K.DEQUANTIZE_OP_DATA, 32), (K.QUANTIZE_OP_DATA, 32),
    ((K.CONCATENATION_PARAMS,), 24), (S.FILTER_BANK_PARAMS, 36), (S.SPECTRAL_SUBTRACTION_PARAMS, 44),
    (S.RFFT_PARAMS, 32),
])
def test_kernel_struct_sizes_match_arm_gcc(fields: A.Field, arm_size: int) -> None:
    assert layout(fields, CORTEX_M)[0] == arm_size


# ---- against the ground truth measured on QEMU ------------------------------------------------

@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("rel", INT8_MODELS)
def test_total_matches_measured_minimum(models_dir: Path, rel: str, kernels: str) -> None:
    truth = TRUTH["models"].get(rel, {}).get(kernels)
    if truth is None:
        pytest.fail(f"no measurement for {rel} / {kernels} in {TRUTH_PATH.name}")
    a = compute_arena(load_model(models_dir / rel), kernels=kernels)
    assert truth["min_arena"] <= a.total <= truth["min_arena"] + 16, (a.total, truth)
    assert a.arena_used_bytes == truth["arena_used_bytes"]


@pytest.mark.parametrize("rel", sorted(TRUTH.get("cortex_m3", {})))
def test_cortex_m3_without_dsp_matches_measured_minimum(models_dir: Path, rel: str) -> None:
    # Without the DSP extension CMSIS-NN's depthwise-conv and average-pool kernels need no
    # scratch buffer, so four zoo models shrink (okay_nabu by 480 B); measured on mps2-an385.
    truth = TRUTH["cortex_m3"][rel]["cmsis-nn"]
    a = compute_arena(load_model(models_dir / rel), kernels="cmsis-nn", target="cortex-m3")
    assert (a.total, a.arena_used_bytes) == (truth["min_arena"], truth["arena_used_bytes"])


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("rel", INT8_MODELS)
def test_fails_one_byte_below_where_tflm_did(models_dir: Path, rel: str, kernels: str) -> None:
    # On the device, min_arena - 1 failed with "Too many buffers" (the planner's working memory)
    # or with a tail allocation for the input/output tensors; the replay must fail at that step too.
    device = TRUTH["models"][rel][kernels]["tflm_error_below"]
    a = compute_arena(load_model(models_dir / rel), kernels=kernels)
    expected = "memory planning" if device.startswith("Too many buffers") else "input/output tensors"
    assert a.limited_by == expected, device


@pytest.mark.parametrize("rel", ["micro_speech/micro_speech_quantized.tflite", "micro_wake_word/okay_nabu.tflite"])
def test_total_is_the_smallest_that_works(models_dir: Path, rel: str) -> None:
    model = load_model(models_dir / rel)
    a = compute_arena(model, kernels="cmsis-nn")
    assert simulate(model, a.total, "cmsis-nn").used == a.arena_used_bytes
    with pytest.raises(ArenaTooSmall):
        simulate(model, a.total - 1, "cmsis-nn")


def test_breakdown_adds_up(models_dir: Path) -> None:
    a = compute_arena(load_model(models_dir / "micro_wake_word/okay_nabu.tflite"))
    assert sum(a.breakdown.values()) == a.total
    assert a.breakdown["slack"] == a.total - a.head - a.tail > 0
    assert a.resource_variables == 12  # one slot per VAR_HANDLE, as the measurement harness did
    assert a.breakdown["resource_variables"] > 3472  # 6 variable buffers + the slots


def test_micro_speech_matches_the_readme_facts(models_dir: Path) -> None:
    model = load_model(models_dir / "micro_speech/micro_speech_quantized.tflite")
    ref, cmsis = compute_arena(model, "reference"), compute_arena(model, "cmsis-nn")
    assert (ref.total, ref.arena_used_bytes, cmsis.total) == (6800, 6788, 6836)


def test_unknown_op_is_a_clear_error(models_dir: Path) -> None:
    model = load_model(models_dir / "hello_world/hello_world_int8.tflite")
    sg = model.subgraphs[0]
    odd = dataclasses.replace(sg.operators[1], op="CUMSUM")  # an op the replay has no kernel model for
    bad = dataclasses.replace(model, subgraphs=(dataclasses.replace(sg, operators=(sg.operators[0], odd,
                                                                                    *sg.operators[2:])),))
    with pytest.raises(UnsupportedOpError, match="CUMSUM") as exc:
        compute_arena(bad)
    assert exc.value.hint and "--arena-size" in exc.value.hint


# ---- against the host interpreter (64-bit, PyPI tflite-micro) ----------------------------------

_HOST_SCRIPT = """
import sys
from tflite_micro.python.tflite_micro import runtime
runtime.Interpreter.from_file(sys.argv[1], arena_size=1 << 22).print_allocations()
"""


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_host_interpreter_agrees(models_dir: Path, rel: str) -> None:
    pytest.importorskip("tflite_micro")
    # print_allocations() writes from C++; a subprocess captures it whatever the stream.
    run = subprocess.run([sys.executable, "-c", _HOST_SCRIPT, str(models_dir / rel)],
                         capture_output=True, text=True, timeout=120, check=False)
    out = run.stdout + run.stderr
    head = re.search(r"Arena allocation head (\d+) bytes", out)
    assert head, out[-2000:]
    used = {k: int(v) for k, v in re.findall(r"'([^']+)' used (\d+) bytes", out)}
    r = simulate(load_model(models_dir / rel), 1 << 22, "reference", HOST64)
    # The plan does not depend on pointer size: the head must be identical.
    assert r.head == int(head.group(1))
    # Struct arrays sized by the ABI model must match the recording allocator's tally.
    assert r.tail_by_category["eval_tensors"] == used["TfLiteEvalTensor data"]
    assert r.tail_by_category["node_and_registration"] == used["NodeAndRegistration struct"]
    assert r.tail_by_category.get("quantization_data", 0) == used.get("Persistent TfLiteTensor quantization data", 0)
    # (Kernel OpData differ: the PyPI build enables USE_TFLM_COMPRESSION, which adds fields.)


# ---- the CLI ----------------------------------------------------------------------------------

def _cli() -> object:
    from tinygen.cli.main import _register, cli

    _register()
    return cli


def test_cli_json_shape(models_dir: Path) -> None:
    res = CliRunner().invoke(_cli(), ["arena", str(models_dir / "hello_world/hello_world_int8.tflite"),
                                      "--kernels", "cmsis-nn", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["schema"].endswith(".arena")
    assert doc["kernels"] == "cmsis-nn" and doc["target"] == "cortex-m4"
    assert doc["total"] == TRUTH["models"]["hello_world/hello_world_int8.tflite"]["cmsis-nn"]["min_arena"]
    assert doc["head"] + doc["tail"] + doc["breakdown"]["slack"] == doc["total"]
    assert {"eval_tensors", "node_and_registration", "op_data", "quantization_data", "scratch_buffers",
            "resource_variables"} <= set(doc["breakdown"])


def test_cli_human_output(models_dir: Path) -> None:
    res = CliRunner().invoke(_cli(), ["arena", str(models_dir / "micro_speech/micro_speech_quantized.tflite")])
    assert res.exit_code == 0, res.output
    assert re.search(r"total\s+6800 B", res.output)
    assert "arena_used_bytes() will report 6788" in res.output


@pytest.mark.parametrize("rel", FLOAT_MODELS)
def test_cli_refuses_float_models(models_dir: Path, rel: str) -> None:
    res = CliRunner().invoke(_cli(), ["arena", str(models_dir / rel)])
    assert res.exit_code == 3  # ModelError: refused before any arena is computed
    assert "float" in res.output and "total" not in res.output
