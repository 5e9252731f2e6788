"""Offline real-board builds from a folder of PlatformIO packages (--packages / TINYGEN_PIO_PACKAGES):
reading the folder, installing it with PlatformIO's own package manager, what the project pins, and
the exit codes and JSON when something is missing. Runs without any framework (CI)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.boards import get_board
from tinygen.build.packages import install_folder_library, install_local_packages, installed_from
from tinygen.build.pio import pio_environment
from tinygen.config import load_settings
from tinygen.errors import ToolMissingError, UsageError
from tinygen.kws.project import kws_app_files
from tinygen.model import load_model
from tinygen.platform import QEMU_PLATFORM_DIR
from tinygen.platform.packages import library_root, read_package_folder
from tinygen.project import PDM_LIBRARY, TFLM_LIB_NAME, render_project
from tinygen.report import silent

HELLO = "hello_world/hello_world_int8.tflite"
KWS = "micro_speech/micro_speech_quantized.tflite"


def _package(root: Path, dirname: str, manifest: str, doc: dict[str, object]) -> Path:
    path = root / dirname
    path.mkdir(parents=True)
    (path / manifest).write_text(json.dumps(doc))
    return path


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A packages folder shaped like one copied from a connected machine (manifests only)."""
    root = tmp_path / "pio-packages"
    _package(root, "platform-nordicnrf52", "platform.json", {
        "name": "nordicnrf52", "version": "10.11.0", "packages": {
            "toolchain-gccarmnoneeabi": {"type": "toolchain", "owner": "platformio", "version": "~1.70201.0"},
            "framework-arduino-mbed": {"type": "framework", "optional": True, "owner": "platformio"}}})
    _package(root, "toolchain-gccarmnoneeabi", "package.json",
             {"name": "toolchain-gccarmnoneeabi", "version": "1.70201.0"})
    _package(root, "framework-arduino-mbed", "package.json", {"name": "framework-arduino-mbed", "version": "4.5.0"})
    _package(root, "framework-arduinoststm32", "package.json",
             {"name": "framework-arduinoststm32", "version": "4.21200.0"})  # not nordicnrf52's
    lib = root / "Arduino_TensorFlowLite"
    lib.mkdir()
    (lib / "library.properties").write_text(f"name={TFLM_LIB_NAME}\nversion=2.4.0-ALPHA\n")
    (root / "notes.txt").write_text("not a package")
    return root


def test_folder_is_read_by_manifest(folder: Path) -> None:
    pkgs = read_package_folder(folder)
    assert {(p.kind, p.name) for p in pkgs.packages} == {
        ("platform", "nordicnrf52"), ("tool", "toolchain-gccarmnoneeabi"), ("tool", "framework-arduino-mbed"),
        ("tool", "framework-arduinoststm32"), ("library", TFLM_LIB_NAME)}
    # only the tools the platform declares are pinned for its boards
    assert [p.name for p in pkgs.platform_tools("nordicnrf52")] == ["framework-arduino-mbed",
                                                                     "toolchain-gccarmnoneeabi"]
    assert pkgs.platform_tools("ststm32") == []


def test_folder_archives_and_errors(tmp_path: Path) -> None:
    src = _package(tmp_path / "src", "tool-x", "package.json", {"name": "tool-x", "version": "1.2.3"})
    (tmp_path / "pkgs").mkdir()
    shutil.make_archive(str(tmp_path / "pkgs" / "tool-x-1.2.3"), "gztar", root_dir=src.parent, base_dir="tool-x")
    pkgs = read_package_folder(tmp_path / "pkgs")
    assert [(p.kind, p.name, p.version, p.path.name) for p in pkgs.packages] == [
        ("tool", "tool-x", "1.2.3", "tool-x-1.2.3.tar.gz")]
    with pytest.raises(UsageError, match="does not exist"):
        read_package_folder(tmp_path / "missing")
    shutil.copytree(src, tmp_path / "pkgs" / "tool-x-copy")
    with pytest.raises(UsageError, match="more than one tool tool-x"):
        read_package_folder(tmp_path / "pkgs")


def test_project_pins_the_folder(folder: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINYGEN_TFLM_DIR", raising=False)
    monkeypatch.setenv("TINYGEN_CONFIG", "/nonexistent/tinygen.toml")
    model = load_model(models_dir / KWS)
    files, _, _ = render_project(get_board("nano33ble"), model, "kws", "tflm", packages_dir=folder, tflm_dir=None,
                                 app_files=kws_app_files)
    ini = str(files["platformio.ini"])
    assert f"framework-arduino-mbed@file://{folder}/framework-arduino-mbed" in ini
    assert f"toolchain-gccarmnoneeabi@file://{folder}/toolchain-gccarmnoneeabi" in ini
    assert "framework-arduinoststm32" not in ini
    # the TFLM library from the folder instead of GitHub, and the core's PDM library named
    # by name, found in lib_extra_dirs: a URI would make PlatformIO install the library's declared
    # dependencies (the Arduino export's depends=ArduinoBLE,...) from the registry
    assert "github.com" not in ini and "file://" not in ini.split("lib_deps =", 1)[1]
    lib_deps = ini.split("lib_deps =", 1)[1].split("\n\n", 1)[0]
    assert f"\n    {PDM_LIBRARY}\n" in lib_deps + "\n" and f"\n    {TFLM_LIB_NAME}\n" in lib_deps + "\n"
    lib = read_package_folder(folder).find("library", TFLM_LIB_NAME)
    assert lib is not None
    assert f"lib_extra_dirs =\n    {library_root(lib, load_settings().build_cache_dir)}\n" in ini
    assert json.loads(str(files["tinygen.json"]))["packages"] == str(folder)


def test_pdm_only_where_the_core_has_it(models_dir: Path) -> None:
    model = load_model(models_dir / KWS)
    for board, wanted in (("nano33ble", True), ("disco_f746ng", False)):
        files, _, _ = render_project(get_board(board), model, "kws", "aot", app_files=kws_app_files)
        assert (f"\n    {PDM_LIBRARY}" in str(files["platformio.ini"])) is wanted, board


def test_board_glue_takes_stack_bounds_from_the_cores() -> None:
    """The Arduino glue names the cores' own symbols (checked against the real cores by the
    framework tests): Mbed OS's main-thread stack, STM32duino's _estack, no address arithmetic on
    a local variable (GCC 12's -Werror=dangling-pointer)."""
    from tinygen.resources import firmware_dir

    glue = (firmware_dir() / "boards" / "arduino" / "tg_board_arduino.cpp").read_text()
    assert "_main_stack" in glue and "MBED_CONF_RTOS_MAIN_THREAD_STACK_SIZE" in glue
    assert "_estack" in glue and "sbrk(0)" in glue and "__builtin_frame_address(0)" in glue
    assert "&here" not in glue


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_missing_platform_in_folder_exits_6_with_json(folder: Path, tmp_path: Path, models_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_PIO_CORE_DIR", str(tmp_path / "core"))
    monkeypatch.setenv("TINYGEN_PIO_REGISTRY", f"127.0.0.1:{_closed_port()}")
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "build", "--board", "nucleo_l4r5zi",
                           "--model", str(models_dir / HELLO), "--packages", str(folder),
                           "-o", str(tmp_path / "p"), "--json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 6, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "tinygen.build" and doc["ok"] is False
    assert doc["error"]["exit_code"] == 6 and "no PlatformIO platform 'ststm32'" in doc["error"]["message"]
    assert "error: the packages folder" in proc.stderr


def test_offline_without_folder_exits_6_with_json(tmp_path: Path, models_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYGEN_PIO_CORE_DIR", str(tmp_path / "core"))
    monkeypatch.setenv("TINYGEN_PIO_REGISTRY", f"127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("TINYGEN_PIO_PACKAGES", raising=False)
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "build", "--board", "pico",
                           "--model", str(models_dir / HELLO), "-o", str(tmp_path / "p"), "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 6, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and "'raspberrypi' not installed" in doc["error"]["message"]
    assert "--packages DIR" in doc["error"]["hint"]


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_folder_installs_with_platformio(tmp_path: Path) -> None:
    """The import path on a platform that runs here: tinygen's own QEMU platform and a toolchain
    package made from the system arm-none-eabi-gcc, installed by `pio pkg install -g ... file://`
    into a fresh core dir; a second call installs nothing; PlatformIO itself lists them."""
    root = tmp_path / "pkgs"
    shutil.copytree(QEMU_PLATFORM_DIR, root / "platform-tinygen-qemu")
    doc = json.loads((root / "platform-tinygen-qemu" / "platform.json").read_text())
    doc["packages"] = {"toolchain-gccarmnoneeabi": {"type": "toolchain", "owner": "platformio",
                                                    "version": "~1.120201.0"}}
    (root / "platform-tinygen-qemu" / "platform.json").write_text(json.dumps(doc))
    tool = root / "toolchain-gccarmnoneeabi"
    (tool / "bin").mkdir(parents=True)
    gcc = Path(str(shutil.which("arm-none-eabi-gcc"))).resolve()
    (tool / "bin" / "arm-none-eabi-gcc").symlink_to(gcc)
    (tool / "package.json").write_text(json.dumps({"name": "toolchain-gccarmnoneeabi", "version": "1.120201.0"}))
    core = tmp_path / "core"
    pkgs = read_package_folder(root)
    env = pio_environment(load_settings()) | {"PLATFORMIO_CORE_DIR": str(core)}
    done = install_local_packages(pkgs, "tinygen-qemu", core, env, silent())
    assert [p.name for p in done] == ["tinygen-qemu", "toolchain-gccarmnoneeabi"]
    assert all(installed_from(core, p) for p in done)
    assert (core / "packages" / "toolchain-gccarmnoneeabi" / "bin" / "arm-none-eabi-gcc").resolve() == gcc
    assert install_local_packages(pkgs, "tinygen-qemu", core, env, silent()) == []
    listed = subprocess.run([sys.executable, "-m", "platformio", "pkg", "list", "-g", "--only-platforms"],
                            env=env, capture_output=True, text=True, check=False)
    assert "tinygen-qemu @ 0.1.0" in listed.stdout, listed.stdout + listed.stderr
    with pytest.raises(ToolMissingError, match="no PlatformIO platform 'ststm32'"):
        install_local_packages(pkgs, "ststm32", core, env, silent())


def test_folder_library_is_linked_or_unpacked(tmp_path: Path) -> None:
    lib = tmp_path / "pkgs" / "Arduino_TensorFlowLite"
    (lib / "src").mkdir(parents=True)
    (lib / "library.properties").write_text(f"name={TFLM_LIB_NAME}\nversion=2.4.0-ALPHA\ndepends=ArduinoBLE\n")
    (lib / "src" / "TensorFlowLite.h").write_text("// tflm\n")
    cache = tmp_path / "core" / "build-cache"
    pkg = read_package_folder(tmp_path / "pkgs").packages[0]
    root = install_folder_library(pkg, cache)
    assert root == library_root(pkg, cache) and root.parent == cache.parent / "folder-libs"
    assert (root / TFLM_LIB_NAME).is_symlink() and (root / TFLM_LIB_NAME / "src" / "TensorFlowLite.h").is_file()
    assert install_folder_library(pkg, cache) == root  # once
    # an archive (GitHub style: one top-level directory) is unpacked once
    shutil.make_archive(str(tmp_path / "arch" / "tflm-7948b85"), "gztar", root_dir=lib.parent, base_dir=lib.name)
    arch = read_package_folder(tmp_path / "arch").packages[0]
    root2 = install_folder_library(arch, cache)
    assert root2 != root and (root2 / TFLM_LIB_NAME / "library.properties").read_text().startswith("name=")
    assert not (root2 / TFLM_LIB_NAME).is_symlink() and [p.name for p in root2.iterdir()] == [TFLM_LIB_NAME]
