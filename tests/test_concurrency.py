"""Files, folders and processes under concurrent and interrupted use: generated files honour the
umask, a reused `convert -o DIR` holds only the current model's files, two builds into one folder
or one cache entry take turns (the second waits, then reuses), a damaged object-cache entry is
rebuilt instead of linked, SIGTERM or SIGINT stops the QEMU that flash, verify or demo started and
leaves no files, and the pytest fixture works under `pytest -n 2` on a cold firmware cache."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygen.config import load_settings
from tinygen.emulator import qemu_available

HELLO = "hello_world/hello_world_int8.tflite"
SPEECH = "micro_speech/micro_speech_quantized.tflite"
ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]


def _default_signals() -> None:
    # a suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and Python
    # keeps an inherited SIG_IGN: the child gets Ctrl-C's default, as in a terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _tinygen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tinygen.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env or dict(os.environ), cwd=ROOT,
                            preexec_fn=_default_signals)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_generated_files_honour_the_umask(models_dir: Path, tmp_path: Path, umask: int) -> None:
    from tinygen.convert import convert

    old = os.umask(umask)
    try:
        convert(models_dir / HELLO, tmp_path / "o", runtime="aot")
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "o").iterdir()}
    assert modes == {0o666 & ~umask}


def test_a_reused_output_folder_holds_only_the_current_model(models_dir: Path, tmp_path: Path) -> None:
    from tinygen.convert import convert

    out = tmp_path / "o"
    convert(models_dir / HELLO, out, runtime="aot")
    convert(models_dir / SPEECH, out, runtime="tflm")
    convert(models_dir / SPEECH, out, runtime="aot")
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith("hello_world")], names
    assert not [n for n in names if n.endswith("_op_resolver.h")], names  # the tflm files went too
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc:  # the folder compiles as it is: no second *_tg_runtime.c with the same symbols
        subprocess.run([cc, "-std=c99", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I", str(out),
                        *map(str, sorted(out.glob("*.c"))), "-o", str(tmp_path / "all.so"), "-lm"],
                       check=True, capture_output=True)


def test_two_processes_share_one_host_library_cache_entry(tmp_path: Path) -> None:
    """Both ask for the same library at once: one compiles, the other waits and reuses it."""
    body = "\n".join(f"int f{i}(int x) {{ return x * {i} + {i % 7}; }}" for i in range(4000))
    src = tmp_path / "lib.c"
    src.write_text(body + "\n")
    script = ("import sys; from pathlib import Path; from tinygen.hostrun.compile import compile_sources; "
              "r = compile_sources({'lib.c': Path(sys.argv[1]).read_text()}); print(r.cached, r.library)")
    env = dict(os.environ, TINYGEN_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(src)], stdout=subprocess.PIPE, text=True, env=env,
                              cwd=ROOT) for _ in range(2)]
    outs = sorted(p.communicate(timeout=300)[0].split()[0] for p in procs)
    assert outs == ["False", "True"]
    entries = sorted(p.name for p in (tmp_path / "cache" / "hostrun").iterdir())
    assert [e for e in entries if e.endswith(".so")] and not [e for e in entries if e.endswith(".tmp")]


@pytest.mark.build
def test_two_builds_into_one_folder_take_turns(models_dir: Path, tmp_path: Path) -> None:
    cache = load_settings().build_cache_dir
    damaged = cache / "zz" / "0000damaged"  # an empty object in PlatformIO's cache: never linked
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"")
    out = tmp_path / "p"
    args = ("build", "--board", "qemu-m4", "--model", str(models_dir / HELLO), "-o", str(out))
    first = _tinygen(*args)
    time.sleep(0.5)
    second = _tinygen(*args)
    logs = [p.communicate(timeout=900)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], logs
    assert any("waiting for another tinygen process" in log for log in logs), logs
    assert not damaged.exists() and "removed 1 empty (damaged) entries" in logs[0]
    assert (out / ".pio" / "build" / "qemu-m4" / "firmware.elf").is_file()
    shutil.rmtree(damaged.parent, ignore_errors=True)


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_sigterm_to_flash_stops_its_qemu(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "p"
    build = _tinygen("-q", "build", "--board", "qemu-m4", "--model", str(models_dir / HELLO), "-o", str(out))
    assert build.wait(timeout=900) == 0
    flash = _tinygen("flash", "--board", "qemu-m4", "-d", str(out))
    elf = str(out / ".pio" / "build" / "qemu-m4" / "firmware.elf")
    qemu = ""
    for _ in range(200):
        qemu = subprocess.run(["pgrep", "-f", elf], capture_output=True, text=True).stdout.strip()
        if qemu:
            break
        time.sleep(0.1)
    assert qemu, "QEMU did not start"
    flash.send_signal(signal.SIGTERM)
    log = flash.communicate(timeout=60)[0]
    assert flash.returncode == 128 + signal.SIGTERM and "terminated (SIGTERM)" in log
    time.sleep(0.5)
    assert not subprocess.run(["pgrep", "-f", elf], capture_output=True, text=True).stdout.strip()


def _children(pid: int, name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"  # a zombie is gone too
    except (FileNotFoundError, IndexError):
        return True


@pytest.fixture(scope="module")
def hello_hil_elf(models_dir: Path) -> Path:
    from tinygen.report import silent
    from tinygen.verify.firmware import build_hil_firmware

    return build_hil_firmware("qemu-m4", models_dir / HELLO, "aot", silent())  # cached: the verify tests build it


@pytest.fixture(scope="module")
def demo_elf() -> Path:
    from tinygen.audio.micro_speech import MICRO_SPEECH_LABELS
    from tinygen.boards import get_board
    from tinygen.cli.demo import demo_model
    from tinygen.kws.config import config_for_model
    from tinygen.kws.session import build_firmware
    from tinygen.model import load_model
    from tinygen.report import silent

    model = demo_model()
    config = config_for_model(load_model(model), labels=list(MICRO_SPEECH_LABELS))
    return build_firmware(get_board("qemu-m4"), model, config, "aot", silent())  # the one `tinygen demo` builds


@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
@pytest.mark.parametrize("command,sig", [("verify", signal.SIGINT), ("flash", signal.SIGINT), ("demo", signal.SIGTERM)])
def test_a_signal_stops_the_qemu_a_command_started_and_leaves_no_files(
        command: str, sig: signal.Signals, models_dir: Path, hello_hil_elf: Path, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    """SIGTERM (a supervisor) or SIGINT (Ctrl-C) to `verify`, `flash` (no --port: QEMU in the
    foreground) or `demo` while QEMU runs: the command exits 128+signal, its QEMU is gone and no
    temporary file is left (QEMU itself gets no signal here: tinygen must stop it). SIGTERM to
    flash is test_sigterm_to_flash_stops_its_qemu."""
    if command == "verify":
        args = ["verify", "--board", "qemu-m4", "--model", str(models_dir / HELLO), "--elf", str(hello_hil_elf),
                "--random", "100000"]
    elif command == "flash":  # the HIL project folder holds the built firmware flash runs
        args = ["flash", "--board", "qemu-m4", "-d", str(hello_hil_elf.parents[3])]
    else:
        args = ["demo", "--elf", str(request.getfixturevalue("demo_elf"))]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _tinygen(*args, env={**os.environ, "TMPDIR": str(tmp)})
    qemu: list[int] = []
    for _ in range(300):
        qemu = _children(proc.pid, "qemu-system-arm")
        if qemu or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert qemu, f"QEMU did not start: {proc.communicate(timeout=60)[0][-2000:]}"
    time.sleep(0.5)  # QEMU is up and connected
    proc.send_signal(sig)
    log = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + sig, log[-2000:]
    assert ("interrupted" if sig == signal.SIGINT else f"terminated ({sig.name})") in log
    assert all(_gone(pid) for pid in qemu), f"QEMU {qemu} still running"
    assert not list(tmp.iterdir()), "temporary files left behind"


@pytest.mark.slow  # two pytest workers, a cold firmware cache and QEMU: about a minute
@pytest.mark.qemu
@pytest.mark.build
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_device_fixture_under_pytest_xdist_on_a_cold_cache(pytester: pytest.Pytester, models_dir: Path,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("TINYGEN_CACHE_DIR", str(tmp_path / "cold"))  # no HIL firmware built yet
    pytester.makepyfile("\n".join(["import numpy as np", ""] + [
        f"def test_{i}(tinygen_device):\n    outs, res = tinygen_device.run([np.zeros((1, 1), np.int8)])\n"
        f"    assert res.invoke_count == 1 and outs[0].shape == (1, 1)\n" for i in range(6)]))
    res = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--tinygen-board", "qemu-m4",
                                        "--tinygen-model", str(models_dir / HELLO))
    res.assert_outcomes(passed=6)
    built = list((tmp_path / "cold" / "hil").glob("*/.pio/build/qemu-m4/firmware.elf"))
    assert len(built) == 1  # one build, reused by the other worker
