"""pytest plugin (entry point `pytest11: tinygen`): a connected HIL device for users' own tests.

    def test_silence_is_silence(tinygen_device):
        outs, result = tinygen_device.run([np.zeros((1, 1960), np.int8)])
        assert outs[0].argmax() == 0

Settings come from, in order: a `@pytest.mark.tinygen(board=..., model=..., elf=..., port=...)`
marker on the test (or its module/class), then command-line options (`--tinygen-board`,
`--tinygen-port`, `--tinygen-model`, `--tinygen-elf`, `--tinygen-runtime`, `--tinygen-timeout`),
then defaults (board qemu-m4). For the emulated board QEMU is started on a free port (once per
distinct setting, shared by the tests that use it); the fixture resets the model's streaming state
before each test. Tests skip cleanly when QEMU is missing or no board is attached.

Imports of tinygen's serial stack are lazy: this module is loaded in every pytest run.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

DEFAULT_BOARD = "qemu-m4"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinygen", "tinygen hardware-in-the-loop")
    group.addoption("--tinygen-board", default=None, help=f"board for tinygen_device (default {DEFAULT_BOARD})")
    group.addoption("--tinygen-port", default=None, help="serial port or pyserial URL of the board")
    group.addoption("--tinygen-model", default=None, help=".tflite model the HIL firmware runs")
    group.addoption("--tinygen-elf", default=None, help="prebuilt HIL firmware for the emulated board")
    group.addoption("--tinygen-runtime", default="aot", choices=["aot", "tflm"], help="runtime to build with")
    group.addoption("--tinygen-timeout", default=None, type=float, help="seconds per request (default 2)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tinygen(board=, model=, elf=, port=, runtime=, timeout=): "
                                       "settings for the tinygen_device fixture")


@dataclass(frozen=True)
class DeviceSettings:
    board: str
    port: str | None
    model: str | None
    elf: str | None
    runtime: str
    timeout: float | None


def _settings(request: pytest.FixtureRequest) -> DeviceSettings:
    marker = request.node.get_closest_marker("tinygen")
    given: dict[str, Any] = dict(marker.kwargs) if marker else {}
    opt = request.config.getoption

    def pick(key: str, default: Any = None) -> Any:
        value = given.get(key)
        return value if value is not None else (opt(f"--tinygen-{key}") or default)

    return DeviceSettings(board=pick("board", DEFAULT_BOARD), port=pick("port"),
                          model=str(pick("model")) if pick("model") else None,
                          elf=str(pick("elf")) if pick("elf") else None, runtime=pick("runtime", "aot"),
                          timeout=pick("timeout"))


class _Pool:
    """Open connections, one per distinct settings, closed at the end of the session."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.connections: dict[DeviceSettings, Any] = {}

    def get(self, s: DeviceSettings) -> Any:
        if s in self.connections:
            return self.connections[s]
        from .boards import get_board
        from .emulator import qemu_available
        from .errors import TinygenError
        from .link import LinkConfig
        from .report import silent
        from .verify.firmware import build_hil_firmware
        from .verify.session import open_device

        board = get_board(s.board)
        if board.emulated and s.port is None and not qemu_available():
            pytest.skip("qemu-system-arm is not installed")
        elf = Path(s.elf) if s.elf else None
        if board.emulated and elf is None and s.port is None:
            if s.model is None:
                pytest.skip("tinygen_device on the emulated board needs --tinygen-model or --tinygen-elf")
            elf = build_hil_firmware(board.name, Path(s.model), s.runtime, silent())
        config = LinkConfig(baudrate=board.serial_baud)
        if s.timeout:
            config = LinkConfig(baudrate=board.serial_baud, timeout=float(s.timeout))
        try:
            conn = self.stack.enter_context(open_device(board, elf=elf, port=s.port, config=config))
        except TinygenError as exc:
            if not board.emulated and s.port is None:
                pytest.skip(f"no {board.name} attached: {exc.message}")
            raise
        self.connections[s] = conn
        return conn


@pytest.fixture(scope="session")
def _tinygen_pool() -> Iterator[_Pool]:
    pool = _Pool()
    with pool.stack:
        yield pool


@pytest.fixture
def tinygen_device(request: pytest.FixtureRequest, _tinygen_pool: _Pool) -> Any:
    """A connected `tinygen.link.Device` (HIL protocol), streaming state reset for this test."""
    conn = _tinygen_pool.get(_settings(request))
    if conn.emulator is not None:
        conn.emulator.check()
    conn.device.reset()
    return conn.device
