"""Transport: deadlines on a real socket, clear errors for bad ports; port auto-detection refusals;
the verify CLI's argument errors (one line, exit code, nothing written)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.cli.main import _register, cli
from tinygen.errors import UsageError
from tinygen.link.errors import LinkClosed
from tinygen.link.transport import Transport, find_port


def test_read_honours_its_deadline_and_sees_close() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    t = Transport.open(f"socket://127.0.0.1:{srv.getsockname()[1]}")
    conn, _ = srv.accept()
    t0 = time.monotonic()
    assert t.read(time.monotonic() + 0.2) == b""
    assert 0.15 < time.monotonic() - t0 < 1.0
    conn.sendall(b"abc")
    assert t.read(time.monotonic() + 1.0) == b"abc"
    conn.close()
    with pytest.raises(LinkClosed, match="connection to socket://127.0.0.1:.* lost"):
        t.read(time.monotonic() + 1.0)
    t.close()
    srv.close()


def test_bad_port_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot open serial port /dev/tinygen-no-such-port"):
        Transport.open("/dev/tinygen-no-such-port")


def test_find_port_without_a_matching_board() -> None:
    with pytest.raises(UsageError, match="no attached board found .*ffff:fffe"):
        find_port([(0xFFFF, 0xFFFE)])


def test_verify_cli_argument_errors(models_dir: Path, tmp_path: Path) -> None:
    _register()
    model = str(models_dir / "hello_world" / "hello_world_int8.tflite")
    runner = CliRunner()
    res = runner.invoke(cli, ["verify", "--board", "qemu-m4", "--model", model, "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 2 and "no inputs to verify" in res.output
    assert not (tmp_path / "r.json").exists()
    res = runner.invoke(cli, ["verify", "--board", "no-such-board", "--model", model, "--random", "1"])
    assert res.exit_code == 4
    res = runner.invoke(cli, ["verify", "--board", "qemu-m4", "--model", model, "--inputs", str(tmp_path / "nope.npz")])
    assert res.exit_code == 2 and "input not found" in res.output
