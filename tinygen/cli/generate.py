"""`tinygen generate`: a complete PlatformIO project for one board, model, app and runtime."""

from __future__ import annotations

from pathlib import Path

import click

from ..hostrun.incremental import decide
from ..kws.incremental import decide_for_kws
from ..kws.project import APP as KWS_APP
from ..kws.project import kws_app_files
from ..mlperf.benchmarks import NAMES as BENCHMARK_NAMES
from ..mlperf.firmware import APP as MLPERF_APP
from ..mlperf.firmware import mlperf_files_for
from ..errors import UsageError
from ..project import RUNTIMES, AppFiles, IncrementalDecider, generate_project
from .common import emit_json, handle_errors, json_option, make_reporter


def app_files_for(app: str, benchmark: str | None = None) -> AppFiles | None:
    """The generated files an app needs from a later pipeline stage (project.APPS_WITH_FILES)."""
    if benchmark is not None and app != MLPERF_APP:
        raise UsageError("--benchmark is for --app mlperf", hint="add --app mlperf, or leave --benchmark out")
    if app == MLPERF_APP:
        return mlperf_files_for(benchmark)
    return kws_app_files if app == KWS_APP else None


def incremental_for(app: str, flag: bool | None = None) -> IncrementalDecider | None:
    """Who decides incremental inference for the AOT model (--incremental/--no-incremental; default:
    on for the kws app, proven on the bundled clips; other apps prove on a random stream)."""
    if flag is False or (flag is None and app != KWS_APP):
        return None
    return decide_for_kws if app == KWS_APP else decide


def project_options(f, required_model: bool = True):  # type: ignore[no-untyped-def]
    """Options shared by generate and build."""
    for opt in reversed([
        click.option("--board", "-b", required=True, help="Board name or alias (tinygen boards)."),
        click.option("--model", "-m", "model", required=required_model,
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Full-int8 .tflite model." if required_model else
                     "Full-int8 .tflite model (omit to rebuild the project in -o / the newest ./build/<board>-*)."),
        click.option("--app", default="hello", show_default=True,
                     help="Application from firmware/apps/ (hello, hil, kws, mlperf)."),
        click.option("--benchmark", type=click.Choice(BENCHMARK_NAMES), default=None,
                     help="--app mlperf: the MLPerf Tiny benchmark (default: from the model's input)."),
        click.option("--runtime", type=click.Choice(RUNTIMES), default="aot", show_default=True,
                     help="aot: tinygen's generated C; tflm: TensorFlow Lite Micro."),
        click.option("--name", default=None, help="C name prefix (default: the model file's stem)."),
        click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Text file with one class label per line."),
        click.option("--tflm-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Local TFLM tree for --runtime tflm (offline); default TINYGEN_TFLM_DIR."),
        click.option("--arena-size", type=click.IntRange(min=16), default=None,
                     help="TFLM arena bytes (default: computed exactly by tinygen arena)."),
        click.option("--packages", "packages_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder of PlatformIO packages (platform, framework, toolchain, libraries) for "
                          "offline real-board builds; default TINYGEN_PIO_PACKAGES (docs/boards.md)."),
        click.option("--incremental/--no-incremental", default=None,
                     help="AOT: reuse rows earlier windows computed (sliding-window models; on where proven "
                          "bit-exact). Default: on for --app kws, off otherwise (docs/aot.md)."),
    ]):
        f = opt(f)
    return f


@click.command("generate")
@project_options
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Project directory (created; must be empty or a tinygen project).")
@json_option
@handle_errors
def command(board: str, model: Path, app: str, benchmark: str | None, runtime: str, name: str | None,
            labels_path: Path | None, tflm_dir: Path | None, arena_size: int | None, packages_dir: Path | None,
            incremental: bool | None, out_dir: Path,
            as_json: bool) -> None:
    """Write a PlatformIO project: platformio.ini, model sources, runtime, board glue, app."""
    project = generate_project(board, model, out_dir, app=app, runtime=runtime, name=name,
                               labels_path=labels_path, tflm_dir=tflm_dir, arena_size=arena_size,
                               reporter=make_reporter(), app_files=app_files_for(app, benchmark),
                               incremental=incremental_for(app, incremental), packages_dir=packages_dir)
    if as_json:
        emit_json("generate", {"project_dir": str(project.path), "board": project.board.name, "app": project.app,
                               "runtime": project.runtime, "env": project.env_name, "files": list(project.files),
                               "changed": list(project.changed)})
    else:
        click.echo(f"wrote {len(project.changed)} of {len(project.files)} files to {project.path}")
        click.echo(f"build it: cd {project.path} && pio run   (or: tinygen build --board {project.board.name} ...)")
