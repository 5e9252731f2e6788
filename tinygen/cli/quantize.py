"""`tinygen quantize`: a float Keras model to a full-int8 or int16x8 .tflite (PTQ or QAT), with evidence."""

from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, handle_errors, json_option, make_reporter

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("quantize")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--calibration", required=True, type=click.Path(path_type=Path),
              help="Representative inputs: .npy [N, ...], .npz with x, or a directory of .npy samples.")
@click.option("-o", "--output", required=True, type=_FILE, help="Where to write the quantized .tflite.")
@click.option("--activations", type=click.Choice(["int8", "int16"]), default="int8", show_default=True,
              help="int8: full-int8 model; int16: int16x8 (16-bit activations, 8-bit weights, int16 I/O).")
@click.option("--qat", is_flag=True, help="Quantization-aware training with tfmot before converting (needs --train).")
@click.option("--train", type=_FILE, default=None, help="Training set for --qat: .npz with x and integer labels y.")
@click.option("--epochs", type=int, default=3, show_default=True, help="QAT fine-tuning epochs.")
@click.option("--learning-rate", type=float, default=1e-4, show_default=True, help="QAT learning rate (Adam).")
@click.option("--batch-size", type=int, default=32, show_default=True, help="QAT batch size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for QAT (weights, shuffling).")
@click.option("--eval", "eval_path", type=_FILE, default=None,
              help="Held-out set (.npz with x, y): float vs quantized accuracy through TFLM, and cost per variant.")
@click.option("--no-measure", is_flag=True,
              help="With --eval: skip instructions per inference on the emulated Cortex-M4.")
@click.option("--report", type=_FILE, default=None, help="Per-layer error report (JSON); a table goes to stderr.")
@click.option("--png", type=_FILE, default=None, help="Per-layer error as a bar chart (PNG).")
@click.option("--variants", "variants_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write every compared model (OUT.int8-ptq.tflite, OUT.int16x8-ptq.tflite, ...) to DIR.")
@json_option
@handle_errors
def command(source: Path, calibration: Path, output: Path, activations: str, qat: bool, train: Path | None,
            epochs: int, learning_rate: float, batch_size: int, seed: int, eval_path: Path | None,
            no_measure: bool, report: Path | None, png: Path | None, variants_dir: Path | None,
            as_json: bool) -> None:
    """Quantize MODEL.keras (or .h5): PTQ, or QAT with --qat; full-int8 or int16x8."""
    from ..quantize import Request, TrainOptions, quantize
    from ..quantize.layers import table

    req = Request(source=source, calibration=calibration, output=output, activations=activations, qat=qat,
                  train=train, train_options=TrainOptions(epochs, learning_rate, batch_size, seed),
                  eval=eval_path, report=report, png=png, variants_dir=variants_dir,
                  measure=not no_measure)
    r = quantize(req, reporter=make_reporter())
    if r.layers:
        click.echo("per-layer int8 error (TensorFlow's QuantizationDebugger), most sensitive first:", err=True)
        for line in table(list(r.layers)):
            click.echo("  " + line, err=True)
    if as_json:
        emit_json("quantize", r.to_json())
        return
    click.echo(f"wrote {r.output} ({r.bytes} B, {r.kind})")
    for p in r.written[1:]:
        click.echo(f"wrote {p}")
    if r.agreement_on == "calibration":
        a = r.model.evaluation.outputs[0]
        top1 = "n/a" if a.top1_agreement is None else f"{100 * a.top1_agreement:.1f}%"
        click.echo(f"{r.kind} vs float on {r.samples} calibration samples (TFLM): top-1 agreement {top1}, "
                   f"max |err| {a.max_abs_error:.4g}, RMSE {a.rmse:.4g}, cosine {a.cosine:.5f}")
        return
    n = r.model.evaluation.samples
    click.echo(f"on {n} --eval samples; quantized models run through TFLM's interpreter:")
    click.echo(f"  {'model':<13} {'accuracy':>8} {'top-1 agr':>9} {'cosine':>8}  {'TFLM arena':>10} "
               f"{'AOT RAM':>8} {'AOT flash':>9} {'instr/inf':>10}")
    acc = "" if r.float_accuracy is None else f"{100 * r.float_accuracy:.1f}%"
    click.echo(f"  {'float':<13} {acc:>8}")
    notes: list[str] = []
    for v in r.variants:
        e, a = v.evaluation, v.evaluation.outputs[0]
        acc = "" if e.accuracy is None else f"{100 * e.accuracy:.1f}%"
        top1 = "" if a.top1_agreement is None else f"{100 * a.top1_agreement:.1f}%"
        c = v.cost
        costs = "" if c is None else (f"{c.tflm_arena.text():>10} {c.aot_ram.text():>8} {c.aot_flash.text():>9} "
                                      f"{c.instructions.text():>10}")
        mark = " <- written" if v.written else ""
        click.echo(f"  {v.name:<13} {acc:>8} {top1:>9} {a.cosine:>8.5f}  {costs}{mark}")
        if len(e.outputs) > 1:
            for o in e.outputs[1:]:
                t = "" if o.top1_agreement is None else f"{100 * o.top1_agreement:.1f}%"
                click.echo(f"    output {o.index}: top-1 agreement {t}, cosine {o.cosine:.5f}, RMSE {o.rmse:.4g}")
        notes += [f"{v.name}: {n_}" for n_ in (c.notes() if c else []) if n_ != "not measured"]
    click.echo("  (bytes: arena = tinygen arena, reference kernels; AOT = tinygen's plan; instructions = AOT on "
               "the emulated Cortex-M4F)")
    for note in notes:
        click.echo(f"  n/a {note}")
