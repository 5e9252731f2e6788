"""The arena model on TFLM's own 16x8 layers (tests/data/seanet) against QEMU measurements, and the
CMSIS-NN int16 convolution scratch buffer."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tinygen.arena import compute_arena
from tinygen.model import load_model

DATA = Path(__file__).parent / "data"
TRUTH = json.loads((DATA / "arena_truth.json").read_text())
# corpus_models entries (measured with bench/arena_search.py on qemu-m4) by sha256
BY_SHA = {e["sha256"]: e for e in TRUTH.get("corpus_models", {}).values() if "sha256" in e}
LAYERS = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((DATA / "seanet").glob("*.tflite"))}
MEASURED = sorted((name, k) for name, sha in LAYERS.items() for k in BY_SHA.get(sha, {}) if k != "sha256")


@pytest.mark.parametrize("name, kernels", MEASURED)
def test_seanet_arena_matches_measured_minimum(name: str, kernels: str) -> None:
    truth = BY_SHA[LAYERS[name]][kernels]
    a = compute_arena(load_model(DATA / "seanet" / name), kernels=kernels)
    assert truth["min_arena"] <= a.total <= truth["min_arena"] + 16, (a.total, truth)
    assert a.arena_used_bytes == truth["arena_used_bytes"]


def test_every_committed_seanet_layer_is_measured_for_both_kernel_sets() -> None:
    # (transpose_conv4 is the TRANSPOSE_CONV engineer's: tests/test_corpus.py covers it)
    missing = [n for n, sha in LAYERS.items()
               if not n.startswith("transpose_conv") and not {"reference", "cmsis-nn"} <= set(BY_SHA.get(sha, {}))]
    assert LAYERS and not missing, missing


def test_cmsis_nn_int16_conv_scratch_is_two_int16_columns() -> None:
    # seanet conv10: 1x3x12x64 int16 input, 3x4 kernel -> 2 * 64 * 12 * 2 = 3072 B of CMSIS-NN scratch.
    # Measured on the emulated Cortex-M4: 6,200 B (reference) and 9,276 B (CMSIS-NN).
    root = os.environ.get("TINYGEN_TFLM_DIR")
    path = Path(root or "") / "tensorflow/lite/micro/integration_tests/seanet/conv/conv10.tflite"
    if not root or not path.is_file():
        pytest.skip("TINYGEN_TFLM_DIR (a tflite-micro tree with integration_tests) not set")
    model = load_model(path)
    ref, cmsis = compute_arena(model, "reference"), compute_arena(model, "cmsis-nn")
    assert (ref.total, cmsis.total) == (6200, 9276)
    assert cmsis.breakdown["scratch_buffers"] - ref.breakdown["scratch_buffers"] == 3072
