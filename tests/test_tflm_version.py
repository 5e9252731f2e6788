"""Which TFLM a project compiles, and whether its arena is exact: a modelled TFLM by commit or
content hash, anything else with the documented margin and a note that says so."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tinygen.boards import get_board
from tinygen.errors import UsageError
from tinygen.model import load_model
from tinygen.platform.tflm import (
    UNMODELLED_MARGIN_BYTES,
    UNMODELLED_MARGIN_PERCENT,
    TflmTree,
    arena_source_hash,
    find_tflm_tree,
    identify,
)
from tinygen.project import render_project, tflm_arena_sizes

KWS = "micro_speech/micro_speech_quantized.tflite"
TFLM_DIR = os.environ.get("TINYGEN_TFLM_DIR")


@pytest.fixture()
def no_local_tflm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYGEN_TFLM_DIR", raising=False)
    monkeypatch.setenv("TINYGEN_CONFIG", "/nonexistent/tinygen.toml")


def _fake_tree(root: Path, allocator: str) -> TflmTree:
    micro = root / "tensorflow" / "lite" / "micro"
    (micro / "kernels").mkdir(parents=True)
    (micro / "micro_allocator.cc").write_text(allocator)
    (micro / "kernels" / "conv.cc").write_text("// conv\n")
    (micro / "kernels" / "conv_test.cc").write_text("// a test: not part of the hash\n")
    return TflmTree(root, root / "third_party", "local")


def test_content_hash_ignores_tests_and_extension(tmp_path: Path) -> None:
    a = _fake_tree(tmp_path / "a", "// allocator v1\n")
    b = _fake_tree(tmp_path / "b", "// allocator v1\n")
    (b.root / "tensorflow/lite/micro/kernels/conv_test.cc").write_text("changed test")
    (b.root / "tensorflow/lite/micro/kernels/conv.cc").rename(b.root / "tensorflow/lite/micro/kernels/conv.cpp")
    assert arena_source_hash(a.root) == arena_source_hash(b.root)
    c = _fake_tree(tmp_path / "c", "// allocator v2\n")
    assert arena_source_hash(c.root) != arena_source_hash(a.root)


def test_unknown_tree_is_not_modelled_and_gets_the_margin(tmp_path: Path) -> None:
    version = identify(_fake_tree(tmp_path / "t", "// someone's TFLM\n"))
    assert not version.modelled and version.ident.startswith("sha256:")
    exact = 6800
    want = exact + exact * UNMODELLED_MARGIN_PERCENT // 100 + UNMODELLED_MARGIN_BYTES
    assert version.reserve(exact) == (want + 15) // 16 * 16 and version.reserve(exact) % 16 == 0
    assert "not exact" in version.arena_note


def test_pinned_arduino_export_is_not_modelled() -> None:
    version = identify(None)
    assert not version.modelled and "7948b85" in version.label and version.reserve(1000) > 1000


@pytest.mark.tflm
@pytest.mark.skipif(not TFLM_DIR, reason="set TINYGEN_TFLM_DIR to a TFLM tree (tflite-micro 90b983c)")
def test_90b983c_is_modelled_by_commit_and_by_content(tmp_path: Path) -> None:
    tree = find_tflm_tree(Path(str(TFLM_DIR)))
    version = identify(tree)
    if not tree.revision.startswith("90b983c"):
        pytest.skip(f"TINYGEN_TFLM_DIR is at {tree.revision}, not 90b983c")
    assert version.modelled and version.ident == "90b983c2b3f1" and version.reserve(6800) == 6800
    # the same sources without .git are recognised by their content
    copy = TflmTree(tree.root, tree.third_party, "local")
    assert identify(copy).modelled and identify(copy).ident.startswith("sha256:")


ARDUINO_TRUTH = json.loads((Path(__file__).parent / "data" / "arena_truth_arduino.json").read_text())


def test_default_real_board_tflm_says_not_exact(no_local_tflm: None, models_dir: Path) -> None:
    model = load_model(models_dir / KWS)
    files, tree, name = render_project(get_board("nano33ble"), model, "hil", "tflm")
    assert tree is None
    header = str(files[f"src/model/{name}_arena.h"])
    assert "NOT EXACT" in header and "7948b85" in header
    # the export compiles CMSIS-NN kernels but the nano33ble build does not define CMSIS_NN: both
    # figures are the CMSIS-NN one + margin, and that holds what the export needs (measured)
    reserved = int(header.split(f"{name.upper()}_ARENA_SIZE_REFERENCE ", 1)[1].split()[0])
    assert f"{name.upper()}_ARENA_SIZE_CMSIS_NN {reserved}\n" in header
    assert reserved == identify(None).reserve(tflm_arena_sizes(model).cmsis_nn) and "cmsis-nn figure" in header
    assert reserved >= ARDUINO_TRUTH["models"][KWS]["min_arena"]
    info = json.loads(str(files["tinygen.json"]))["tflm"]
    assert info["modelled"] is False and "not exact" in info["arena"]


@pytest.mark.parametrize("rel", sorted(ARDUINO_TRUTH["models"]))
def test_margin_holds_the_arduino_exports_measured_arena(models_dir: Path, rel: str) -> None:
    """The export (7948b85) is not modelled; its measured minimum arena on qemu-m4 differs from
    tinygen's 90b983c figures (up to 9.9 % above the reference one on the zoo) and is within the
    reserve tinygen writes for it (the CMSIS-NN figure + 25 % + 1024)."""
    sizes = tflm_arena_sizes(load_model(models_dir / rel))
    need = ARDUINO_TRUTH["models"][rel]["min_arena"]
    assert need not in (sizes.reference, sizes.cmsis_nn)  # why 90b983c's exact figures are not the export's
    assert identify(None).reserve(sizes.cmsis_nn) >= need, f"{rel}: the export needs {need}"


@pytest.mark.parametrize("board", ["nucleo_l4r5zi", "disco_f746ng", "pico"])
def test_arduino_export_refused_off_the_nano(no_local_tflm: None, models_dir: Path, board: str) -> None:
    with pytest.raises(UsageError, match="Nano 33 BLE-only code") as err:
        render_project(get_board(board), load_model(models_dir / KWS), "hil", "tflm")
    assert "--tflm-dir" in (err.value.hint or "")


@pytest.mark.tflm
@pytest.mark.skipif(not TFLM_DIR, reason="set TINYGEN_TFLM_DIR to a TFLM tree (tflite-micro 90b983c)")
def test_local_tree_on_every_real_board(models_dir: Path) -> None:
    """--tflm-dir works for every board: the tree as a PlatformIO library, arena exact (90b983c)."""
    model = load_model(models_dir / KWS)
    for board in ("nano33ble", "nucleo_l4r5zi", "disco_f746ng", "pico"):
        files, tree, _ = render_project(get_board(board), model, "hil", "tflm", tflm_dir=Path(str(TFLM_DIR)))
        assert tree is not None and "tflm/library.json" in files
        ini = str(files["platformio.ini"])
        assert "lib_extra_dirs" in ini and "tflite-micro-arduino-examples" not in ini
        info = json.loads(str(files["tinygen.json"]))["tflm"]
        assert info["modelled"] is (tree.revision.startswith("90b983c"))
