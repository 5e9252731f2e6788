"""The op-lowering registry: how each TFLite op becomes a kernel call in generated C.

A lowering is a function `lower(ctx: OpContext) -> Lowered` registered for an op name:

    from tinygen.codegen.aot.ops import Lowered, OpContext, register

    @register("CONV_2D", when=lambda ctx: ctx.input(0).dtype == "int8")
    def conv_2d(ctx: OpContext) -> Lowered:
        params = ctx.struct("tg_conv_params", {...})          # a const parameter block
        return Lowered(f"tg_conv_s8(&{params}, {ctx.inp(0)}, {ctx.inp(1)}, {ctx.out(0)});",
                       sources=("tg_aot_conv.c",))

`when` picks between registrations of the same op name by tensor types (the int8 ADD and the
integer ADD live in different modules). Lowerings run before memory planning: `ctx.inp(i)`,
`ctx.out(i)` and `ctx.scratch(n)` return placeholders that the generator replaces with arena
addresses once every tensor has an offset. See docs/aot.md for the whole contract.

Modules listed in `_MODULES` are imported on first use (every one must exist: a missing module is
an installation bug, not an op the runtime lacks).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from ..context import OpContext

__all__ = ["Lowered", "OpContext", "Registration", "register", "find", "registered_ops"]


@dataclass(frozen=True)
class Lowered:
    """What one op becomes.

    code: C statements run for the op, inside the subgraph function (arena base pointer `A`).
    sources: kernel files under firmware/aot/ the code needs (.c files; headers are always copied).
    headers: headers (by base name) the model source must #include for this code; tg_aot.h is
        always included.
    """

    code: str
    sources: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registration:
    op: str
    lower: Callable[[OpContext], Lowered]
    when: Callable[[OpContext], bool] | None = None
    # Output 0 is the same bytes as input 0 (RESHAPE): no code, no arena space of its own.
    alias: bool = False
    # Output i may overwrite input j when input j dies at this op (kernel reads before it writes
    # each element): pairs (output index, input index), only used when both have the same size.
    # A callable instead decides per op and may pair tensors of different sizes (the kernel then
    # detects in == out at run time and works around the overlap itself).
    inplace: tuple[tuple[int, int], ...] | Callable[[OpContext], tuple[tuple[int, int], ...]] = ()
    module: str = field(default="", compare=False)


_REGISTRY: dict[str, list[Registration]] = {}
_MODULES = ("nn", "activation", "elementwise", "data", "variables", "reduce", "integer", "signal", "sequence",
            "int16")
_loaded = False


def register(
    op: str,
    *,
    when: Callable[[OpContext], bool] | None = None,
    alias: bool = False,
    inplace: tuple[tuple[int, int], ...] | Callable[[OpContext], tuple[tuple[int, int], ...]] = (),
) -> Callable[[Callable[[OpContext], Lowered]], Callable[[OpContext], Lowered]]:
    """Decorator: register `fn` as the lowering of builtin or custom op `op`."""

    def deco(fn: Callable[[OpContext], Lowered]) -> Callable[[OpContext], Lowered]:
        _REGISTRY.setdefault(op, []).append(
            Registration(op, fn, when, alias, inplace if callable(inplace) else tuple(inplace), module=fn.__module__)
        )
        return fn

    return deco


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _MODULES:
        importlib.import_module(f"{__name__}.{mod}")
    _loaded = True


def find(ctx: OpContext) -> Registration | None:
    """The registration that handles this op with these tensor types, or None."""
    _load()
    for reg in _REGISTRY.get(ctx.op.op, []):
        if reg.when is None or reg.when(ctx):
            return reg
    return None


def registered_ops() -> dict[str, list[Registration]]:
    _load()
    return {k: list(v) for k, v in sorted(_REGISTRY.items())}
