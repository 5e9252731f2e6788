"""Lower every op of a model through the registry and plan its memory: the AOT model, in memory.

`build(model, name)` returns an `AotModel` (per-subgraph C statements with arena addresses filled
in, constants, state, variables, sizes). `emit.py` turns that into files.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...arena.kernels import REFERENCE
from ...arena.signal_kernels import SIGNAL
from ...errors import UnsupportedOpError
from ...model import ModelInfo, OperatorInfo, SubgraphInfo
from ...model.ops import resolver_method
from .context import ModelState, OpContext, Variable, resolve_placeholders
from .ops import find
from .planner import SubgraphPlan, plan_subgraph
from .quant import UnsupportedActivation

# Kernel files every generated model compiles (the fixed-point helpers).
BASE_SOURCES = ("tg_aot_fixedpoint.c",)


@dataclass(frozen=True)
class AotSubgraph:
    index: int
    body: tuple[str, ...]       # C statements, one block per op (comment + call)
    plan: SubgraphPlan
    base: int                   # arena offset of this subgraph's region


@dataclass(frozen=True)
class AotModel:
    model: ModelInfo
    name: str
    state: ModelState
    subgraphs: tuple[AotSubgraph, ...]
    sources: tuple[str, ...]
    arena_bytes: int            # activations + scratch
    persistent_bytes: int       # resource variables + kernel state (outside the arena)
    const_bytes: int            # weights, tables, parameter blocks (flash)
    io_offsets: tuple[tuple[int, ...], tuple[int, ...]]  # main subgraph input/output offsets
    # incremental inference (incremental.py): definitions, reset statements, NAME_run() body
    extra_source: tuple[str, ...] = ()
    extra_reset: tuple[str, ...] = ()
    run_body: tuple[str, ...] = ()

    @property
    def ram_bytes(self) -> int:
        return self.arena_bytes + self.persistent_bytes


# `tinygen run` and `features` only run the AOT runtime: name the commands that take --runtime.
TFLM_HINT = "TFLite Micro has it: use `--runtime tflm` with convert, generate, build or verify"


def _unsupported(op: OperatorInfo, detail: str = "") -> UnsupportedOpError:
    runtimes = ["tflm"] if resolver_method(op.op) else []
    where = f"runtimes that have it: {', '.join(runtimes)}" if runtimes else "no tinygen runtime has it"
    msg = f"op {op.op} is not supported by the AOT runtime{detail} ({where})"
    if not runtimes:
        return UnsupportedOpError(msg, hint="replace the op in the model")
    # the TFLM path needs an arena size: computed if tinygen models the op's kernel, else by hand
    hint = (TFLM_HINT if op.op in REFERENCE or op.op in SIGNAL
            else f"{TFLM_HINT}, with --arena-size BYTES (tinygen has no arena model for {op.op})")
    return UnsupportedOpError(msg, hint=hint)


def _scan_variables(model: ModelInfo, state: ModelState) -> None:
    """Map every VAR_HANDLE output to a variable and size it from ASSIGN_VARIABLE values."""
    for sg in model.subgraphs:
        for op in sg.operators:
            if op.op != "VAR_HANDLE":
                continue
            opts = op.options
            container = _text(getattr(opts, "container", b"")) if opts else ""
            shared = _text(getattr(opts, "sharedName", b"")) if opts else ""
            key = f"{container}/{shared}" if shared else f"sg{sg.index}_t{op.outputs[0]}"
            if key not in state.variables:
                state.variables[key] = Variable(key, f"{state.name}_var{len(state.variables)}")
            state.resource_of[(sg.index, op.outputs[0])] = key
    # TFLM sizes a variable at its first ASSIGN_VARIABLE (main subgraph first) and fills it with
    # that value tensor's zero point on reset.
    order = list(model.subgraphs[:1]) + list(model.subgraphs[1:])
    for sg in order:
        for op in sg.operators:
            if op.op != "ASSIGN_VARIABLE":
                continue
            found = state.resource_of.get((sg.index, op.inputs[0]))
            if found is None:
                continue
            var = state.variables[found]
            value = sg.tensors[op.inputs[1]]
            if var.nbytes == 0:
                var.nbytes = value.nbytes
                q = value.quantization
                var.fill = (q.zero_point[0] & 0xFF) if q else 0


def _read_aliases(model: ModelInfo, state: ModelState) -> None:
    """READ_VARIABLE outputs consumers can read straight from the variable: no ASSIGN_VARIABLE (or
    CALL_ONCE, which may assign) to it between the read and the output's last use."""
    for sg in model.subgraphs:
        ops = sg.operators
        for op in ops:
            if op.op != "READ_VARIABLE":
                continue
            key = state.resource_of.get((sg.index, op.inputs[0]))
            out = op.outputs[0]
            if key is None or out in sg.outputs or state.variables[key].nbytes != sg.tensors[out].nbytes:
                continue
            uses = [o.index for o in ops if out in o.inputs]
            last = max(uses, default=op.index)
            clobbered = any(
                (o.op == "ASSIGN_VARIABLE" and state.resource_of.get((sg.index, o.inputs[0])) == key)
                or o.op == "CALL_ONCE"
                for o in ops[op.index + 1: last + 1]
            )
            if not clobbered:
                state.read_alias[(sg.index, out)] = key


def _text(v: object) -> str:
    if v is None:
        return ""
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)


def _lower_subgraph(model: ModelInfo, sg: SubgraphInfo, state: ModelState, sources: set[str]):
    aliases: dict[int, tuple[int, int]] = {}
    inplace: dict[int, tuple[tuple[int, int, bool], ...]] = {}
    blocks: list[str] = []
    for op in sg.operators:
        ctx = OpContext(model, sg, op, state)
        reg = find(ctx)
        if reg is None:
            types = ", ".join(sg.tensors[i].dtype for i in op.inputs if i >= 0)
            raise _unsupported(op, f" for input types ({types})" if types and _has_any(op.op) else "")
        head = f"/* {op.index}: {op.op} */ TG_AOT_PROFILE_OP({sg.index}, {op.index});"
        src = ctx.input(0)
        if (reg.alias and src is not None and not src.is_constant and src.dtype != "resource"
                and (sg.index, src.index) not in state.read_alias):
            aliases[op.index] = (op.outputs[0], op.inputs[0])
            blocks.append(f"{head} /* shares its input's bytes */")
            continue
        try:
            low = reg.lower(ctx)
        except UnsupportedActivation as exc:
            raise ctx.error(str(exc)) from exc
        sources.update(low.sources)
        state.headers.update(low.headers)
        pairs = reg.inplace(ctx) if callable(reg.inplace) else reg.inplace
        if pairs:
            strict = not callable(reg.inplace)
            inplace[op.index] = tuple(
                (op.outputs[o], op.inputs[i], strict) for o, i in pairs
                if o < len(op.outputs) and i < len(op.inputs) and op.inputs[i] >= 0
            )
        code = "\n".join("  " + line if line else "" for line in low.code.strip("\n").splitlines())
        blocks.append(f"{head}\n{code}" if code.strip() else head)
    scratch = {o: n for (s, o), n in state.scratch.items() if s == sg.index}
    skip = {t for (s, t) in state.read_alias if s == sg.index}
    return blocks, plan_subgraph(sg, aliases, inplace, scratch, skip)


def _has_any(op_name: str) -> bool:
    from .ops import registered_ops

    return op_name in registered_ops()


def build(model: ModelInfo, name: str) -> AotModel:
    """Lower and plan `model`. Raises UnsupportedOpError naming the first op the AOT runtime lacks."""
    state = ModelState(name)
    _scan_variables(model, state)
    _read_aliases(model, state)
    sources: set[str] = set(BASE_SOURCES)
    lowered = [_lower_subgraph(model, sg, state, sources) for sg in model.subgraphs]
    main_size = lowered[0][1].size
    subs: list[AotSubgraph] = []
    arena = main_size
    for sg, (blocks, plan) in zip(model.subgraphs, lowered):
        # Other subgraphs (CALL_ONCE bodies) run while the main one is live: put them after it.
        base = 0 if sg.index == 0 else main_size
        arena = max(arena, base + plan.size)
        offsets = {(sg.index, t): base + off for t, off in plan.offsets.items()}
        scratch = {(sg.index, o): base + off for o, off in plan.scratch.items()}
        body = tuple(resolve_placeholders(b, offsets, scratch) for b in blocks)
        subs.append(AotSubgraph(sg.index, body, plan, base))
    persistent = sum(v.nbytes for v in state.variables.values()) + sum(s.nbytes for s in state.states)
    main = model.subgraphs[0]
    io = (tuple(lowered[0][1].offsets[t] for t in main.inputs),
          tuple(lowered[0][1].offsets[t] for t in main.outputs))
    return AotModel(
        model=model, name=name, state=state, subgraphs=tuple(subs), sources=tuple(sorted(sources)),
        arena_bytes=arena, persistent_bytes=persistent, const_bytes=state.const_bytes, io_offsets=io,
    )
