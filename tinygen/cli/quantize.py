"""`tinygen quantize`: a float Keras/SavedModel model to a full-int8 .tflite."""

from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, handle_errors, json_option, make_reporter


@click.command("quantize")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--calibration", required=True, type=click.Path(path_type=Path),
              help="Representative inputs: a .npy of shape [N, ...] or a directory of .npy samples.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the full-int8 .tflite.")
@json_option
@handle_errors
def command(source: Path, calibration: Path, output: Path, as_json: bool) -> None:
    """Full-int8 post-training quantization of MODEL.keras or a SavedModel directory."""
    from ..quantize import quantize

    r = quantize(source, calibration, output, reporter=make_reporter())
    payload = {"output": str(r.output), "bytes": r.bytes, "samples": r.samples,
               "top1_agreement": r.top1_agreement, "max_abs_error": r.max_abs_error,
               "rmse": r.rmse, "cosine": r.cosine}
    if as_json:
        emit_json("quantize", payload)
        return
    click.echo(f"wrote {r.output} ({r.bytes} B, full-int8)")
    top1 = "n/a" if r.top1_agreement is None else f"{100 * r.top1_agreement:.1f}%"
    click.echo(f"int8 vs float on {r.samples} calibration samples: top-1 agreement {top1}, "
               f"max |err| {r.max_abs_error:.4g}, RMSE {r.rmse:.4g}, cosine {r.cosine:.5f}")
