"""Request/response over a Transport: sequence numbers, deadlines and retries, all in one place.

Each request carries a fresh 16-bit sequence number and gets exactly one reply with that number.
On a timeout, or a BAD_FRAME answer from the device (it received garbage), the same request is sent
again with the *same* sequence number; the device recognises the repeat and does not run an INVOKE
or RESET twice, so no inference is lost or counted twice. Replies with another sequence number are
stale duplicates and are dropped. A BOOT frame while waiting means the device rebooted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum

from . import framing
from .errors import DeviceReset, LinkTimeout
from .framing import Deframer, Frame, FrameError
from .transport import Transport

REPLY = 0x80


class Cmd(IntEnum):
    HELLO = 0x01
    TENSOR_INFO = 0x02
    WRITE_INPUT = 0x03
    INVOKE = 0x04
    READ_OUTPUT = 0x05
    STATS = 0x06
    RESET = 0x07
    LINK_TEST = 0x08
    BOOT = 0x7F  # event: device -> host, unsolicited


class Status(IntEnum):
    OK = 0
    BAD_FRAME = 1
    BAD_VERSION = 2
    UNKNOWN_COMMAND = 3
    BAD_ARGUMENT = 4
    RUNTIME_ERROR = 5
    TOO_LARGE = 6


@dataclass(frozen=True)
class LinkConfig:
    """Every deadline and retry count of the link (seconds)."""

    timeout: float = 2.0            # one request/reply, excluding INVOKE
    invoke_timeout: float = 60.0    # one INVOKE (big models on the emulated board are slow)
    boot_timeout: float = 10.0      # the BOOT frame after start-up or a reboot
    retries: int = 3                # resends after the first attempt
    baudrate: int = 115200
    window: int = 1                 # WRITE_INPUT chunks in flight; >1 only where the transport has
                                    # flow control (QEMU over TCP): a UART without it may overrun


@dataclass
class LinkCounters:
    requests: int = 0
    resends: int = 0
    bad_frames: int = 0           # damaged frames received from the device
    naks: int = 0                 # BAD_FRAME answers (the device received a damaged frame)
    stale_replies: int = 0


@dataclass
class Pending:
    """A request sent and not yet answered."""

    cmd: int
    seq: int
    wire: bytes
    timeout: float
    boot_ok: bool
    deadline: float = 0.0


class Link:
    """Sends requests and matches replies. Not thread-safe: one outstanding request at a time."""

    def __init__(self, transport: Transport, config: LinkConfig | None = None) -> None:
        self.transport = transport
        self.config = config or LinkConfig()
        self.counters = LinkCounters()
        self._deframer = Deframer()
        self._seq = 0
        self._pending: list[Frame] = []   # frames read past the one we waited for (e.g. BOOT)
        self._outstanding: set[int] = set()   # seqs sent and not yet answered
        self._early: dict[int, Frame] = {}    # replies that arrived before their wait()

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % framing.SEQ_NONE  # 0xFFFF is reserved for "unknown"
        return self._seq

    def _frames(self, deadline: float) -> list[Frame]:
        if self._pending:
            queued, self._pending = self._pending, []
            return queued
        data = self.transport.read(deadline)
        frames: list[Frame] = []
        for item in self._deframer.feed(data):
            if isinstance(item, FrameError):
                self.counters.bad_frames += 1
            else:
                frames.append(item)
        return frames

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                boot_ok: bool = False) -> Frame:
        """Send `cmd` and return its reply frame (any status); raise LinkTimeout or DeviceReset.
        `boot_ok`: a BOOT frame is expected (first contact, after a reboot) and is skipped."""
        return self.wait(self.send(cmd, payload, timeout, boot_ok))

    def send(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
             boot_ok: bool = False) -> "Pending":
        """First half of `request`: send now, `wait` later (the host can work meanwhile, e.g. run
        the reference while the device runs INVOKE). One outstanding request at a time."""
        seq = self._next_seq()
        wire = framing.DELIMITER + framing.encode(Frame(int(cmd), seq, payload))
        self.counters.requests += 1
        pending = Pending(int(cmd), seq, wire, self.config.timeout if timeout is None else timeout, boot_ok)
        self._outstanding.add(seq)
        self.transport.write(wire)
        pending.deadline = time.monotonic() + pending.timeout
        return pending

    def wait(self, p: "Pending") -> Frame:
        """Second half of `request`: the reply, resending on timeouts and BAD_FRAME answers.
        Several requests may be outstanding (see LinkConfig.window); wait for them in order."""
        try:
            return self._wait(p)
        finally:
            self._outstanding.discard(p.seq)
            self._early.pop(p.seq, None)

    def _wait(self, p: "Pending") -> Frame:
        early = self._early.pop(p.seq, None)
        if early is not None:
            return early
        # Requests are answered in order: the clock of a pipelined request starts when every
        # earlier one is answered, not when it was queued behind them.
        p.deadline = max(p.deadline, time.monotonic() + p.timeout)
        attempts = 1 + self.config.retries
        name = Cmd(p.cmd).name if p.cmd in Cmd._value2member_map_ else f"0x{p.cmd:02x}"
        started = time.monotonic()
        for attempt in range(attempts):
            if attempt:
                self.counters.resends += 1
                self.transport.write(p.wire)
                p.deadline = time.monotonic() + p.timeout
            while time.monotonic() < p.deadline:
                frames = self._frames(p.deadline)
                nak = False
                for i, f in enumerate(frames):
                    if f.type == Cmd.BOOT and p.boot_ok:
                        continue
                    if f.type == Cmd.BOOT:
                        raise DeviceReset(f"device rebooted while waiting for the reply to {name}",
                                          hint="it crashed, ran out of stack, or was reset; see its serial output")
                    if f.type == REPLY and f.status == Status.BAD_FRAME:
                        self.counters.naks += 1
                        nak = True
                        continue
                    if f.type != (p.cmd | REPLY) or f.seq != p.seq:
                        if f.seq in self._outstanding and f.seq != p.seq and f.type & REPLY:
                            self._early[f.seq] = f   # a later request's reply: keep it for its wait()
                        else:
                            self.counters.stale_replies += 1
                        continue
                    self._pending = frames[i + 1:] + self._pending
                    return f
                if nak:
                    break  # our request may have been the damaged one: resend now, not at the deadline
        printed = self._deframer.printed_text()
        waited = time.monotonic() - started
        raise LinkTimeout(f"no reply to {name} from {self.transport.name} in {waited:.0f} s "
                          f"({attempts} attempts of {p.timeout:g} s each)"
                          + (f"; it printed: {printed!r}" if printed else ""),
                          hint="the device hangs or runs other firmware; check --port/--baud, or rebuild with --app hil")

    def wait_boot(self, timeout: float | None = None) -> Frame | None:
        """Wait for the device's BOOT frame; None if none came (it may have booted before we listened)."""
        deadline = time.monotonic() + (self.config.boot_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            frames = self._frames(deadline)
            for i, f in enumerate(frames):
                if f.type == Cmd.BOOT:
                    self._pending = frames[i + 1:] + self._pending
                    return f
        return None

    def flush_input(self) -> None:
        """Forget buffered bytes and frames (before talking to a device that may have printed)."""
        self.transport.discard_input()
        self._deframer.clear()
        self._pending = []
