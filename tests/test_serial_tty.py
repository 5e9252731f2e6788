"""The serial path real boards use, on a real tty: QEMU's `-serial pty` opened with serial.Serial
(not socket://) by `tinygen verify --port` and the pytest plugin; board lookup by USB ids on
pyserial's own port records; firmware for another board refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serial.tools.list_ports_common import ListPortInfo

from tinygen.boards import get_board, parse_board
from tinygen.emulator import QEMU_BINARY, qemu_available
from tinygen.errors import BoardError, UsageError
from tinygen.link import Transport
from tinygen.link.transport import find_port
from tinygen.report import silent

pytest_plugins = ["pytester"]
HELLO = "hello_world/hello_world_int8.tflite"


def _port(device: str, vid: int | None, pid: int | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    return info


def test_usb_ids_come_from_the_board_files() -> None:
    assert (0x2341, 0x805A) in get_board("nano33ble").usb_ids
    assert (0x2E8A, 0x00C0) in get_board("pico").usb_ids
    assert (0x0483, 0x374B) in get_board("nucleo_l4r5zi").usb_ids
    assert get_board("qemu-m4").usb_ids == ()


def test_find_port_on_pyserial_records() -> None:
    nano = get_board("nano33ble").usb_ids
    ports = [_port("/dev/ttyS0", None, None), _port("/dev/ttyACM0", 0x2341, 0x805A),
             _port("/dev/ttyACM1", 0x0483, 0x374B)]
    assert find_port(nano, ports) == "/dev/ttyACM0"
    assert find_port(get_board("disco_f746ng").usb_ids, ports) == "/dev/ttyACM1"
    with pytest.raises(UsageError, match="no attached board found"):
        find_port(get_board("pico").usb_ids, ports)
    with pytest.raises(UsageError, match="several matching boards attached"):
        find_port(nano, ports + [_port("/dev/ttyACM2", 0x2341, 0x005A)])


def test_bad_usb_ids_are_a_board_error() -> None:
    doc = json.loads((Path(get_board("pico").source)).read_text())
    doc["serial"]["usb_ids"] = ["2e8a-00c0"]
    with pytest.raises(BoardError, match="is not 'vvvv:pppp'"):
        parse_board(doc, Path("pico.json"))


@pytest.fixture(scope="module")
def hil_elf(models_dir: Path) -> Path:
    from tinygen.verify.firmware import build_hil_firmware

    return build_hil_firmware("qemu-m4", models_dir / HELLO, "aot", silent())


@pytest.fixture()
def pty(hil_elf: Path) -> Iterator[str]:
    """QEMU running the HIL firmware with its UART on a pseudo-terminal, as a board on /dev/ttyACM0."""
    proc = subprocess.Popen([QEMU_BINARY, "-M", "mps2-an386", "-nographic", "-kernel", str(hil_elf),
                             "-icount", "shift=0", "-serial", "pty", "-monitor", "none"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"char device redirected to (/dev/pts/\d+)", line)
        assert m, f"QEMU did not report its pty: {line!r}"
        yield m.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


needs_qemu = pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm not installed")


@pytest.mark.qemu
@pytest.mark.build
@needs_qemu
def test_transport_opens_a_real_tty(pty: str) -> None:
    t = Transport.open(pty, 115200, dtr=True)
    try:
        ser = t._ser
        assert type(ser) is serial.Serial and ser.is_open and ser.baudrate == 115200 and ser.dtr
        assert ser.fileno() > 0 and Path(pty).is_char_device()
    finally:
        t.close()


@pytest.mark.qemu
@pytest.mark.build
@needs_qemu
def test_verify_over_the_pty(pty: str, models_dir: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "tinygen.cli.main", "verify", "--board", "qemu-m4", "--model",
           str(models_dir / HELLO), "--port", pty, "--random", "4", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["device"]["board"] == "qemu-m4"
    assert all(o["exact"] == o["inferences"] == 4 for o in doc["outputs"]), doc["outputs"]
    # the same port again: the firmware kept running, its boot output is long gone (flushed)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr


@pytest.mark.qemu
@pytest.mark.build
@needs_qemu
def test_firmware_for_another_board_is_refused(pty: str, models_dir: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "verify", "--board", "nano33ble", "--model",
                           str(models_dir / HELLO), "--port", pty, "--random", "1"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == BoardError.exit_code, proc.stderr
    assert f"the firmware on {pty} was built for 'qemu-m4', not 'nano33ble'" in proc.stderr
    assert "hint: pass --board qemu-m4" in proc.stderr and time.monotonic() - t0 < 60


@pytest.mark.qemu
@pytest.mark.build
@needs_qemu
def test_pytest_plugin_over_the_pty(pytester: pytest.Pytester, pty: str) -> None:
    pytester.makepyfile("""
import numpy as np

def test_zero(tinygen_device):
    assert tinygen_device.info.board == "qemu-m4"
    outs, res = tinygen_device.run([np.zeros((1, 1), np.int8)])
    assert res.invoke_count == 1
""")
    res = pytester.runpytest("--tinygen-board", "qemu-m4", "--tinygen-port", pty)
    res.assert_outcomes(passed=1)
