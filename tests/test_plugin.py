"""The pytest plugin as users see it: options registered, clean skips, and a real device fixture
(QEMU running HIL firmware) in a generated test file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinygen.emulator import qemu_available

pytest_plugins = ["pytester"]


def test_options_are_registered(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest("--help").stdout.str()
    for opt in ("--tinygen-board", "--tinygen-port", "--tinygen-model", "--tinygen-elf", "--tinygen-timeout"):
        assert opt in out


def test_missing_firmware_or_board_skips_cleanly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
import pytest

def test_emulated(tinygen_device):
    assert False

@pytest.mark.tinygen(board="nano33ble")
def test_hardware(tinygen_device):
    assert False
""")
    res = pytester.runpytest("-rs", "--tinygen-board", "qemu-m4")
    res.assert_outcomes(skipped=2)
    out = res.stdout.str()
    assert "needs --tinygen-model or --tinygen-elf" in out or "qemu-system-arm is not installed" in out
    assert "no nano33ble attached" in out


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")
def test_device_fixture_on_qemu(pytester: pytest.Pytester, models_dir: Path) -> None:
    model = models_dir / "hello_world" / "hello_world_int8.tflite"
    prebuilt = os.environ.get("TINYGEN_TEST_HIL_ELF_DIR")
    if prebuilt:
        elf = Path(prebuilt) / "hello_world_int8.elf"
    else:
        from tinygen.report import silent
        from tinygen.verify.firmware import build_hil_firmware

        elf = build_hil_firmware("qemu-m4", model, "aot", silent())
    pytester.makepyfile(f'''
import numpy as np
import pytest

@pytest.mark.tinygen(board="qemu-m4", elf={str(elf)!r})
def test_zero(tinygen_device):
    assert tinygen_device.info.runtime == "aot"
    outs, res = tinygen_device.run([np.zeros((1, 1), np.int8)])
    assert res.invoke_count == 1 and res.cost > 0          # state was reset for this test

@pytest.mark.tinygen(board="qemu-m4", elf={str(elf)!r})
def test_again(tinygen_device):
    outs, res = tinygen_device.run([np.zeros((1, 1), np.int8)])
    assert res.invoke_count == 1 and outs[0].shape == (1, 1)
''')
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    res.assert_outcomes(passed=2)
