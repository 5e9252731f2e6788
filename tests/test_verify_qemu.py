"""verify on the emulated board: real HIL firmware (tinygen's build, AOT runtime) in real QEMU.
Bit-exactness through the CLI, and every fault the issue names, injected on the live link: garbage
on the line, a dropped request, a dropped reply, a killed emulator, a hung device, a device reset.

The firmware comes from `tinygen.verify.firmware.build_hil_firmware` (cached per model). For work on
the link alone, TINYGEN_TEST_HIL_ELF_DIR may point at a directory of prebuilt `<model stem>.elf`.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.emulator import Emulator, qemu_available
from tinygen.link import Device, Link, LinkConfig, LinkTimeout, Transport, framing
from tinygen.link.faults import FaultyTransport
from tinygen.link.protocol import Cmd
from tinygen.model import load_model
from tinygen.reference import Reference
from tinygen.report import silent
from tinygen.verify import random_inputs, run_cases
from tinygen.verify.firmware import build_hil_firmware

pytestmark = [pytest.mark.qemu, pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]
HELLO = "hello_world/hello_world_int8.tflite"


def hil_elf(models_dir: Path, rel: str) -> Path:
    model = models_dir / rel
    prebuilt = os.environ.get("TINYGEN_TEST_HIL_ELF_DIR")
    if prebuilt:
        return Path(prebuilt) / f"{model.stem}.elf"
    return build_hil_firmware("qemu-m4", model, "aot", silent())


@pytest.fixture(scope="module")
def hello_elf(models_dir: Path) -> Path:
    return hil_elf(models_dir, HELLO)


def test_cli_verify_bit_exact(hello_elf: Path, models_dir: Path, tmp_path: Path) -> None:
    _register()
    res = CliRunner().invoke(cli, ["verify", "--board", "qemu-m4", "--model", str(models_dir / HELLO),
                                   "--elf", str(hello_elf), "--random", "20", "--measure-link",
                                   "--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["ok"] and doc["completed"] == 20 and doc["outputs"][0]["exact"] == 20
    assert doc["device"]["cost_unit"] == "instructions" and doc["performance"]["cost_per_inference"] > 100
    bw = doc["link"]["bandwidth_bytes_per_second"]
    assert bw["host_to_device"] > 2000 and bw["device_to_host"] > 2000


FAST = LinkConfig(timeout=1.0, invoke_timeout=1.0, retries=2)


@pytest.fixture
def session(hello_elf: Path, models_dir: Path) -> Iterator[tuple[Emulator, Device, FaultyTransport, Reference, Path]]:
    model = models_dir / HELLO
    with Emulator(hello_elf) as emu:
        t = FaultyTransport(Transport(emu.serial, emu.url, on_closed=emu.check))
        dev = Device(Link(t, FAST))
        dev.connect()
        yield emu, dev, t, Reference.from_file(model), model
        os.kill(emu.pid, signal.SIGCONT) if emu.running() else None


def verify(dev: Device, ref: Reference, model: Path, n: int = 12):  # type: ignore[no-untyped-def]
    cases = random_inputs(ref.inputs, n, seed=3)
    return run_cases(dev, ref, cases, str(model), load_model(model).sha256), cases


def test_garbage_and_drops_are_survived_exactly(session: tuple) -> None:  # type: ignore[type-arg]
    emu, dev, t, ref, model = session
    dev.link.config = LinkConfig(timeout=2.0, invoke_timeout=2.0, retries=3)  # slow CI machines: no false alarms
    w = t.writes
    t.garbage_before.update({w + 3: bytes(range(256)) * 2, w + 10: b"\xaa" * 1500})
    t.drop_write.add(w + 6)           # a request lost on the way to the device
    t.drop_reply_of.add(w + 13)       # a reply lost on the way back (INVOKE of input 6: RESET + 2 per input)
    r, cases = verify(dev, ref, model)
    assert r.ok and r.completed == 12 and r.outputs[0].exact == 12
    assert r.link["resends"] >= 2 and r.link["naks"] >= 1


def test_killed_emulator_reports_inputs_done(session: tuple) -> None:  # type: ignore[type-arg]
    emu, dev, t, ref, model = session
    t.action_before[t.writes + 1 + 2 * 5 + 1] = emu.kill    # dies while input 6 is being uploaded
    r, cases = verify(dev, ref, model)
    assert not r.ok and "QEMU exited" in (r.error or "")
    assert [c.name for c in r.cases] == [c.name for c in cases[:5]]


def test_hung_device_times_out(session: tuple) -> None:  # type: ignore[type-arg]
    emu, dev, t, ref, model = session
    t.action_before[t.writes + 1 + 2 * 2 + 2] = lambda: os.kill(emu.pid, signal.SIGSTOP)  # at INVOKE #3
    r, cases = verify(dev, ref, model)
    assert not r.ok and r.completed == 2
    assert r.error is not None and "no reply to INVOKE" in r.error and "3 attempts" in r.error


def test_device_reset_mid_run_is_reported(session: tuple) -> None:  # type: ignore[type-arg]
    emu, dev, t, ref, model = session
    reboot = framing.DELIMITER + framing.encode(framing.Frame(int(Cmd.RESET), 0x7777, b"\x01"))
    t.action_before[t.writes + 1 + 2 * 4 + 1] = lambda: t.inner.write(reboot)
    r, cases = verify(dev, ref, model)
    assert not r.ok and r.completed == 4 and "rebooted" in (r.error or "")
    assert dev.connect().invoke_count == 0   # it came back, fresh


def test_hung_request_error_is_clear(session: tuple) -> None:  # type: ignore[type-arg]
    emu, dev, t, ref, model = session
    os.kill(emu.pid, signal.SIGSTOP)
    with pytest.raises(LinkTimeout, match=r"no reply to STATS from qemu|no reply to STATS from socket"):
        dev.stats()
