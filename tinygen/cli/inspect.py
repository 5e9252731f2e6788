"""`tinygen inspect`: what is in a model and what it needs on a device."""

from __future__ import annotations

from typing import Any

import click

from ..arena import compute_arena
from ..codegen.aot import sizes as aot_sizes
from ..errors import ModelError
from ..model import ModelInfo, TensorInfo, check_deployable, classify_quantization, load_model
from ..model.cost import model_macs, op_macs
from ..model.ops import resolver_method
from .common import emit_json, handle_errors, json_option, model_argument


def _tensor_dict(t: TensorInfo) -> dict[str, Any]:
    q = t.quantization
    return {
        "index": t.index,
        "name": t.name,
        "dtype": t.dtype,
        "shape": list(t.shape),
        "bytes": t.nbytes,
        "constant": t.is_constant,
        "scale": list(q.scale) if q else None,
        "zero_point": list(q.zero_point) if q else None,
        "quantized_axis": q.axis if q and q.per_channel else None,
    }


def describe(model: ModelInfo) -> dict[str, Any]:
    """Everything `inspect` reports, as plain data."""
    quant = classify_quantization(model)
    refusal: str | None = None
    try:
        check_deployable(model)  # what convert and verify would refuse (quantization, an op TFLM lacks)
    except ModelError as exc:
        refusal = exc.message
    # A model the arena model or the AOT runtime cannot handle (an op they lack) is still worth
    # inspecting: say why that figure is unavailable. Anything else is a bug and propagates.
    arena: dict[str, Any]
    try:
        arena = {k: compute_arena(model, kernels=k).to_json() for k in ("reference", "cmsis-nn")}
    except ModelError as exc:
        arena = {"error": exc.message}
    aot: dict[str, Any]
    try:
        aot = aot_sizes(model).to_json()
    except ModelError as exc:
        aot = {"error": exc.message}
    return {
        "path": str(model.path),
        "sha256": model.sha256,
        "file_bytes": len(model.data),
        "constant_bytes": model.constant_bytes,
        "quantization": quant.kind,
        "full_int8": quant.kind == "full-int8",
        "quantization_reason": quant.reason,
        "deployable": quant.deployable and refusal is None,
        "refusal": refusal,
        "runtimes": list(quant.runtimes) if refusal is None else [],
        "inputs": [_tensor_dict(t) for t in model.inputs],
        "outputs": [_tensor_dict(t) for t in model.outputs],
        "ops": [
            {"op": name, "count": count, "tflm": resolver_method(name) is not None}
            for name, count in model.op_counts.items()
        ],
        "macs": model_macs(model),
        "subgraphs": [
            {
                "index": sg.index,
                "name": sg.name,
                "inputs": list(sg.inputs),
                "outputs": list(sg.outputs),
                "operators": [
                    {
                        "index": op.index,
                        "op": op.op,
                        "inputs": list(op.inputs),
                        "outputs": list(op.outputs),
                        "macs": op_macs(sg, op),
                    }
                    for op in sg.operators
                ],
                "tensors": [_tensor_dict(t) for t in sg.tensors],
            }
            for sg in model.subgraphs
        ],
        "arena": arena,
        "aot": aot,
    }


def _fmt_tensor(t: dict[str, Any]) -> str:
    q = ""
    if t["scale"]:
        q = (
            f" scale={t['scale'][0]:.6g} zp={t['zero_point'][0]}"
            if len(t["scale"]) == 1
            else f" per-channel({len(t['scale'])})"
        )
    return f"{t['name']}: {t['dtype']}{t['shape']}{q}"


def _print_human(d: dict[str, Any], show_tensors: bool) -> None:
    echo = click.echo
    echo(f"model      {d['path']}")
    echo(f"sha256     {d['sha256'][:16]}…  {d['file_bytes']} B file, {d['constant_bytes']} B constants (flash)")
    runs = ", ".join(d["runtimes"]) if d["deployable"] else "refused by tinygen"
    echo(f"quant      {d['quantization']}: {d['quantization_reason']}  [{runs}]")
    if d["refusal"] and d["quantization"] in ("full-int8", "int16x8"):
        echo(f"refused    {d['refusal'].removeprefix(d['path'] + ': ')}")
    for t in d["inputs"]:
        echo(f"input      {_fmt_tensor(t)}")
    for t in d["outputs"]:
        echo(f"output     {_fmt_tensor(t)}")
    echo(f"subgraphs  {len(d['subgraphs'])}   MACs {d['macs']:,}")
    echo("ops")
    for op in d["ops"]:
        flag = "" if op["tflm"] else "   <- not in TFLM"
        echo(f"  {op['count']:4d} x {op['op']}{flag}")
    arena = d.get("arena")
    if arena and "error" not in arena:
        for kernels, a in arena.items():
            echo(f"arena      {a['total']} B with {kernels} kernels (head {a['head']} + tail {a['tail']})")
    elif arena:
        echo(f"arena      unavailable: {arena['error']}")
    aot = d.get("aot") or {}
    if "error" in aot:
        echo(f"aot        unavailable: {aot['error']}")
    elif aot:
        tflm_ref = (arena or {}).get("reference", {}).get("total") if arena and "error" not in arena else None
        vs = f"  ({aot['ram'] / tflm_ref:.2f}x the TFLM arena)" if tflm_ref else ""
        echo(f"aot        RAM {aot['ram']} B (arena {aot['arena']} + state {aot['persistent']}){vs}, "
             f"flash ~{aot['flash']} B ({aot['flash_const']} const + ~{aot['flash_code_estimate']} code)")
    if show_tensors:
        for sg in d["subgraphs"]:
            echo(f"subgraph {sg['index']} '{sg['name']}' tensors")
            for t in sg["tensors"]:
                kind = "const" if t["constant"] else "act  "
                echo(f"  {t['index']:4d} {kind} {t['bytes']:8d} B  {_fmt_tensor(t)}")


@click.command("inspect")
@model_argument
@click.option("--tensors", is_flag=True, help="Also list every tensor.")
@json_option
@handle_errors
def command(model: str, tensors: bool, as_json: bool) -> None:
    """Show a model's inputs, outputs, ops, quantization, flash and arena needs."""
    info = load_model(model)
    d = describe(info)
    if as_json:
        emit_json("inspect", d)
    else:
        _print_human(d, tensors)
