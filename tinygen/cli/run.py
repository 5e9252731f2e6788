"""`tinygen run`: compile a model's AOT C with the host compiler and run it, optionally against TFLM."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ..errors import UsageError, VerifyMismatch
from ..model import check_deployable, load_model
from .common import emit_json, handle_errors, json_option, make_reporter, model_argument


@click.command("run")
@model_argument
@click.option("--input", "inputs", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A .npy file per model input (integer values of the input's type).")
@click.option("--random", "n_random", type=int, default=0, show_default=True,
              help="Run this many uniformly random inputs instead.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option("--compare", is_flag=True,
              help="Also run TFLM's interpreter (PyPI tflite-micro) and require bit-exact outputs.")
@click.option("--cc", default=None, help="C compiler (default: $CC, cc, gcc, clang).")
@json_option
@handle_errors
def command(model: str, inputs: tuple[Path, ...], n_random: int, seed: int, compare: bool,
            cc: str | None, as_json: bool) -> None:
    """Run a model's generated AOT C on this computer (no board needed)."""
    from ..hostrun import HostModel
    from ..hostrun.check import random_input

    info = load_model(model)
    check_deployable(info)
    if not inputs and n_random <= 0:
        raise UsageError("give --input FILE.npy (one per model input) or --random N")
    reporter = make_reporter()
    reporter.step(f"compiling the AOT C of {info.path.name} with the host compiler")
    host = HostModel.build(info, cc=cc)
    if inputs:
        if len(inputs) != len(info.inputs):
            raise UsageError(f"model has {len(info.inputs)} input(s), got {len(inputs)} --input file(s)")
        batches = [[np.load(p) for p in inputs]]
    else:
        rng = np.random.default_rng(seed)
        batches = [[random_input(t, rng) for t in info.inputs] for _ in range(n_random)]
    runs = []
    if compare:
        from ..reference import Reference

        ref = Reference.from_bytes(info.data)
    mismatches = 0
    for xs in batches:
        got = host.invoke(*xs)
        row: dict[str, object] = {"outputs": [g.reshape(-1).tolist() for g in got]}
        if compare:
            want = ref.run(*xs)
            same = all(np.array_equal(w.reshape(-1), g.reshape(-1)) for w, g in zip(want, got))
            row["reference"] = [w.reshape(-1).tolist() for w in want]
            row["bit_exact"] = same
            mismatches += 0 if same else 1
        runs.append(row)
    if as_json:
        emit_json("run", {"model": str(info.path), "runtime": "aot-host", "runs": runs,
                          "compared": compare, "mismatched_runs": mismatches})
    else:
        for i, row in enumerate(runs):
            mark = "" if not compare else ("  == tflm" if row["bit_exact"] else "  != tflm")
            outputs: list[list[int]] = row["outputs"]  # type: ignore[assignment]
            click.echo(f"run {i}: " + " | ".join(str(o) for o in outputs) + mark)
    if compare and mismatches:
        raise VerifyMismatch(f"{mismatches} of {len(runs)} run(s) differ from the TFLM interpreter",
                             hint="this is a tinygen bug: please report it with the model")
