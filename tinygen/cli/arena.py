"""`tinygen arena`: the exact TFLM tensor-arena size a model needs on a 32-bit target."""

from __future__ import annotations

import click

from ..arena import KERNELS, TARGETS, ArenaPlan, compute_arena
from ..model import check_deployable, load_model
from .common import emit_json, handle_errors, json_option, model_argument

_LABELS = {
    "runtime_objects": "allocator, planner, builtin-data allocator, subgraph table",
    "resource_variables": "MicroResourceVariables + variable buffers",
    "eval_tensors": "TfLiteEvalTensor per tensor",
    "node_and_registration": "TfLiteNode + registration per operator",
    "builtin_data": "parsed builtin options",
    "op_data": "kernel OpData, per-channel params, LUTs, kernel state",
    "scratch_buffer_handles": "one pointer per scratch buffer",
    "variable_tensors": "is_variable tensors",
    "persistent_tensors": "input/output TfLiteTensor",
    "quantization_data": "input/output quantization params",
    "activations": "planned tensors",
    "scratch_buffers": "kernel scratch buffers (beyond the tensors' plan)",
    "slack": "free after AllocateTensors",
}


def _print_human(p: ArenaPlan) -> None:
    echo = click.echo
    echo(f"{p.model}: TFLM tensor arena, {p.target}, {p.kernels} kernels (TFLM {p.to_json()['tflm_commit']})")
    echo(f"  total  {p.total:8d} B   smallest arena for AllocateTensors + Invoke")
    echo(f"  head   {p.head:8d} B   planned activations and scratch buffers")
    for key in ("activations", "scratch_buffers"):
        echo(f"    {key:24s} {p.breakdown[key]:8d} B  {_LABELS[key]}")
    echo(f"  tail   {p.tail:8d} B   persistent")
    for key, value in p.breakdown.items():
        if key in ("activations", "scratch_buffers", "slack") or value == 0:
            continue
        echo(f"    {key:24s} {value:8d} B  {_LABELS.get(key, '')}")
    if p.slack:
        why = ("needed only while AllocateTensors plans" if p.limited_by == "memory planning"
               else "alignment slack of the 16-byte aligned tail")
        echo(f"  + {p.slack} B {why}; arena_used_bytes() will report {p.arena_used_bytes}")
    echo(f"  one byte less fails in: {p.limited_by}")


@click.command("arena")
@model_argument
@click.option("--target", type=click.Choice([t for t in TARGETS if t != "host64"]), default="cortex-m4",
              show_default=True, help="32-bit Cortex-M core (one struct layout; CMSIS-NN scratch depends on DSP).")
@click.option("--kernels", type=click.Choice(KERNELS), default="reference", show_default=True,
              help="TFLM kernel set: portable reference kernels or Arm CMSIS-NN.")
@json_option
@handle_errors
def command(model: str, target: str, kernels: str, as_json: bool) -> None:
    """Print the smallest TFLM tensor arena for MODEL, split into head and tail."""
    info = load_model(model)
    check_deployable(info)
    plan = compute_arena(info, kernels=kernels, target=target)
    if as_json:
        emit_json("arena", plan.to_json())
    else:
        _print_human(plan)
