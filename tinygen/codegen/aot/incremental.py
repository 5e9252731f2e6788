"""Incremental (sliding-window) inference for AOT models: reuse the rows of the first layers'
outputs that earlier windows already computed.

A keyword model sees the last T feature frames; each new frame moves that window on by one. The
leading layers of such models work on rows of the time axis: a convolution's output row depends
on a bounded run of input rows, a per-row elementwise op on one. `analyse` walks the model from
its input through such layers and works out, per layer:

- the cumulative stride S in frames (a stride 2 convolution in time gives S = 2: the window w's
  output row r + 1 is window w + 2's row r, so the layer keeps S caches, one per phase w mod S);
- the clean rows: those whose whole receptive field lies inside the window with no padding and
  no dirty input row. Only clean rows move with the window; the edge rows padding reaches depend
  on where the window is and are recomputed every time, as is the newest clean row.

The generated `NAME_run()` compares the new input with the previous one (`tg_inc_advance`): when
it is the previous window moved on by k frames and every layer's cache for this phase holds the
window S frames back, each layer shifts its cache up one row and computes only its dirty and
newest rows, with the op's own lowering applied to a row slice (padding made explicit, VALID);
anything else (first window, a jump, a reset) runs the ordinary full code and refills the caches.
The result is the full-window result by construction; `tinygen.hostrun.incremental.prove` checks
it against TFLM on real streams before the kws app turns it on. docs/aot.md, "Incremental".
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace

import numpy as np

from ...model import ModelInfo, OperatorInfo, SubgraphInfo, TensorInfo
from ...model.schema import fb
from .context import ModelState, OpContext
from .generator import AotModel
from .ops import find
from .quant import compute_padding

SOURCE = "tg_aot_incremental.c"
HEADER = "tg_aot_incremental.h"
DEFAULT_RAM_BUDGET = 64 * 1024   # extra bytes of RAM the caches may take (kws app default)
MIN_CLEAN_ROWS = 3               # a layer with fewer clean rows reuses too little to pay for itself
_WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")
_ROW_OPS = ("RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU", "LOGISTIC", "TANH", "HARD_SWISH")
_SYNTHETIC_SUBGRAPH = 1000       # subgraph index of the row-slice ops (never a model subgraph)
_VALID = 1                       # tflite Padding.VALID


@dataclass(frozen=True)
class Layer:
    """One streamed op: its output rows and how they depend on its input rows."""

    op_index: int
    op: str
    tensor: int          # output tensor
    rows: int
    row_bytes: int
    phases: int          # cumulative stride in frames: caches kept, one per window phase
    clean: tuple[int, int]  # first and last clean row (inclusive)
    in_rows: int
    in_row_bytes: int
    k_h: int = 1         # rows of the receptive field (effective, dilation included)
    stride: int = 1
    pad_top: int = 0
    pad_left: int = 0    # bytes of zero point before / after an input row (SAME padding in width)
    pad_right: int = 0
    in_zero_point: int = 0
    macs: int = 0

    @property
    def cache_stride(self) -> int:
        """Bytes between phase caches (8-byte aligned)."""
        return (self.rows * self.row_bytes + 7) // 8 * 8

    @property
    def reused_rows(self) -> int:
        return max(0, self.clean[1] - self.clean[0])

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """Output row ranges [r0, r1) a warm step computes: the top edge and the bottom edge plus
        the newest clean row."""
        lo, hi = self.clean
        return [r for r in ((0, lo), (hi, self.rows)) if r[1] > r[0]]

    def input_span(self, r0: int, r1: int) -> tuple[int, int]:
        """Input rows [i0, i1) output rows [r0, r1) read (may reach into the padding)."""
        i0 = r0 * self.stride - self.pad_top
        return i0, (r1 - 1) * self.stride - self.pad_top + self.k_h


@dataclass(frozen=True)
class Plan:
    """What `apply` generates: the streamed layers, in order, and the model input's framing."""

    frames: int            # rows (frames) in the model's input window
    frame_bytes: int
    input_bytes: int
    layers: tuple[Layer, ...]

    @property
    def phases(self) -> int:
        return max(x.phases for x in self.layers)

    @property
    def tail_op(self) -> int:
        """First op that runs on the whole window as usual."""
        return self.layers[-1].op_index + 1

    @property
    def boundary(self) -> Layer:
        return self.layers[-1]

    def pad_bytes(self) -> int:
        best = 0
        for x in self.layers:
            for r0, r1 in x.dirty_ranges():
                i0, i1 = x.input_span(r0, r1)
                best = max(best, (i1 - i0) * (x.pad_left + x.in_row_bytes + x.pad_right))
        return best

    @property
    def cache_bytes(self) -> int:
        return sum(x.phases * x.cache_stride for x in self.layers)

    @property
    def ram_bytes(self) -> int:
        """Extra RAM: the previous window, the caches, the padded-row block (scratch comes on top)."""
        return (self.input_bytes + 7) // 8 * 8 + self.cache_bytes + (self.pad_bytes() + 7) // 8 * 8

    @property
    def macs_total(self) -> int:
        return sum(x.macs for x in self.layers)

    @property
    def macs_warm(self) -> int:
        """MACs of the streamed layers in a warm step (dirty rows only)."""
        return sum(x.macs * sum(r1 - r0 for r0, r1 in x.dirty_ranges()) // x.rows for x in self.layers)

    def to_json(self) -> dict[str, object]:
        return {
            "frames": self.frames, "frame_bytes": self.frame_bytes, "phases": self.phases,
            "ram_bytes": self.ram_bytes, "macs_full": self.macs_total, "macs_warm": self.macs_warm,
            "layers": [{"op": x.op_index, "type": x.op, "rows": x.rows, "phases": x.phases,
                        "clean_rows": [x.clean[0], x.clean[1]], "computed_rows": [list(r) for r in x.dirty_ranges()]}
                       for x in self.layers],
        }


@dataclass(frozen=True)
class Analysis:
    plan: Plan | None
    reason: str          # why streaming stops where it does (or is impossible)

    def to_json(self) -> dict[str, object]:
        return {"plan": self.plan.to_json() if self.plan else None, "reason": self.reason}


def _consumers(sg: SubgraphInfo, tensor: int) -> list[OperatorInfo]:
    return [op for op in sg.operators if tensor in op.inputs]


def _time_view(t: TensorInfo) -> tuple[int, int, int] | None:
    """(rows, width, channels) of an NHWC batch-1 tensor, rows = the time axis."""
    if len(t.shape) != 4 or t.shape[0] != 1:
        return None
    return t.shape[1], t.shape[2], t.shape[3]


def analyse(model: ModelInfo, ram_budget: int = DEFAULT_RAM_BUDGET) -> Analysis:
    """The longest chain of row-local layers from the model input whose caches fit `ram_budget`."""
    sg = model.main
    if len(sg.inputs) != 1:
        return Analysis(None, f"{len(sg.inputs)} inputs: only single-input models stream")
    inp = sg.tensors[sg.inputs[0]]
    if inp.dtype != "int8":
        return Analysis(None, f"{inp.dtype} input: only int8 inputs stream")
    if any(op.op in ("VAR_HANDLE", "CALL_ONCE") for op in sg.operators):
        return Analysis(None, "the model keeps its own state (resource variables): it streams by itself")
    cur = inp.index
    # leading reshapes only re-label the input's bytes ([1, 1960] -> [1, 49, 40, 1])
    while True:
        users = _consumers(sg, cur)
        if len(users) != 1 or cur in sg.outputs:
            return Analysis(None, "the input feeds more than one op")
        if users[0].op != "RESHAPE":
            break
        cur = users[0].outputs[0]
    view = _time_view(sg.tensors[cur])
    if view is None or sg.tensors[cur].nbytes != inp.nbytes:
        return Analysis(None, f"first op {users[0].op} does not see the input as [1, time, width, channels]")
    frames, width, channels = view
    layers: list[Layer] = []
    phases, clean = 1, (0, frames - 1)
    rows, row_bytes = frames, width * channels
    reason = ""
    while True:
        users = _consumers(sg, cur)
        if cur in sg.outputs or len(users) != 1:
            reason = "the next tensor is a model output or feeds several ops"
            break
        op = users[0]
        layer, why = _layer(model, sg, op, cur, rows, row_bytes, phases, clean)
        if layer is None:
            reason = f"op {op.index} {op.op} {why}"
            break
        trial = Plan(frames, width * channels, inp.nbytes, (*layers, layer))
        if trial.ram_bytes > ram_budget:
            reason = f"op {op.index} {op.op}: its caches would pass the RAM budget ({trial.ram_bytes} > {ram_budget} B)"
            break
        layers.append(layer)
        cur, rows, row_bytes, phases, clean = layer.tensor, layer.rows, layer.row_bytes, layer.phases, layer.clean
    if not layers:
        return Analysis(None, reason or "no row-local leading op")
    return Analysis(Plan(frames, width * channels, inp.nbytes, tuple(layers)), reason)


def _layer(model: ModelInfo, sg: SubgraphInfo, op: OperatorInfo, cur: int, rows: int, row_bytes: int,
           phases: int, clean: tuple[int, int]) -> tuple[Layer | None, str]:
    src, out = sg.tensors[cur], sg.tensors[op.outputs[0]]
    if op.inputs[0] != cur or len(op.outputs) != 1:
        return None, "does not take the streamed tensor as its first input"
    if any(i >= 0 and i != cur and not sg.tensors[i].is_constant for i in op.inputs):
        return None, "has another non-constant input"
    if src.dtype != "int8" or out.dtype != "int8":
        return None, "is not int8"
    if op.op in _ROW_OPS:
        if out.shape != src.shape:
            return None, "changes the shape"
        return Layer(op.index, op.op, out.index, rows, row_bytes, phases, clean, rows, row_bytes), ""
    if op.op not in _WINDOW_OPS:
        return None, "mixes rows of the time axis (not a convolution or a per-row op)"
    o, w = op.options, sg.tensors[op.inputs[1]]
    iv, ov = _time_view(src), _time_view(out)
    if iv is None or ov is None or len(w.shape) != 4:
        return None, "is not a batch-1 NHWC convolution"
    kh, kw = w.shape[1], w.shape[2]
    same = o.padding == 0
    eff_h, eff_w = (kh - 1) * o.dilationHFactor + 1, (kw - 1) * o.dilationWFactor + 1
    pad_top = compute_padding(iv[0], kh, o.strideH, o.dilationHFactor, ov[0], same)
    pad_w = max(0, (ov[1] - 1) * o.strideW + eff_w - iv[1]) if same else 0
    lo = -(-(clean[0] + pad_top) // o.strideH)
    hi = (clean[1] + pad_top - eff_h + 1) // o.strideH
    hi = min(hi, ov[0] - 1)
    if hi - lo + 1 < MIN_CLEAN_ROWS:
        return None, f"leaves {max(0, hi - lo + 1)} rows that move with the window (padding and edges reach the rest)"
    out_row = ov[1] * ov[2]
    if out_row % 4:
        return None, f"has {out_row}-byte output rows (not word aligned)"
    in_zp = src.quantization.zero_point[0] if src.quantization else 0
    macs = ov[0] * ov[1] * ov[2] * kh * kw * (w.shape[3] if op.op == "CONV_2D" else 1)
    return Layer(op.index, op.op, out.index, ov[0], out_row, phases * o.strideH, (lo, hi), iv[0], iv[1] * iv[2],
                 k_h=eff_h, stride=o.strideH, pad_top=pad_top, pad_left=(pad_w // 2) * iv[2],
                 pad_right=(pad_w - pad_w // 2) * iv[2], in_zero_point=in_zp, macs=macs), ""


# ---------------------------------------------------------------------------------------------
# C generation

_PLACEHOLDER = re.compile(r"@(T|S)(\d+):(\d+)(?::([a-z0-9_]+))?@")


@dataclass
class _Emitter:
    m: AotModel
    plan: Plan
    name: str
    scratch: int = 0
    sources: set[str] | None = None
    padded: bool = False

    def row_slice(self, layer: Layer, r0: int, r1: int, src: str, dst: str) -> list[str]:
        """C computing output rows [r0, r1) of `layer` from its whole input at `src` into `dst`
        (the row-r0 address): the op's own lowering on a VALID row slice."""
        model, sg = self.m.model, self.m.model.main
        op = sg.operators[layer.op_index]
        tin, tout = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
        lines: list[str] = []
        if layer.op in _ROW_OPS:
            in_expr, in_shape = f"{src} + {r0 * layer.in_row_bytes}", (1, r1 - r0, *tin.shape[2:])
            opts = op.options
        else:
            i0, i1 = layer.input_span(r0, r1)
            padded = (i0 < 0 or i1 > layer.in_rows or layer.pad_left or layer.pad_right
                      or (i0 * layer.in_row_bytes) % 4)
            width = tin.shape[2] + (layer.pad_left + layer.pad_right) // tin.shape[3]
            in_shape = (1, i1 - i0, width, tin.shape[3])
            if padded:
                rows = self.struct("tg_inc_rows", {
                    "in_rows": layer.in_rows, "row_bytes": layer.in_row_bytes, "first_row": i0, "rows": i1 - i0,
                    "pad_left": layer.pad_left, "pad_right": layer.pad_right, "zero_point": layer.in_zero_point})
                self.padded = True
                lines.append(f"tg_inc_pad_rows(&{rows}, (const int8_t *)({src}), (int8_t *){self.name}_inc_pad);")
                in_expr = f"(uint8_t *){self.name}_inc_pad"
            else:
                in_expr = f"{src} + {i0 * layer.in_row_bytes}"
            opts = copy.copy(op.options)
            opts.padding = _VALID
        t_in = replace(tin, index=len(sg.tensors), shape=in_shape, name=f"{tin.name}[rows]")
        t_out = replace(tout, index=len(sg.tensors) + 1, shape=(1, r1 - r0, *tout.shape[2:]), name=f"{tout.name}[rows]")
        extra: tuple[TensorInfo, ...] = (t_in, t_out)
        inputs, kind, arrays = (t_in.index, *op.inputs[1:]), op.op, {}
        if op.op == "DEPTHWISE_CONV_2D" and tin.shape[3] == 1:
            # one input channel: exactly a convolution with the filter as [oc, kh, kw, 1] (the full
            # op's lowering makes the same choice when it cannot run in place, as a slice never does)
            w = sg.tensors[op.inputs[1]]
            _, kh, kw, oc = w.shape
            t_w = replace(w, index=len(sg.tensors) + 2, shape=(oc, kh, kw, 1), name=f"{w.name}[ohwi]")
            arrays[t_w.index] = np.ascontiguousarray(model.tensor_array(w).reshape(kh, kw, oc).transpose(2, 0, 1)[..., None])
            extra, inputs, kind = (*extra, t_w), (t_in.index, t_w.index, *op.inputs[2:]), "CONV_2D"
            opts = _conv_options(opts)
        syn = replace(op, op=kind, inputs=inputs, outputs=(t_out.index,), options=opts)
        ssg = replace(sg, index=_SYNTHETIC_SUBGRAPH, tensors=(*sg.tensors, *extra), operators=(syn,))
        ctx = _SliceContext(model, ssg, syn, self.m.state, arrays)
        reg = find(ctx)
        if reg is None:  # analyse() only streams ops the generator lowered, with the same types
            raise RuntimeError(f"no lowering for the row slice of op {op.index} {op.op}")
        low = reg.lower(ctx)
        assert self.sources is not None
        self.sources.update(low.sources)
        self.m.state.headers.update(low.headers)
        key = (_SYNTHETIC_SUBGRAPH, op.index)
        self.scratch = max(self.scratch, self.m.state.scratch.pop(key, 0))

        def sub(mt: re.Match[str]) -> str:
            kind, tensor, ctype = mt.group(1), int(mt.group(3)), mt.group(4)
            if kind == "S":
                return f"((void *){self.name}_inc_scratch)"
            if tensor == t_in.index:
                return f"(({ctype} *)({in_expr}))"
            if tensor == t_out.index:
                return f"(({ctype} *)({dst}))"
            raise RuntimeError(f"row slice of op {op.index} refers to tensor {tensor}")

        lines += [ln for ln in _PLACEHOLDER.sub(sub, low.code).strip("\n").splitlines() if ln.strip()]
        return lines

    def struct(self, ctype: str, fields: dict[str, int]) -> str:
        cname = self.m.state.unique("inc_rows")
        body = ", ".join(f".{k} = {v}" for k, v in fields.items())
        self.m.state.consts[cname] = f"static const {ctype} {cname} = {{{body}}};"
        self.m.state.const_bytes += 4 * len(fields)
        return cname


class _SliceContext(OpContext):
    """An OpContext whose synthetic constant tensors (a re-laid-out filter) have their own data."""

    def __init__(self, model: ModelInfo, subgraph: SubgraphInfo, op: OperatorInfo, state: ModelState,
                 arrays: dict[int, np.ndarray]):
        super().__init__(model, subgraph, op, state)
        self._arrays = arrays

    def array(self, tensor: TensorInfo) -> np.ndarray:
        found = self._arrays.get(tensor.index)
        return found if found is not None else super().array(tensor)


def _conv_options(dw: object) -> object:
    """CONV_2D options with a depthwise op's stride, dilation, padding and activation."""
    o = fb.Conv2DOptionsT()
    for key in ("padding", "strideW", "strideH", "fusedActivationFunction", "dilationWFactor", "dilationHFactor"):
        setattr(o, key, getattr(dw, key))
    return o


def apply(m: AotModel, plan: Plan) -> AotModel:
    """`m` with NAME_run() made incremental for `plan` (and NAME_run_full() the ordinary path)."""
    name = m.name
    sg0 = m.subgraphs[0]
    offsets = sg0.plan.offsets
    em = _Emitter(m, plan, name, sources=set(m.sources) | {SOURCE})
    m.state.headers.add(HEADER)
    n = len(plan.layers)
    phase = [f"(s % {x.phases}u)" if x.phases > 1 else "0u" for x in plan.layers]
    cache = [f"({name}_inc_c{i} + {phase[i]} * {x.cache_stride}u)" for i, x in enumerate(plan.layers)]
    in_off = m.io_offsets[0][0]

    defs = ["", "/* ---- incremental (sliding-window) inference: see tg_aot_incremental.h ---- */",
            f"static uint64_t {name}_inc_hist[{(plan.input_bytes + 7) // 8}]; /* the previous window */"]
    for i, x in enumerate(plan.layers):
        defs += [(f"static uint64_t {name}_inc_c{i}_storage[{x.phases * x.cache_stride // 8}]; "
                  f"/* op {x.op_index} {x.op}: {x.rows} rows x {x.row_bytes} B, {x.phases} phase(s) */"),
                 f"#define {name}_inc_c{i} ((uint8_t *){name}_inc_c{i}_storage)"]
    defs += ["@INC_BUFFERS@",
             f"static tg_inc_stream {name}_inc;",
             f"static uint32_t {name}_inc_stamp[{n}][{plan.phases}]; /* seq + 1 of the window each cache holds */"]

    # warm step: every layer shifts its cache and computes its dirty rows
    warm: list[str] = [f"static int {name}_inc_warm(uint32_t s) {{"]
    for i, x in enumerate(plan.layers):
        warm.append(f"  if (s < {x.phases}u || {name}_inc_stamp[{i}][{phase[i]}] != s - {x.phases - 1}u) return 0;")
    body: list[str] = []
    for i, x in enumerate(plan.layers):
        src = f"(uint8_t *){name}_inc_hist" if i == 0 else cache[i - 1]
        body.append(f"  {{ /* op {x.op_index} {x.op}: rows {x.clean[0]}..{x.clean[1] - 1} from the window "
                    f"{x.phases} frame(s) back */")
        body.append(f"    uint8_t *c = {cache[i]};")
        body.append(f"    TG_AOT_PROFILE_OP(0, {x.op_index});")
        body.append(f"    tg_inc_shift_up(c, {x.rows}u, {x.row_bytes}u);")
        for r0, r1 in x.dirty_ranges():
            body += ["    " + ln for ln in em.row_slice(x, r0, r1, src, f"c + {r0 * x.row_bytes}")]
        body.append(f"    {name}_inc_stamp[{i}][{phase[i]}] = s + 1u;")
        body.append("  }")
    warm += body + ["  return 1;", "}"]

    # cold step: the ordinary code of the streamed ops, each output copied into its cache
    cold = [f"static void {name}_inc_cold(uint8_t *A, uint32_t s) {{"]
    by_op = {x.op_index: i for i, x in enumerate(plan.layers)}
    for op_index in range(plan.tail_op):
        cold.append("  " + sg0.body[op_index].replace("\n", "\n  "))
        if op_index in by_op:
            i = by_op[op_index]
            x = plan.layers[i]
            cold.append(f"  memcpy({cache[i]}, A + {offsets[x.tensor]}, {x.rows * x.row_bytes}u);")
            cold.append(f"  {name}_inc_stamp[{i}][{phase[i]}] = s + 1u;")
    cold.append("}")

    tail = [f"static void {name}_inc_tail(uint8_t *A) {{", "  (void)A;"]
    tail += ["  " + b for b in sg0.body[plan.tail_op:]]
    tail += ["  TG_AOT_PROFILE_OP(0, -1);", "}"]
    b = plan.boundary
    run = [
        f"  uint8_t *A = (uint8_t *){name}_arena;",
        f"  TG_AOT_PROFILE_OP(0, {plan.layers[0].op_index}); /* finding the shift counts to the first streamed op */",
        (f"  const uint32_t k = tg_inc_advance(&{name}_inc, A + {in_off}, (uint8_t *){name}_inc_hist, "
         f"{plan.input_bytes}u, {plan.frame_bytes}u, {plan.phases}u);"),
        f"  const uint32_t s = {name}_inc.seq;",
        f"  if (k && {name}_inc_warm(s)) {{",
        f"    memcpy(A + {offsets[b.tensor]}, {cache[-1]}, {b.rows * b.row_bytes}u);",
        "  } else {",
        f"    if (!k) memset({name}_inc_stamp, 0, sizeof {name}_inc_stamp);",
        f"    {name}_inc_cold(A, s);",
        "  }",
        f"  {name}_inc_tail(A);",
    ]
    scratch_words = (em.scratch + 7) // 8
    pad_words = (plan.pad_bytes() + 7) // 8 if em.padded else 0
    buffers = ([f"static uint64_t {name}_inc_pad[{pad_words}]; /* padded input rows of the edge rows */"]
               if pad_words else [])
    if scratch_words:
        buffers.append(f"static uint64_t {name}_inc_scratch[{scratch_words}]; /* kernel scratch of the row slices */")
    defs = [d for x in defs for d in (buffers if x == "@INC_BUFFERS@" else [x])]
    reset = [f"  memset(&{name}_inc, 0, sizeof {name}_inc);",
             f"  memset({name}_inc_stamp, 0, sizeof {name}_inc_stamp);",
             f"  {name}_inc_hits = 0;"]
    defs.append(f"static uint32_t {name}_inc_hits; /* warm steps since reset */")
    warm.insert(-2, f"  {name}_inc_hits++;")
    extra = (*defs, "", *cold, "", *warm, "", *tail, "",
             f"uint32_t {name}_incremental_hits(void) {{ return {name}_inc_hits; }}")
    return replace(m, sources=tuple(sorted(em.sources or ())), extra_source=extra, extra_reset=tuple(reset),
                   run_body=tuple(run),
                   persistent_bytes=(m.persistent_bytes + (plan.input_bytes + 7) // 8 * 8 + plan.cache_bytes
                                     + 8 * (pad_words + scratch_words) + 12 + 4 * n * plan.phases),
                   const_bytes=m.state.const_bytes)
