"""bench/arena_search.py, the TFLM arena measurement on the emulated Cortex-M4F (docs/arena.md,
"Ground truth"): the allocate-only search and the PSRAM layout reproduce a measurement taken with
full-inference trials in the default layout.

Slow (a TFLM firmware build and ~60 QEMU runs per search); needs TINYGEN_TFLM_DIR with the
Cortex-M4F libraries built (bench/run.py's docstring), arm-none-eabi-g++ and qemu-system-arm.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tinygen.model import load_model

ROOT = Path(__file__).resolve().parents[1]
TRUTH = json.loads((ROOT / "tests" / "data" / "arena_truth.json").read_text())
MODEL = "micro_speech/micro_speech_quantized.tflite"  # measured with full-inference trials

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TINYGEN_TFLM_DIR"), reason="TINYGEN_TFLM_DIR (a TFLM tree) not set"),
    pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None or shutil.which("qemu-system-arm") is None,
                       reason="no arm-none-eabi-g++ or qemu-system-arm"),
]


def _arena_search() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("arena_search", ROOT / "bench" / "arena_search.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["arena_search"] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _symbol(elf: Path, name: str) -> int:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return next(int(ln.split()[0], 16) for ln in out.splitlines() if ln.split()[-1] == name)


@pytest.mark.parametrize("layout", ["ssram", "psram"])
def test_allocate_only_search_reproduces_the_full_inference_minimum(tmp_path: Path, models_dir: Path,
                                                                     layout: str) -> None:
    mod = _arena_search()
    tflm_dir = Path(os.environ["TINYGEN_TFLM_DIR"])
    if mod.tflm_lib(tflm_dir, "reference", tmp_path) is None:
        pytest.skip(f"no TFLM reference-kernel library built under {tflm_dir}/gen")
    model = load_model(models_dir / MODEL)
    lay = mod.PSRAM if layout == "psram" else mod.SSRAM
    elf = mod.build(model, tflm_dir, "reference", tmp_path, mod.resource_slots(model), lay)
    in_psram = _symbol(elf, "m_model_data") >= 0x21000000
    assert in_psram == (layout == "psram")
    entry = mod.search(elf, 60.0, None, lay.arena_max)
    truth = TRUTH["models"][MODEL]["reference"]
    assert (entry["min_arena"], entry["arena_used_bytes"]) == (truth["min_arena"], truth["arena_used_bytes"])
    assert entry["trials"] == "allocate-only"
    assert entry["fails_below_with"] == "ALLOC_FAIL" and "note" not in entry
    # the allocate-only run reports no Invoke; the full run at the minimum does, with the reference hash
    alloc_only = mod.trial(elf, truth["min_arena"], 60.0, None, invoke=False)
    full = mod.trial(elf, truth["min_arena"], 120.0, None)
    assert alloc_only.ok and alloc_only.hash == "" and full.ok and full.hash
