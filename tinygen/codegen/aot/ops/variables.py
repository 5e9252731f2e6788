"""Resource variables for streaming models: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE.

Each variable is a static buffer outside the arena (see generator._scan_variables). CALL_ONCE runs
its init subgraph on the first invoke after init(); reset() refills variables with their zero
point but does not run it again, exactly like TFLM's interpreter.
"""

from __future__ import annotations

from ..context import OpContext
from . import Lowered, register


@register("VAR_HANDLE")
def var_handle(ctx: OpContext) -> Lowered:
    ctx.variable(ctx.output(0))  # resolves the handle; no code at run time
    return Lowered("")


@register("READ_VARIABLE")
def read_variable(ctx: OpContext) -> Lowered:
    var = ctx.variable(ctx.arg(0))
    if ctx.reads_in_place(ctx.output(0)):
        return Lowered("/* read in place: consumers use the variable's storage */")
    n = min(var.nbytes, ctx.output(0).nbytes)
    return Lowered(f"memcpy({ctx.out(0)}, {var.cname}, {n});")


@register("ASSIGN_VARIABLE")
def assign_variable(ctx: OpContext) -> Lowered:
    var = ctx.variable(ctx.arg(0))
    value = ctx.arg(1)
    if value.nbytes != var.nbytes:
        raise ctx.error(f"assigning {value.nbytes} bytes to a {var.nbytes}-byte variable")
    return Lowered(f"memcpy({var.cname}, {ctx.inp(1)}, {var.nbytes});")


@register("CALL_ONCE")
def call_once(ctx: OpContext) -> Lowered:
    index = ctx.options.initSubgraphIndex
    flag = ctx.state(1, hint="once", on_reset=False)
    return Lowered(f"if (!{flag}[0]) {{\n  {flag}[0] = 1;\n  {ctx.call_subgraph(index)}\n}}")
