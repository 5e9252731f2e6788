"""One error hierarchy for the whole tool.

A `TinygenError` is a user-facing problem (bad model, unknown board, device silent): the CLI prints
its one-line message plus the hint and exits with `exit_code`. Anything else escaping is a bug and
gets a traceback.
"""

from __future__ import annotations


class TinygenError(Exception):
    """A problem the user can fix. `hint` says what to do next."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TinygenError):
    """Bad arguments or options."""

    exit_code = 2


class ModelError(TinygenError):
    """The .tflite file cannot be used: missing, corrupt, not full-int8, unsupported ops."""

    exit_code = 3


class UnsupportedOpError(ModelError):
    """The model uses an op a runtime does not implement."""


class BoardError(TinygenError):
    """Unknown board or invalid board definition."""

    exit_code = 4


class BuildError(TinygenError):
    """Code generation or the PlatformIO build failed, or the firmware does not fit."""

    exit_code = 5


class ToolMissingError(TinygenError):
    """An external program (compiler, QEMU, PlatformIO) is not installed."""

    exit_code = 6


class DeviceError(TinygenError):
    """The device or emulator stopped answering, sent garbage, or reset."""

    exit_code = 7


class VerifyMismatch(TinygenError):
    """Device outputs differ from the reference beyond the tolerance."""

    exit_code = 8
