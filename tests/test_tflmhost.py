"""A local TFLM tree compiled for the host (tinygen.tflmhost): the reference of `verify --runtime tflm`.

The tests marked `tflm` use the tree in TINYGEN_TFLM_DIR (skipped when it is unset, as in CI); its
host build is cached in TINYGEN_CACHE_DIR, so only the first run with a cache pays the few minutes
of compiling TFLM (the sources an int16 SUB and CONV_2D need); later runs take a second. The
error-path tests build a small broken tree of their own and run wherever a C++ compiler is.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.emulator import qemu_available
from tinygen.errors import BuildError, ToolMissingError
from tinygen.model import load_model
from tinygen.platform.tflm import TflmTree, find_tflm_tree, ratios_in_float
from tinygen.reference import Reference
from tinygen.tflmhost import TreeReference, build_runner, cxx_compiler
from tinygen.tflmhost.build import HostBuild, tree_fingerprint

SEANET = Path(__file__).resolve().parent / "data" / "seanet"
HAS_CXX = any(shutil.which(c) for c in ("c++", "g++", "clang++"))


@pytest.fixture(scope="module")
def tree() -> TflmTree:
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        pytest.skip("set TINYGEN_TFLM_DIR to a TFLM tree (its host build is cached after the first run)")
    if not HAS_CXX:
        pytest.skip("no host C++ compiler")
    return find_tflm_tree(Path(tflm_dir))


def _compare(ref: Reference, other: Reference, runs: int, seed: int = 0) -> list[int]:
    """Max |difference| per run over all outputs, one stream (state carried across runs)."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(runs):
        xs = [spec.random(rng) for spec in ref.inputs]
        a, b = ref.run(*xs), other.run(*xs)
        diffs.append(max(int(np.abs(x.astype(np.int64) - y.astype(np.int64)).max(initial=0)) for x, y in zip(a, b)))
    return diffs


@pytest.mark.tflm
@pytest.mark.parametrize("model", [pytest.param(SEANET / "conv0.tflite", id="conv0"),
                                   # 12 more kernels to compile the first time (3 min): slow
                                   pytest.param("micro_wake_word/vad.tflite", id="vad", marks=pytest.mark.slow)])
def test_tree_on_the_host_equals_the_wheel_without_sub_or_leaky_relu(tree: TflmTree, model: Path | str,
                                                                      models_dir: Path) -> None:
    """Where the two TFLM versions compute alike (no SUB/LEAKY_RELU), the host-built tree equals the
    PyPI interpreter bit for bit; vad streams (resource variables), so state across runs and
    reset() must agree too."""
    info = load_model(model if isinstance(model, Path) else models_dir / model)
    wheel = Reference.from_bytes(info.data)
    host = TreeReference.build(tree, info)
    try:
        assert host.kind == "tflm-tree" and str(tree.root) in host.label
        assert [(s.dtype, s.shape, s.scale, s.zero_point) for s in host.inputs] == \
               [(s.dtype, s.shape, s.scale, s.zero_point) for s in wheel.inputs]
        first = _compare(host, wheel, 6)
        assert first == [0] * 6
        host.reset()
        wheel.reset()
        assert _compare(host, wheel, 3, seed=1) == [0, 0, 0]
    finally:
        host.close()


@pytest.mark.tflm
def test_tree_on_the_host_computes_sub_as_its_version_does(tree: TflmTree) -> None:
    """sub4 (int16 SUB): a tree that divides the multiplier ratio in float (TFLM up to 90b983c)
    differs from the wheel (double, pull request 3274) by exactly 1 on some inputs; a tree with
    that change equals it. Either way the host build is that tree's TFLM, not the wheel's."""
    info = load_model(SEANET / "sub4.tflite")
    host = TreeReference.build(tree, info)
    try:
        diffs = _compare(host, Reference.from_bytes(info.data), 5)
    finally:
        host.close()
    if ratios_in_float(tree):
        assert max(diffs) == 1 and diffs.count(0) < 5, diffs
    else:
        assert diffs == [0] * 5


@pytest.mark.tflm
def test_the_host_build_is_cached_per_tree(tree: TflmTree) -> None:
    info = load_model(SEANET / "sub4.tflite")
    exe = build_runner(tree, info)
    build = HostBuild.for_tree(tree)
    objects = {p: p.stat().st_mtime_ns for p in (build.directory / "obj").rglob("*.o")}
    assert exe.is_file() and exe.is_relative_to(build.directory) and objects
    assert not exe.is_relative_to(tree.root)  # nothing is built inside the tree
    assert build_runner(tree, info) == exe
    assert {p: p.stat().st_mtime_ns for p in (build.directory / "obj").rglob("*.o")} == objects


# --- a tree of one's own: the cache key, and the errors -----------------------------------------------

def _broken_tree(root: Path) -> TflmTree:
    """The shape of a TFLM tree (find_tflm_tree accepts it) whose interpreter does not compile."""
    micro = root / "tensorflow/lite/micro"
    micro.mkdir(parents=True)
    (micro / "micro_interpreter.h").write_text("#pragma once\n")
    (micro / "micro_mutable_op_resolver.h").write_text("#pragma once\n")
    (micro / "micro_interpreter.cc").write_text('#include "tensorflow/lite/micro/micro_interpreter.h"\n'
                                                "this is not C++;\n")
    for d in ("flatbuffers/include", "gemmlowp", "ruy"):
        (root / "third_party" / d).mkdir(parents=True)
    return find_tflm_tree(root)


def test_the_cache_key_follows_the_trees_files(tmp_path: Path) -> None:
    tree = _broken_tree(tmp_path / "tflm")
    before = tree_fingerprint(tree)
    assert tree_fingerprint(tree) == before
    header = tree.root / "tensorflow/lite/micro/micro_interpreter.h"
    header.write_text("#pragma once\n// edited\n")
    assert tree_fingerprint(tree) != before


@pytest.mark.skipif(not HAS_CXX, reason="no host C++ compiler")
def test_a_tree_that_does_not_compile_is_exit_5_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_CACHE_DIR", str(tmp_path / "cache"))
    tree = _broken_tree(tmp_path / "tflm")
    with pytest.raises(BuildError, match=r"micro_interpreter\.cc does not compile") as exc:
        build_runner(tree, load_model(SEANET / "sub4.tflite"))
    assert exc.value.exit_code == 5 and exc.value.hint and "--reference wheel" in exc.value.hint
    log = next((tmp_path / "cache" / "tflm-host").glob("*/failed.log"))
    assert "this is not C++" in log.read_text()
    assert sorted(p.name for p in (tmp_path / "tflm").rglob("*")) == sorted(  # nothing written in the tree
        ["tensorflow", "lite", "micro", "micro_interpreter.h", "micro_mutable_op_resolver.h", "micro_interpreter.cc",
         "third_party", "flatbuffers", "include", "gemmlowp", "ruy"])
    _register()  # the same through the CLI: one line + hint, exit 5, before any firmware is built
    res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "-m", str(SEANET / "sub4.tflite"), "--random", "1",
                                   "--runtime", "tflm", "--tflm-dir", str(tree.root)])
    assert res.exit_code == 5, res.output
    assert "does not compile" in res.output and "--reference wheel" in res.output


def test_no_cxx_compiler_is_exit_6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no compiler on it
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(ToolMissingError, match=r"no C\+\+ compiler") as exc:
        cxx_compiler()
    assert exc.value.exit_code == 6 and exc.value.hint and "--reference wheel" in exc.value.hint
    tree = _broken_tree(tmp_path / "tflm")
    _register()
    res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "-m", str(SEANET / "sub4.tflite"), "--random", "1",
                                   "--runtime", "tflm", "--tflm-dir", str(tree.root)])
    assert res.exit_code == 6, res.output
    assert "no C++ compiler" in res.output


def test_reference_tree_needs_the_tflm_runtime_and_a_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYGEN_TFLM_DIR", raising=False)
    _register()
    for extra in (["--runtime", "aot"], ["--runtime", "tflm"]):
        res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "-m", str(SEANET / "sub4.tflite"), "--random",
                                       "1", "--reference", "tree", *extra])
        assert res.exit_code == 2, res.output
        assert "--reference tree" in res.output


# --- verify on the emulated board against the tree --------------------------------------------------

@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.tflm
@pytest.mark.slow  # PlatformIO compiles TFLM for the firmware the first time (13 min here), as in test_verify_tflm.py
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_verify_tflm_is_bit_exact_against_the_devices_own_tflm(tree: TflmTree, tmp_path: Path) -> None:
    """sub4 on qemu-m4 with --runtime tflm: bit-exact against the tree built for the host (it
    differed by 1 from the wheel on TFLM 90b983c); --reference wheel still shows that difference
    and its hint names the cause."""
    _register()
    base = ["verify", "--board", "qemu-m4", "-m", str(SEANET / "sub4.tflite"), "--random", "3", "--runtime", "tflm",
            "--tflm-dir", str(tree.root)]
    report = tmp_path / "tree.json"
    res = CliRunner().invoke(cli, [*base, "--report", str(report)])
    assert res.exit_code == 0, res.output
    doc = json.loads(report.read_text())
    assert doc["ok"] and doc["completed"] == 3 and doc["device"]["runtime"] == "tflm"
    assert doc["reference"]["kind"] == "tflm-tree" and str(tree.root) in doc["reference"]["label"]
    assert all(o["exact"] == 3 for o in doc["outputs"])
    assert "reference: TFLM at" in res.output
    if ratios_in_float(tree):
        res = CliRunner().invoke(cli, [*base, "--reference", "wheel", "--report", str(tmp_path / "wheel.json")])
        assert res.exit_code == 8, res.output
        assert "pull request 3274" in res.output
        wheel = json.loads((tmp_path / "wheel.json").read_text())
        assert wheel["reference"]["kind"] == "wheel" and max(o["max_abs_error"] for o in wheel["outputs"]) == 1
