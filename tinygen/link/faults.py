"""Fault injection on a real link, for tests of the link itself (tinygen's and users'): garbage
before a write, a dropped request, a dropped reply, an action (kill the emulator, stop the process,
reboot the device) at a chosen write. Counting is by frames written (one per request attempt)."""

from __future__ import annotations

from typing import Callable

from .transport import Transport


class FaultyTransport(Transport):
    """Wraps an open Transport; faults are keyed by the 1-based number of the write they hit."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner._ser, inner.name, inner._on_closed)
        self.inner = inner
        self.writes = 0
        self.garbage_before: dict[int, bytes] = {}
        self.drop_write: set[int] = set()
        self.drop_reply_of: set[int] = set()        # everything read while this write is the latest
        self.action_before: dict[int, Callable[[], None]] = {}

    def write(self, data: bytes) -> None:
        self.writes += 1
        action = self.action_before.pop(self.writes, None)
        if action is not None:
            action()
        if self.writes in self.garbage_before:
            super().write(self.garbage_before[self.writes])
        if self.writes in self.drop_write:
            return
        super().write(data)

    def read(self, deadline: float) -> bytes:
        data = super().read(deadline)
        return b"" if self.writes in self.drop_reply_of else data
