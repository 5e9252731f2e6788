"""Shared CLI plumbing: the reporter, JSON output and the one place errors become exit codes."""

from __future__ import annotations

import functools
import signal
import sys
import traceback
from types import FrameType
from typing import Any, Callable, TypeVar

import click

from ..errors import TinygenError
from ..report import Reporter, json_document

F = TypeVar("F", bound=Callable[..., Any])


def make_reporter(ctx: click.Context | None = None) -> Reporter:
    ctx = ctx or click.get_current_context()
    quiet = bool(ctx.find_root().params.get("quiet", False))
    return Reporter(quiet=quiet)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(f)


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    click.echo(json_document(kind, payload))


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so every `finally` and context manager stops
    the QEMU and PlatformIO processes the command started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP end a command as cleanly as Ctrl-C (Python's default would skip the cleanup)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def emit_json_error(kind: str, exc: TinygenError) -> None:
    """The --json document for a failed command (the error still goes to stderr and sets the exit code)."""
    emit_json(kind, {"ok": False, "error": {"type": type(exc).__name__, "message": exc.message,
                                            "hint": exc.hint, "exit_code": exc.exit_code}})


def handle_errors(f: F) -> F:
    """Turn TinygenError into one red line + hint + exit code; anything else is a bug."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except TinygenError as exc:
            click.secho(f"error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # output piped into `head` and friends
            sys.stderr.close()
            sys.exit(0)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Terminated as exc:
            click.echo(f"terminated ({signal.Signals(exc.signum).name})", err=True)
            sys.exit(128 + exc.signum)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - the one place a bug in tinygen becomes exit 70 + traceback
            traceback.print_exc()
            click.secho(
                "internal error: this is a bug in tinygen, please report it with the traceback above",
                fg="red",
                err=True,
            )
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def model_argument(f: F) -> F:
    return click.argument("model", type=click.Path(dir_okay=False, path_type=str))(f)
