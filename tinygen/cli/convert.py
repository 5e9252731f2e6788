"""`tinygen convert`: a model as C sources for TFLite Micro or tinygen's AOT runtime."""

from __future__ import annotations

from pathlib import Path

import click

from ..convert import RUNTIMES, convert
from ..errors import UsageError
from .common import emit_json, handle_errors, json_option, make_reporter, model_argument


@click.command("convert")
@model_argument
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the generated files (created if missing).")
@click.option("--name", default=None, help="C name prefix (default: the model file's stem).")
@click.option("--runtime", type=click.Choice(RUNTIMES), default="tflm", show_default=True,
              help="tflm: model array + op resolver + arena size; aot: tinygen's generated C runtime.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Text file with one class label per line, emitted as a C array.")
@click.option("--arena-size", type=click.IntRange(min=16), default=None,
              help="TFLM arena bytes to reserve instead of the computed size (models with ops the "
                   "arena model does not cover).")
@click.option("--incremental", is_flag=True,
              help="AOT: NAME_run() reuses rows earlier windows computed (sliding-window models), when "
                   "host runs on streams prove it bit-exact with TFLM (docs/aot.md).")
@json_option
@handle_errors
def command(model: str, out_dir: Path, name: str | None, runtime: str, labels_path: Path | None, as_json: bool,
            arena_size: int | None, incremental: bool) -> None:
    """Write a model as C sources for the device."""
    reporter = make_reporter()
    plan, decision = None, None
    if incremental:
        if runtime != "aot":
            raise UsageError("--incremental is for --runtime aot", hint="add --runtime aot")
        from ..hostrun.incremental import decide
        from ..model import load_model

        decision = decide(load_model(model))
        plan = decision.plan
        (reporter.info if plan else reporter.warn)(decision.summary)
    result = convert(model, out_dir, name=name, runtime=runtime, labels_path=labels_path,
                     reporter=reporter, arena_size=arena_size, incremental=plan)
    if as_json:
        payload = {"name": result.name, "runtime": result.runtime, "out_dir": str(result.out_dir),
                   "files": list(result.files), "changed": list(result.changed)}
        if result.memory:
            payload["memory"] = result.memory
        if decision is not None:
            payload["incremental"] = decision.to_json()
        emit_json("convert", payload)
    else:
        for f in result.files:
            mark = "wrote" if f in result.changed else "unchanged"
            click.echo(f"{mark:9s} {result.out_dir / f}")
