"""Link failures: each is a DeviceError (exit code 7) with a message naming what was being done."""

from __future__ import annotations

from ..errors import DeviceError


class LinkTimeout(DeviceError):
    """The device did not answer within the deadline (after all retries): hung, or wrong port/baud."""


class LinkClosed(DeviceError):
    """The connection went away: serial port unplugged or the emulator exited."""


class DeviceReset(DeviceError):
    """The device rebooted unexpectedly (a BOOT frame arrived mid-run): crash, watchdog, brown-out."""


class ProtocolError(DeviceError):
    """The device answered with an error status, or with a reply we cannot parse."""
