"""Project rendering: what a generated PlatformIO project contains, for the emulated and real boards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.boards import get_board
from tinygen.errors import UsageError
from tinygen.model import load_model
from tinygen.project import TFLM_LIB_DEP, generate_project, render_project

HELLO = "hello_world/hello_world_int8.tflite"
KWS = "micro_speech/micro_speech_quantized.tflite"


@pytest.fixture()
def hello_model(models_dir: Path):  # type: ignore[no-untyped-def]
    return load_model(models_dir / HELLO)


@pytest.fixture()
def no_local_tflm(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real-board TFLM projects without a local tree (whatever the caller's environment says)."""
    monkeypatch.delenv("TINYGEN_TFLM_DIR", raising=False)
    monkeypatch.setenv("TINYGEN_CONFIG", "/nonexistent/tinygen.toml")


def _text(files: dict[str, str | bytes], name: str) -> str:
    content = files[name]
    return content.decode() if isinstance(content, bytes) else content


def test_qemu_aot_project_layout(hello_model) -> None:  # type: ignore[no-untyped-def]
    files, tree, name = render_project(get_board("qemu-m4"), hello_model, "hello", "aot")
    assert tree is None and name == "hello_world_int8"
    ini = _text(files, "platformio.ini")
    assert "platform = symlink://" in ini and "board = tinygen_qemu_m4" in ini
    assert "board_build.ldscript = ld/qemu-m4.ld" in ini and "-Werror" in ini
    assert "lib_deps" not in ini  # AOT needs no library: nothing to download
    ld = _text(files, "ld/qemu-m4.ld")
    assert "LENGTH = 1048576" in ld and "LENGTH = 262144" in ld and "STACK_SIZE = 8192" in ld
    for needed in ("src/board/startup.c", "src/board/board.c", "src/app/hello.c", "include/tg_board.h",
                   "include/tg_runtime.h", "include/tg_app.h", "include/tg_project.h", "src/aot/tg_aot.h",
                   "src/model/hello_world_int8_model.c"):
        assert needed in files, needed
    # each kernel exactly once (the generator's flattened copies are dropped)
    basenames = [Path(p).name for p in files if p.startswith("src/")]
    assert len(basenames) == len(set(basenames))
    assert '#define TG_BOARD_NAME "qemu-m4"' in _text(files, "include/tg_project.h")
    manifest = json.loads(_text(files, "tinygen.json"))
    assert manifest["board"] == "qemu-m4" and manifest["model_sha256"] == hello_model.sha256


def test_rendering_is_deterministic(hello_model) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = render_project(get_board("qemu-m4"), hello_model)
    b, _, _ = render_project(get_board("qemu-m4"), hello_model)
    assert a == b


def test_nano33_tflm_project_uses_the_official_platform(hello_model, no_local_tflm) -> None:  # type: ignore[no-untyped-def]
    files, tree, _ = render_project(get_board("nano33"), hello_model, "hello", "tflm", arena_size=4096)
    assert tree is None
    ini = _text(files, "platformio.ini")
    for line in ("[env:nano33ble]", "platform = nordicnrf52", "board = nano33ble", "framework = arduino",
                 "monitor_speed = 115200", TFLM_LIB_DEP):
        assert line in ini, line
    assert "#7948b85e020470a30a83bf00e10fc43b486bfcba" in TFLM_LIB_DEP  # pinned to a commit
    assert "src/board/tg_board_arduino.cpp" in files and "ld/nano33ble.ld" not in files
    assert "#define TG_TFLM_ARENA_SIZE HELLO_WORLD_INT8_ARENA_SIZE" in _text(files, "include/tg_tflm_model.h")
    assert "#define HELLO_WORLD_INT8_ARENA_SIZE_REFERENCE 4096" in _text(files, "src/model/hello_world_int8_arena.h")


def test_pio_parses_the_nano33_project(tmp_path: Path, models_dir: Path, no_local_tflm: None) -> None:
    """`pio project config` reads the platformio.ini we write for the official nordicnrf52 platform."""
    generate_project("nano33", models_dir / HELLO, tmp_path / "p", runtime="tflm", arena_size=4096)
    env = dict(os.environ, PLATFORMIO_CORE_DIR=str(tmp_path / "core"), PLATFORMIO_SETTING_ENABLE_TELEMETRY="no")
    out = subprocess.run([sys.executable, "-m", "platformio", "project", "config", "-d", str(tmp_path / "p"),
                          "--json-output"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    sections = dict(json.loads(out.stdout))
    opts = dict(sections["env:nano33ble"])
    assert opts["platform"] == "nordicnrf52" and opts["board"] == "nano33ble" and opts["framework"] == ["arduino"]
    assert any("tflite-micro-arduino-examples" in d for d in opts["lib_deps"])


@pytest.mark.parametrize("kwargs,needle", [
    ({"app": "nope"}, "unknown app 'nope'"),
    ({"runtime": "onnx"}, "unknown runtime 'onnx'"),
    ({"runtime": "tflm", "arena_size": 4096}, "needs a local TensorFlow Lite Micro tree"),
])
def test_bad_options(hello_model, monkeypatch: pytest.MonkeyPatch, kwargs, needle: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TINYGEN_TFLM_DIR", raising=False)
    monkeypatch.setenv("TINYGEN_CONFIG", "/nonexistent")
    with pytest.raises(UsageError, match=needle):
        render_project(get_board("qemu-m4"), hello_model, **kwargs)


def test_bad_tflm_dir(hello_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="is not a TensorFlow Lite Micro tree"):
        render_project(get_board("qemu-m4"), hello_model, runtime="tflm", tflm_dir=tmp_path, arena_size=4096)


def test_refuses_foreign_directory_and_writes_nothing(tmp_path: Path, models_dir: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not generated by tinygen"):
        generate_project("qemu-m4", models_dir / HELLO, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_regenerating_removes_stale_files_and_keeps_unchanged(tmp_path: Path, models_dir: Path) -> None:
    out = tmp_path / "p"
    first = generate_project("qemu-m4", models_dir / HELLO, out)
    assert (out / "src/model/hello_world_int8_model.c").is_file()
    again = generate_project("qemu-m4", models_dir / HELLO, out)
    assert again.changed == ()
    generate_project("qemu-m4", models_dir / KWS, out)
    assert not (out / "src/model/hello_world_int8_model.c").exists()
    assert (out / "src/model/micro_speech_quantized_model.c").is_file()
    assert len(first.files) > 10


def test_cli_generate_unknown_board(tmp_path: Path, models_dir: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "generate", "--board", "esp8266",
                          "--model", str(models_dir / HELLO), "-o", str(tmp_path / "p")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 4
    assert "unknown board 'esp8266'" in out.stderr and not (tmp_path / "p").exists()


ARM_GXX = shutil.which("arm-none-eabi-g++")


@pytest.mark.tflm
@pytest.mark.skipif(ARM_GXX is None, reason="arm-none-eabi-g++ not installed")
def test_tflm_sources_compile_for_cortex_m4_with_werror(tmp_path: Path, models_dir: Path) -> None:
    """The nano33 project's own TFLM sources (glue, model, resolver) compile for Cortex-M4 against a
    local TFLM tree with -Wall -Wextra -Werror (the board glue needs the Arduino core: not here)."""
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        pytest.skip("set TINYGEN_TFLM_DIR to a TFLM tree")
    from tinygen.platform.tflm import find_tflm_tree

    tree = find_tflm_tree(Path(tflm_dir))
    project = generate_project("nano33", models_dir / KWS, tmp_path / "p", runtime="tflm", arena_size=8192)
    # real boards: the TFLM glue is its own C++17 library (lib/tinygen-tflm-runtime), -Werror too
    glue = project.path / "lib/tinygen-tflm-runtime"
    assert "-Werror" in json.loads((glue / "library.json").read_text())["build"]["flags"]
    sources = [glue / "src/tg_runtime_tflm.cc", project.path / "src/model/micro_speech_quantized_model_data.cc"]
    cmd = [ARM_GXX, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-std=c++17", "-Os",
           "-fno-rtti", "-fno-exceptions", "-Wall", "-Wextra", "-Werror", "-DTF_LITE_STATIC_MEMORY",
           f"-I{project.path / 'include'}", f"-I{project.path / 'src/model'}", "-c"]
    cmd += [a for d in tree.include_dirs for a in ("-isystem", str(d))]
    for src in sources:
        res = subprocess.run(cmd + [str(src), "-o", str(tmp_path / (src.stem + ".o"))], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]


def test_signal_ops_need_a_local_tflm_tree_on_real_boards(models_dir: Path, no_local_tflm: None) -> None:
    model = load_model(models_dir / "micro_speech/audio_preprocessor_int8.tflite")
    with pytest.raises(UsageError, match="uses TFLM Signal ops"):
        render_project(get_board("nano33"), model, runtime="tflm", arena_size=8192)
    files, _, _ = render_project(get_board("nano33"), model, runtime="aot")  # AOT has them
    assert "src/aot/signal/tg_signal.h" in files


_CPU_FLAGS = {
    "cortex-m4f": ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7f": ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mfloat-abi=soft"],
}


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("board", ["nano33ble", "nucleo_l4r5zi", "disco_f746ng", "pico"])
def test_aot_hello_sources_compile_for_each_real_board_core(tmp_path: Path, models_dir: Path, board: str) -> None:
    """What a real board's project compiles of tinygen's C (app, model, AOT kernels) builds for its
    core with -Werror; the Arduino glue itself needs the Arduino core and is not compiled here."""
    project = generate_project(board, models_dir / KWS, tmp_path / "p", runtime="aot")
    flags = _CPU_FLAGS[project.board.core]
    sources = sorted(p for p in (project.path / "src").rglob("*.c"))
    assert any(p.parent.name == "app" for p in sources) and any(p.parent.name == "model" for p in sources)
    include = [f"-I{project.path / d}" for d in ("include", "src/model", "src/aot", "src/aot/signal")]
    for src in sources:
        res = subprocess.run(["arm-none-eabi-gcc", "-mthumb", *flags, "-std=c11", "-Os", "-Wall", "-Wextra", "-Werror",
                              *include, "-c", str(src), "-o", str(tmp_path / "x.o")], capture_output=True, text=True)
        assert res.returncode == 0, f"{src.name}: {res.stderr[-1500:]}"


def test_hil_app_carries_the_link_library(hello_model) -> None:  # type: ignore[no-untyped-def]
    files, _, _ = render_project(get_board("qemu-m4"), hello_model, app="hil")
    for path in ("src/app/main.c", "src/link/tg_link.c", "src/link/tg_hil.c", "include/tg_link.h", "include/tg_hil.h"):
        assert path in files, path


def _fake_tflm_tree(root: Path) -> Path:
    micro = root / "tensorflow/lite/micro"
    (micro / "kernels").mkdir(parents=True)
    (micro / "micro_interpreter.h").write_text("// fake\n")
    (micro / "micro_interpreter.cc").write_text("// fake\n")
    (micro / "micro_mutable_op_resolver.h").write_text(
        "  TfLiteStatus AddFullyConnected(\n      const TFLMRegistration& registration = Register_FULLY_CONNECTED()) {\n"
        "    return kTfLiteOk;\n  }\n"
        "  TfLiteStatus AddConv2D(\n      const TFLMRegistration& registration = Register_CONV_2D()) {\n"
        "    return kTfLiteOk;\n  }\n")
    (micro / "kernels/fully_connected.cc").write_text("TFLMRegistration Register_FULLY_CONNECTED() { }\n")
    (micro / "kernels/conv.cc").write_text("TFLMRegistration Register_CONV_2D() { }\n")
    (micro / "kernels/kernel_util.cc").write_text("// helpers\n")
    (micro / "kernels/conv_test.cc").write_text("// test\n")
    for d in ("flatbuffers/include", "gemmlowp", "ruy", "kissfft"):
        (root / "third_party" / d).mkdir(parents=True)
    return root


def test_local_tflm_tree_becomes_a_shared_library(hello_model, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_BUILD_CACHE", str(tmp_path / "cache"))
    tree = _fake_tflm_tree(tmp_path / "tflm")
    files, found, _ = render_project(get_board("qemu-m4"), hello_model, runtime="tflm", tflm_dir=tree,
                                     arena_size=4096)
    assert found is not None and found.root == tree.resolve()
    lib = json.loads(_text(files, "tflm/library.json"))
    sources = [f for f in lib["build"]["srcFilter"] if f.startswith("+<")]
    # hello_world registers FULLY_CONNECTED only: conv.cc and tests are left out, helpers kept
    assert sources == ["+<tensorflow/lite/micro/kernels/fully_connected.cc>",
                       "+<tensorflow/lite/micro/kernels/kernel_util.cc>",
                       "+<tensorflow/lite/micro/micro_interpreter.cc>"]
    ini = _text(files, "platformio.ini")
    assert f"lib_extra_dirs =\n    {tmp_path / 'tflm-libs'}" in ini and "lib_deps =\n    tflite-micro" in ini
    assert f"-isystem {tree.resolve()}" in ini and not any(p.startswith("lib/") for p in files)
    assert "src/runtime/tg_runtime_tflm.cc" in files and "src/runtime/tg_debug_log.cc" in files


def test_unpatched_kissfft_is_refused_for_signal_models(tmp_path: Path, models_dir: Path) -> None:
    """An unpatched kissfft fails deep inside the TFLM build; tinygen says so before building."""
    from tinygen.platform.tflm import TflmTree

    tree = _fake_tflm_tree(tmp_path / "tflm")
    guts = tree / "third_party/kissfft/_kiss_fft_guts.h"
    guts.write_text("/* kissfft as released, without TFLM's include guard */\nstruct kiss_fft_state { int n; };\n")
    t = TflmTree(root=tree, third_party=tree / "third_party", revision="local")
    t.library_manifest(signal=False)  # models without Signal ops do not need kissfft
    with pytest.raises(UsageError, match="lacks TFLM's patch"):
        t.library_manifest(signal=True)
    guts.write_text("#ifndef _KISS_FFT_GUTS_H\n#define _KISS_FFT_GUTS_H\n#endif\n")
    assert t.library_manifest(signal=True)["name"] == "tflite-micro"
