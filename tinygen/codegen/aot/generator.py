"""Lower every op of a model through the registry and plan its memory: the AOT model, in memory.

`build(model, name)` returns an `AotModel` (per-subgraph C statements with arena addresses filled
in, constants, state, variables, sizes). `emit.py` turns that into files.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ...arena.kernels import REFERENCE
from ...arena.signal_kernels import SIGNAL
from ...errors import UnsupportedOpError
from ...model import ModelInfo, OperatorInfo, SubgraphInfo
from ...model.ops import resolver_method
from . import rows
from .context import ModelState, OpContext, Variable, resolve_placeholders
from .ops import find
from .planner import SubgraphPlan, plan_subgraph
from .quant import UnsupportedActivation
from .rows import RowsPlan, StageCode

# Kernel files every generated model compiles (the fixed-point helpers).
BASE_SOURCES = ("tg_aot_fixedpoint.c",)


@dataclass(frozen=True)
class AotSubgraph:
    index: int
    body: tuple[str, ...]       # C statements in run order, one block per op or row chain (comment + call)
    plan: SubgraphPlan
    base: int                   # arena offset of this subgraph's region
    rows: RowsPlan | None = None  # the op order and row chains the body runs (rows.py)


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


@dataclass
class _Lowering:
    """One subgraph lowered, before its memory plan: blocks in run order (row chains still to
    be written, see `_finish`), and what the planner needs."""
    blocks: list[str | int]                     # C text, or the index of a row chain
    aliases: dict[int, tuple[int, int]]
    inplace: dict[int, tuple[tuple[int, int, bool], ...]]
    rows: RowsPlan
    stage_codes: dict[int, list[StageCode]]
    heads: dict[int, str]
    all_inplace: dict[int, tuple[tuple[int, int, bool], ...]]   # before chains took their ops'


def _lower_subgraph(model: ModelInfo, sg: SubgraphInfo, state: ModelState, sources: set[str],
                    row_pipelines: bool) -> tuple[_Lowering, SubgraphPlan]:
    aliases: dict[int, tuple[int, int]] = {}
    inplace: dict[int, tuple[tuple[int, int, bool], ...]] = {}
    regs = {}
    for op in sg.operators:
        ctx = OpContext(model, sg, op, state)
        reg = find(ctx)
        if reg is None:
            types = ", ".join(sg.tensors[i].dtype for i in op.inputs if i >= 0)
            raise _unsupported(op, f" for input types ({types})" if types and _has_any(op.op) else "")
        regs[op.index] = reg
        src = ctx.input(0)
        if (reg.alias and src is not None and not src.is_constant and src.dtype != "resource"
                and (sg.index, src.index) not in state.read_alias):
            aliases[op.index] = (op.outputs[0], op.inputs[0])
            continue
        pairs = reg.inplace(ctx) if callable(reg.inplace) else reg.inplace
        if pairs:
            strict = not callable(reg.inplace)
            inplace[op.index] = tuple(
                (op.outputs[o], op.inputs[i], strict) for o, i in pairs
                if o < len(op.outputs) and i < len(op.inputs) and op.inputs[i] >= 0
            )
    skip = {t for (s, t) in state.read_alias if s == sg.index}
    rplan = RowsPlan(tuple(op.index for op in sg.operators))
    if row_pipelines and sg.index == 0:
        rplan = rows.decide(sg, lambda p: _score(sg, p, aliases, inplace, {}, skip))
    chain_ops = {op for c in rplan.chains for op in c.ops}
    low_x = _Lowering([], aliases, inplace, rplan, {}, {}, dict(inplace))
    for op_index in rplan.order:
        op = sg.operators[op_index]
        ctx = OpContext(model, sg, op, state)
        reg = regs[op_index]
        head = f"/* {op.index}: {op.op} */ TG_AOT_PROFILE_OP({sg.index}, {op.index});"
        chain = rplan.chain_of(op_index)
        ctx.row_stage = chain is not None
        if op_index in aliases:
            low_x.blocks.append(f"{head} /* shares its input's bytes */")
            continue
        if chain is not None:
            k = rplan.chains.index(chain)
            try:
                if chain.stages[chain.ops.index(op_index)].kind == "fc":
                    stage = rows.lower_fc(ctx)
                else:
                    low = reg.lower(ctx)
                    sources.update(low.sources)
                    state.headers.update(low.headers)
                    stage = rows.stage_code(low.code, op.op)
            except UnsupportedActivation as exc:
                raise ctx.error(str(exc)) from exc
            low_x.stage_codes.setdefault(k, []).append(stage)
            sources.add(rows.ROW_SOURCE[stage.kind])
            if op_index == chain.ops[0]:
                low_x.blocks.append(k)
                low_x.heads[k] = head
            if op_index == chain.ops[-1]:
                sources.update(rows.SOURCES)
                state.headers.add(rows.HEADER)
            continue
        try:
            low = reg.lower(ctx)
        except UnsupportedActivation as exc:
            raise ctx.error(str(exc)) from exc
        sources.update(low.sources)
        state.headers.update(low.headers)
        code = "\n".join("  " + line if line else "" for line in low.code.strip("\n").splitlines())
        low_x.blocks.append(f"{head}\n{code}" if code.strip() else head)
    inplace_kept = {o: p for o, p in inplace.items() if o not in chain_ops}
    scratch = {o: n for (s, o), n in state.scratch.items() if s == sg.index}
    low_x.inplace = inplace_kept
    return low_x, _plan(sg, rplan, aliases, inplace_kept, scratch, skip)


def _plan(sg: SubgraphInfo, rplan: RowsPlan, aliases: dict[int, tuple[int, int]],
          inplace: dict[int, tuple[tuple[int, int, bool], ...]], scratch: dict[int, int], skip: set[int]) -> SubgraphPlan:
    pi = rows.plan_inputs(rplan)
    if not rplan.chains and rplan.order == tuple(range(len(sg.operators))):
        return plan_subgraph(sg, aliases, inplace, scratch, skip)
    inplace = {o: p for o, p in inplace.items() if o not in pi.chain_ops}
    return plan_subgraph(sg, aliases, inplace, {**rows.share_scratch(rplan, scratch), **pi.scratch}, skip | set(pi.skip),
                         pi.times, pi.overlaps)


def _score(sg: SubgraphInfo, rplan: RowsPlan, aliases: dict[int, tuple[int, int]],
           inplace: dict[int, tuple[tuple[int, int, bool], ...]], scratch: dict[int, int],
           skip: set[int]) -> tuple[int, tuple[int, ...]]:
    """What rows.decide minimises: the plan's size, then its live bytes per time slot (largest first)."""
    p = _plan(sg, rplan, aliases, inplace, scratch, skip)
    slots = max((b.last for b in p.buffers), default=0) + 1
    live = [0] * slots
    for b in p.buffers:
        for t in range(b.first, b.last + 1):
            live[t] += b.nbytes
    return p.size, tuple(sorted(live, reverse=True))


def _finish(model: ModelInfo, sg: SubgraphInfo, state: ModelState, low: _Lowering, plan: SubgraphPlan,
            base: int) -> tuple[str, ...]:
    """Blocks with arena addresses filled in and the row chains written."""
    offsets = {(sg.index, t): base + off for t, off in plan.offsets.items()}
    scratch = {(sg.index, o): base + off for o, off in plan.scratch.items()}
    out: list[str] = []
    for b in low.blocks:
        if isinstance(b, str):
            out.append(resolve_placeholders(b, offsets, scratch))
            continue
        chain = low.rows.chains[b]
        last = sg.operators[chain.ops[-1]]
        ctx = OpContext(model, sg, last, state)
        call = rows.chain_c(ctx, chain, low.stage_codes[b], rows.chain_key(b),
                            {t: base + off for t, off in plan.offsets.items()},
                            {o: base + off for o, off in plan.scratch.items()})
        linear = all(s.src == k - 1 and s.side_src < 0 for k, s in enumerate(chain.stages))
        names = (" -> " if linear else ", ").join(f"{i}: {sg.operators[i].op}" for i in chain.ops)
        how = [f"tensor {t} {'x'.join(map(str, sg.tensors[t].shape))} as a {c}-row window"
               for t, c in zip(chain.inner, chain.caps)] or ["one row at a time"]
        if chain.overlap is not None:
            t, d = chain.overlap
            where = f"{-d} bytes before" if d < 0 else f"{d} bytes into" if d else "on"
            how.append(f"output {where} tensor {t}, over rows read no more")
        text = "\n".join(f"  {line}" for line in textwrap.wrap(f"/* row pipeline {names}: {'; '.join(how)} (docs/aot.md) */", 100,
                                                             subsequent_indent="   "))
        # profiling: every op of the chain gets its row, the chain's cost counts under its first op
        heads = [f"/* {i}: {sg.operators[i].op} */ TG_AOT_PROFILE_OP({sg.index}, {i}); /* runs in the row pipeline of op {chain.ops[0]} */"
                 for i in reversed(chain.ops[1:])]
        out.append("\n  ".join([*heads, low.heads[b]]) + f"\n{text}\n  {call}")
    return tuple(out)


def _has_any(op_name: str) -> bool:
    from .ops import registered_ops

    return op_name in registered_ops()


def build(model: ModelInfo, name: str, row_pipelines: bool = True) -> AotModel:
    """Lower and plan `model`. Raises UnsupportedOpError naming the first op the AOT runtime lacks.
    `row_pipelines`: let rows.py run op chains row by row and reorder ops where that lowers RAM
    (off for incremental inference, which needs the model's own op order and whole tensors)."""
    state = ModelState(name)
    _scan_variables(model, state)
    _read_aliases(model, state)
    sources: set[str] = set(BASE_SOURCES)
    try:
        lowered = [_lower_subgraph(model, sg, state, sources, row_pipelines) for sg in model.subgraphs]
    except rows.NotAChainCall:
        return build(model, name, row_pipelines=False)
    first = lowered[0][0]
    if row_pipelines and (first.rows.chains or first.rows.order != tuple(range(len(model.main.operators)))):
        # decided without the kernels' scratch: keep the model's own schedule unless the real plan is smaller
        scratch = {o: n for (s, o), n in state.scratch.items() if s == 0}
        skip = {t for (s, t) in state.read_alias if s == 0}
        plain = plan_subgraph(model.main, first.aliases, first.all_inplace, scratch, skip)
        if plain.size <= lowered[0][1].size:
            return build(model, name, row_pipelines=False)
    main_size = lowered[0][1].size
    subs: list[AotSubgraph] = []
    arena = main_size
    for sg, (low, plan) in zip(model.subgraphs, lowered):
        # Other subgraphs (CALL_ONCE bodies) run while the main one is live: put them after it.
        base = 0 if sg.index == 0 else main_size
        arena = max(arena, base + plan.size)
        subs.append(AotSubgraph(sg.index, _finish(model, sg, state, low, plan, base), plan, base, low.rows))
    persistent = sum(v.nbytes for v in state.variables.values()) + sum(s.nbytes for s in state.states)
    main = model.subgraphs[0]
    io = (tuple(lowered[0][1].offsets[t] for t in main.inputs),
          tuple(lowered[0][1].offsets[t] for t in main.outputs))
    return AotModel(
        model=model, name=name, state=state, subgraphs=tuple(subs), sources=tuple(sorted(sources)),
        arena_bytes=arena, persistent_bytes=persistent, const_bytes=state.const_bytes, io_offsets=io,
    )
