"""The mlperf firmware (MLPerf Tiny benchmark protocol) on the emulated Cortex-M4F, driven by tinygen's
own client of the protocol: ad01 (float32 input quantized on the device, the anomaly score printed
with exact decimal rounding) checked against the host reference; every malformed command gets one
e- line and the device keeps answering; the UART served by `tinygen flash -p` takes a reconnect;
`tinygen verify --app mlperf` with its exit codes. The official runner is bench/mlperf/run_runner.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinygen.boards import get_board
from tinygen.cli.main import _register, cli
from tinygen.emulator import Emulator, qemu_available
from tinygen.link import Transport
from tinygen.mlperf.benchmarks import (
    Plan,
    model_input,
    plan_for,
    random_input,
    result_text,
)
from tinygen.mlperf.client import ClientConfig, MlperfClient
from tinygen.mlperf.verify import build_firmware
from tinygen.model import load_model
from tinygen.reference import Reference
from tinygen.report import silent

pytestmark = [pytest.mark.qemu, pytest.mark.build,
              pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]
AD01 = "mlperf_tiny/ad01_int8.tflite"


@pytest.fixture(scope="module")
def ad01_elf(models_dir: Path) -> Path:
    return build_firmware(get_board("qemu-m4"), models_dir / AD01, "aot", None, silent())


# generous deadlines: the machine running the tests may be busy
PATIENT = ClientConfig(line_timeout=30.0, infer_timeout=60.0, boot_timeout=30.0)


def _start(elf: Path) -> Iterator[MlperfClient]:
    with Emulator(elf) as emu:
        c = MlperfClient(Transport(emu.serial, emu.url, on_closed=emu.check), PATIENT)
        assert "m-init-done" in c.wait_ready()
        yield c


@pytest.fixture()
def client(ad01_elf: Path) -> Iterator[MlperfClient]:
    yield from _start(ad01_elf)


@pytest.fixture(scope="module")
def fresh_device(ad01_elf: Path) -> Iterator[MlperfClient]:
    """One device for the malformed commands: none of them may change its state."""
    yield from _start(ad01_elf)


@pytest.fixture(scope="module")
def reference(models_dir: Path) -> Reference:
    return Reference.from_file(models_dir / AD01)


def _expected(reference: Reference, plan: Plan, data: bytes) -> tuple[str, ...]:
    out = reference.run(model_input(plan, data).reshape(reference.inputs[0].shape))[0]
    return tuple(result_text(plan, out, data))


def test_protocol_session_matches_the_reference(models_dir: Path, client: MlperfClient,
                                                reference: Reference) -> None:
    plan = plan_for(load_model(models_dir / AD01))
    assert client.name() == "tinygen"
    profile, model = client.profile()
    assert model == "ad01" and "runtime aot" in profile
    rng = np.random.default_rng(7)
    special = np.frombuffer(random_input(plan, rng), dtype="<f4").copy()
    special[:3] = [0.0, -1e3, 1e3]          # clamped both ways
    huge = special.copy()
    huge[5] = 3e18                         # the score is ~1.4e34: printed as an exact integer
    for data in (random_input(plan, rng), special.tobytes(), huge.tobytes()):
        client.load(data)
        got = client.infer(1, 0)
        assert got.results == _expected(reference, plan, data)
        assert got.lap_us[1] > got.lap_us[0]
    assert float(got.results[0]) > 1e33 and got.results[0].endswith(".000")
    # warm-ups and repeated inferences leave the result alone; virtual time repeats up to one tick of
    # the microsecond clock (the same instruction count can straddle one more tick boundary)
    first, second = client.infer(4, 2), client.infer(4, 2)
    assert first.results == second.results == got.results
    assert first.elapsed_us > 0 and abs(first.elapsed_us - second.elapsed_us) <= 1
    assert client.results() == got.results
    assert [line for line in client.command("timestamp").lines if line.startswith("m-lap-us-")]


def test_infinite_and_nan_inputs(models_dir: Path, client: MlperfClient, reference: Reference) -> None:
    plan = plan_for(load_model(models_dir / AD01))
    base = np.frombuffer(random_input(plan, np.random.default_rng(3)), dtype="<f4").copy()
    for value, text in ((np.inf, "inf"), (np.nan, "nan")):
        data = base.copy()
        data[10] = value
        client.load(data.tobytes())
        got = client.infer(1, 0).results
        assert got == _expected(reference, plan, data.tobytes()) == (text,)


MALFORMED = [
    ("bogus", "Unknown command: bogus"),
    ("x" * 81, "Command too long"),
    ("db 0g", "Invalid hex digit 'g'"),
    ("db 012", "Odd number of hex digits"),
    ("db load 2561", "the buffer holds 2560 bytes"),
    ("db load -1", "needs a byte count"),
    ("db load", "Usage: db load N"),
    ("infer 0", "Inference iterations must be"),
    ("infer 2 x", "Inference warmup must be"),
    ("infer 1 0", "Input has 0 of 2560 bytes"),
    ("results", "No results"),
    ("name please", "takes no arguments"),
    ("db 00", "No db load N before the data"),
]


@pytest.mark.parametrize("command,error", MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_command_gets_one_error_line(fresh_device: MlperfClient, command: str, error: str) -> None:
    reply = fresh_device.command(command)
    assert len(reply.errors) == 1 and error in reply.errors[0], reply.lines
    assert reply.errors[0].startswith("e-[") and reply.errors[0].endswith("]")
    assert fresh_device.name() == "tinygen"      # still answering


def test_db_beyond_the_announced_bytes_changes_nothing(client: MlperfClient) -> None:
    client.checked("db load 4")
    client.checked("db 010203")
    reply = client.command("db 0405")
    assert reply.errors and "beyond the buffer" in reply.errors[0]
    client.checked("db 04")                 # the one byte that was left is still expected
    assert client.checked("db print").lines == ("m-buffer-01-02-03-04",)
    assert "beyond" in client.command("db print 2 3").errors[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session(port: int, command: bytes, replies: int) -> bytes:
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            assert time.monotonic() < deadline, "tinygen flash never served the port"
            time.sleep(0.05)
    with sock:
        sock.sendall(command)
        data = b""
        while data.count(b"m-ready") < replies:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed after {data!r}"
            data += chunk
    return data


def test_flash_serves_a_uart_that_takes_reconnects(ad01_elf: Path) -> None:
    project = ad01_elf.parents[3]
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tinygen.cli.main", "flash", "--board", "qemu-m4", "-d",
                             str(project), "-p", str(port), "--timeout", "60"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = _session(port, b"name%", 2)      # the start-up banner's m-ready, then name's
        assert b"m-init-done" in first and b"m-name-dut-[tinygen]" in first
        for _ in range(2):                      # the runner opens and closes the port twice
            again = _session(port, b"profile%", 1)
            assert b"m-model-[ad01]" in again and b"m-init-done" not in again
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 128 + 15   # SIGTERM: tinygen flash stopped QEMU and exited
    with pytest.raises(OSError):           # ... so nothing serves the port any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_verify_cli_reports_and_exit_codes(models_dir: Path, ad01_elf: Path, tmp_path: Path) -> None:
    _register()
    report, junit = tmp_path / "r.json", tmp_path / "r.xml"
    res = CliRunner().invoke(cli, ["verify", "--app", "mlperf", "--board", "qemu-m4", "--model",
                                   str(models_dir / AD01), "--elf", str(ad01_elf), "--random", "3",
                                   "--iterations", "5", "--report", str(report), "--junit", str(junit)])
    assert res.exit_code == 0, res.output
    doc = json.loads(report.read_text())
    assert doc["ok"] and doc["benchmark"] == "ad01" and doc["completed"] == 3
    assert doc["performance"]["ok"] and doc["performance"]["us_per_inference"] > 0
    assert junit.read_text().count("<testcase") == 3 and "<failure" not in junit.read_text()
    # the firmware of another benchmark: refused before any input, as a device problem (exit 7)
    res = CliRunner().invoke(cli, ["verify", "--app", "mlperf", "--board", "qemu-m4", "--model",
                                   str(models_dir / "mlperf_tiny/kws_ref_model.tflite"), "--elf", str(ad01_elf),
                                   "--random", "1"])
    assert res.exit_code == 7 and "serves ad01, not kws01" in res.output
