"""`tinygen profile`: what every op of an inference costs on the device (docs/profile.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..link import LinkConfig
from ..profile import run_profile, write_png
from ..reference import Reference
from ..verify.inputs import load_inputs, random_inputs
from .common import emit_json, handle_errors, json_option, make_reporter


@click.command("profile")
@click.option("--board", "-b", required=True, help="Board name (tinygen boards), e.g. qemu-m4.")
@click.option("--model", "-m", "model", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The .tflite model.")
@click.option("--runtime", type=click.Choice(["aot", "tflm"]), default="aot", show_default=True,
              help="Runtime of the profile firmware.")
@click.option("--tflm-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Local TFLM source tree (--runtime tflm on the emulated board; default $TINYGEN_TFLM_DIR).")
@click.option("--random", "random_n", type=click.IntRange(min=0), default=0,
              help="Profile N random inputs (seeded; default 3 when no --inputs).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option("--inputs", "-i", "inputs", multiple=True, type=click.Path(exists=False),
              help="Inputs as for `tinygen verify`: .npz/.npy/.wav files or a directory.")
@click.option("--port", "-p", default=None, help="Serial port of a real board running the profile app.")
@click.option("--elf", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Use this already-built profile firmware (emulated board) instead of building it.")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the cost per op as a bar chart (needs matplotlib: tinygen[profile]).")
@click.option("--invoke-timeout", type=click.FloatRange(min=0.01), default=60.0, show_default=True,
              help="Seconds one inference may take.")
@json_option
@handle_errors
def command(board: str, model: Path, runtime: str, tflm_dir: Path | None, random_n: int, seed: int,
            inputs: tuple[str, ...], port: str | None, elf: Path | None, png: Path | None,
            invoke_timeout: float, as_json: bool) -> None:
    """Cost of every op of the model on the device, per inference.

    Builds the `profile` app (the HIL firmware with per-op timing: TG_AOT_PROFILE_OP in the AOT
    code, TFLM's MicroProfiler interface), runs the inputs and reads the per-op totals over the
    serial link. On qemu-m4 the unit is instructions (QEMU -icount shift=0: deterministic); on real
    Cortex-M boards it is DWT cycles. The table goes to stderr; --json prints one row per op.
    """
    reporter = make_reporter()
    specs = Reference.from_file(model).inputs
    cases = load_inputs(list(inputs), specs) if inputs else []
    cases += random_inputs(specs, random_n or (0 if inputs else 3), seed)
    result = run_profile(board, model, [list(c.arrays) for c in cases], reporter, runtime=runtime, elf=elf,
                         port=port, tflm_dir=tflm_dir, link=LinkConfig(invoke_timeout=invoke_timeout))
    click.echo(f"{model.name} on {result.board} ({result.runtime} runtime), {result.inferences} inference(s):",
               err=True)
    for line in result.table():
        click.echo("  " + line, err=True)
    doc = result.to_json()
    if png is not None:
        doc["png"] = str(write_png(result, png))
        reporter.info(f"wrote {png}")
    if as_json:
        emit_json("profile", doc)
