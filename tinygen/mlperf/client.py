"""tinygen's own client of the MLPerf Tiny benchmark protocol (the one mlcommons/tiny's runner speaks,
docs/mlperf.md): commands are text ending in '%', replies are lines ending in "\\n", and every reply
ends with a line containing "m-ready". Same deadlines as the runner (5 s per line, 30 s while an
inference runs) unless configured otherwise; bytes over `tinygen.link.Transport`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..link.errors import LinkTimeout, ProtocolError
from ..link.transport import Transport

TERMINATOR = "%"
READY = "m-ready"
MAX_COMMAND = 80          # characters before the terminator the device accepts
DB_CHUNK = 31             # bytes per `db` command, as the runner sends them
_LAP = re.compile(r"^m-lap-us-([0-9]+)$")
_RESULTS = re.compile(r"^m-results-\[([^]]*)\]$")


@dataclass(frozen=True)
class ClientConfig:
    line_timeout: float = 5.0      # seconds for each reply line (the runner's default)
    infer_timeout: float = 30.0    # seconds for each line of an `infer` reply (the runner's)
    boot_timeout: float = 10.0     # seconds for the start-up banner's m-ready


@dataclass(frozen=True)
class Reply:
    command: str
    lines: tuple[str, ...]         # every line before m-ready, without line endings

    @property
    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("e-")]


@dataclass(frozen=True)
class InferReply:
    reply: Reply
    results: tuple[str, ...]       # the values' text between m-results-[ and ]
    lap_us: tuple[int, ...]        # the m-lap-us values, in order (two: before and after)
    warmups: int
    iterations: int

    @property
    def elapsed_us(self) -> int:
        return self.lap_us[-1] - self.lap_us[0]


@dataclass
class MlperfClient:
    """Commands over a byte transport. Nothing is retried: each command runs once, in order."""

    transport: Transport
    config: ClientConfig = field(default_factory=ClientConfig)
    _pending: bytes = b""

    def read_line(self, timeout: float, waiting_for: str) -> str:
        """The next line (without \\r\\n); LinkTimeout when none arrives within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            data = self.transport.read(deadline)
            if not data:
                raise LinkTimeout(f"no reply line within {timeout:g} s {waiting_for}",
                                  hint="is the mlperf firmware running (tinygen build --app mlperf) and the port right?")
            self._pending += data
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", "replace").strip("\r\0")

    def wait_ready(self) -> list[str]:
        """Lines up to the start-up banner's m-ready (after a reset or the emulator's start)."""
        lines: list[str] = []
        while True:
            line = self.read_line(self.config.boot_timeout, "from the firmware's start-up banner")
            if READY in line:
                return lines
            lines.append(line)

    def command(self, text: str, timeout: float | None = None) -> Reply:
        """Send `text` + '%' and collect the reply up to m-ready."""
        self.transport.write((text + TERMINATOR).encode())
        lines: list[str] = []
        while True:
            line = self.read_line(timeout or self.config.line_timeout, f"to '{text[:40]}'")
            if READY in line:
                return Reply(text, tuple(lines))
            if line:
                lines.append(line)

    def checked(self, text: str, timeout: float | None = None) -> Reply:
        """`command`, raising ProtocolError when the device answers with an e- line."""
        reply = self.command(text, timeout)
        if reply.errors:
            raise ProtocolError(f"device refused '{text[:40]}': {reply.errors[0]}")
        return reply

    def name(self) -> str:
        return _field(self.checked("name"), r"^m-name-dut-\[([^]]+)\]$", "name")

    def profile(self) -> tuple[str, str]:
        """(profile text, model string such as kws01)."""
        reply = self.checked("profile")
        return _field(reply, r"^m-profile-\[([^]]+)\]$", "profile"), _field(reply, r"^m-model-\[([^]]+)\]$", "profile")

    def load(self, data: bytes, chunk: int = DB_CHUNK) -> None:
        """`db load N`, then the bytes as hex, `chunk` per command; requires m-load-done at the end."""
        self.checked(f"db load {len(data)}")
        last = Reply("", ())
        for i in range(0, len(data), chunk):
            last = self.checked("db " + data[i:i + chunk].hex())
        if "m-load-done" not in last.lines:
            raise ProtocolError(f"no m-load-done after {len(data)} bytes", hint=f"device said: {list(last.lines)}")

    def infer(self, iterations: int, warmups: int) -> InferReply:
        reply = self.checked(f"infer {iterations} {warmups}", timeout=self.config.infer_timeout)
        laps = tuple(int(m.group(1)) for m in (_LAP.match(s) for s in reply.lines) if m)
        found = [m.group(1) for m in (_RESULTS.match(s) for s in reply.lines) if m]
        expected = [f"m-warmup-start-{warmups}", "m-warmup-done", f"m-infer-start-{iterations}", "m-infer-done"]
        missing = [s for s in expected if s not in reply.lines]
        if missing or len(laps) != 2 or len(found) != 1:
            raise ProtocolError(f"incomplete reply to 'infer {iterations} {warmups}'",
                                hint=f"missing {missing or 'two m-lap-us / one m-results line'}: {list(reply.lines)}")
        return InferReply(reply, tuple(v for v in found[0].split(",") if v.strip()), laps, warmups, iterations)

    def results(self) -> tuple[str, ...]:
        line = _field(self.checked("results"), r"^m-results-\[([^]]*)\]$", "results")
        return tuple(v for v in line.split(",") if v.strip())


def _field(reply: Reply, pattern: str, what: str) -> str:
    for line in reply.lines:
        m = re.match(pattern, line)
        if m:
            return m.group(1)
    raise ProtocolError(f"no {what} in the device's reply", hint=f"device said: {list(reply.lines)}")
