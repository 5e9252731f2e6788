"""The C protocol code and the Python link against each other, on the host: the HIL app compiled
for the host board (TCP "serial port") with a small test runtime (firmware/boards/host). Real
framing end to end; faults are injected on the real byte stream."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tinygen.errors import DeviceError
from tinygen.link import Device, DeviceReset, Link, LinkConfig, LinkTimeout
from tinygen.link.local import LocalFirmware, build_host
from tinygen.link.faults import FaultyTransport
from tinygen.link.transport import Transport
from tinygen.resources import firmware_dir

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
FAST = LinkConfig(timeout=0.5, invoke_timeout=0.5, boot_timeout=2.0, retries=2)
# Recovery tests (garbage, lost frames) must not depend on the machine's load: a reply that is
# merely slow must not count as lost, so they wait longer than the timeout tests do.
ROBUST = LinkConfig(timeout=3.0, invoke_timeout=3.0, boot_timeout=5.0, retries=3)


@pytest.fixture(scope="module")
def host_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hil") / "hil_host"
    return build_host(out, [firmware_dir() / "boards" / "host" / "tg_runtime_test.c"])


@pytest.fixture
def fw(host_exe: Path) -> Iterator[LocalFirmware]:
    with LocalFirmware(host_exe) as fw:
        yield fw


def connect(transport: Transport, config: LinkConfig = FAST) -> Device:
    link = Link(transport, config)
    dev = Device(link)
    dev.connect()
    return dev


def expected(a: np.ndarray, b: np.ndarray, step: int) -> tuple[np.ndarray, int]:
    return (a.view(np.uint8) + np.uint8(step)).view(np.int8), int(a.astype(np.int32).sum()) + int(b[0]) * int(b[1]) + step


def case(rng: np.random.Generator, b0: int = 3) -> list[np.ndarray]:
    return [rng.integers(-128, 128, (1, 3000), dtype=np.int8), np.array([b0, -11], np.int16)]


def test_identify(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    info = dev.info
    assert info is not None
    assert (info.board, info.runtime, info.app, info.cost_unit) == ("host", "test", "hil", "ns")
    assert (info.arena_size, info.arena_used, info.max_payload) == (4096, 1234, 1024)
    assert [t.name for t in dev.inputs] == ["in0", "in1"]
    assert dev.outputs[0].shape == (1, 3000) and dev.outputs[0].zero_point == 7
    assert dev.outputs[1].dtype == np.int32


def test_chunked_streaming_and_reset(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    for step in [0, 1, 2, 0]:
        if step == 0:
            dev.reset()
        ins = case(rng)
        outs, res = dev.run(ins)
        want0, want1 = expected(*ins, step)
        assert np.array_equal(outs[0], want0)  # 3000 bytes: three chunks each way
        assert int(outs[1][0, 0]) == want1
        assert res.invoke_count == step + 1


def test_bad_arguments_are_reported(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    with pytest.raises(DeviceError, match="BAD_ARGUMENT"):
        dev.write_input(0, bytes(3001))
    with pytest.raises(DeviceError, match="BAD_ARGUMENT"):
        dev.tensor_info(1, 5)


def test_garbage_on_the_line_is_survived(fw: LocalFirmware) -> None:
    t = FaultyTransport(fw.transport)  # type: ignore[arg-type]
    dev = connect(t, ROBUST)
    rng = np.random.default_rng(2)
    garbage = bytes(np.random.default_rng(3).integers(0, 256, 300, dtype=np.uint8))
    for k in range(t.writes + 1, t.writes + 12, 3):
        t.garbage_before[k] = garbage
    t.garbage_before[t.writes + 5] = b"\x55" * 2000  # a long run with no delimiter at all
    for step in range(3):
        ins = case(rng)
        outs, res = dev.run(ins)
        assert np.array_equal(outs[0], expected(*ins, step)[0])
        assert res.invoke_count == step + 1
    assert dev.link.counters.naks >= 1


def test_dropped_invoke_reply_does_not_invoke_twice(fw: LocalFirmware) -> None:
    t = FaultyTransport(fw.transport)  # type: ignore[arg-type]
    dev = connect(t, ROBUST)
    rng = np.random.default_rng(4)
    ins = case(rng)
    for i, a in enumerate(ins):
        dev.write_input(i, a.tobytes())
    t.drop_reply_of.add(t.writes + 1)   # the INVOKE reply is lost: the host resends INVOKE
    res = dev.invoke()
    assert res.invoke_count == 1          # the device answered the repeat from its cache
    assert dev.link.counters.resends == 1
    out1 = np.frombuffer(dev.read_output(1, 4), np.int32)
    assert int(out1[0]) == expected(*ins, 0)[1]


def test_dropped_request_is_resent(fw: LocalFirmware) -> None:
    t = FaultyTransport(fw.transport)  # type: ignore[arg-type]
    dev = connect(t, ROBUST)
    t.drop_write.add(t.writes + 1)
    assert dev.stats().arena_used == 1234
    assert dev.link.counters.resends == 1


def test_hung_device_times_out_clearly(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    t0 = time.monotonic()
    with pytest.raises(LinkTimeout, match=r"no reply to INVOKE .* in \d+ s \(3 attempts of 0.5 s each\)") as err:
        dev.run(case(np.random.default_rng(5), b0=32767))
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0
    # the message says how long it really waited (all attempts), not one attempt's timeout
    reported = float(str(err.value).split(" in ")[1].split(" s ")[0])
    assert abs(reported - elapsed) < 1.0 and reported >= 1.0


def test_device_reset_mid_run_is_detected(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    with pytest.raises(DeviceReset, match="rebooted while waiting for the reply to INVOKE"):
        dev.run(case(np.random.default_rng(6), b0=32766))
    info = dev.connect()   # it is back, with fresh state
    assert info.invoke_count == 0


def test_reboot_command(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    dev.run(case(np.random.default_rng(7)))
    assert dev.reboot().invoke_count == 0


def test_killed_device_is_reported(fw: LocalFirmware) -> None:
    dev = connect(fw.transport)  # type: ignore[arg-type]
    fw.kill()
    with pytest.raises(DeviceError):
        dev.stats()
