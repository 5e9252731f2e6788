"""Shared CLI plumbing: the reporter, JSON output and the one place errors become exit codes."""

from __future__ import annotations

import functools
import sys
import traceback
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
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(f)  # type: ignore[return-value]


def emit_json(kind: str, payload: dict[str, Any]) -> None:
    click.echo(json_document(kind, payload))


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
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except Exception:  # a bug in tinygen, not a user mistake
            traceback.print_exc()
            click.secho(
                "internal error: this is a bug in tinygen, please report it with the traceback above",
                fg="red",
                err=True,
            )
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def model_argument(f: F) -> F:
    return click.argument("model", type=click.Path(dir_okay=False, path_type=str))(f)  # type: ignore[return-value]
