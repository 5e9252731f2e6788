"""A replay of TFLM's arena use: MicroAllocator + MicroInterpreter::AllocateTensors at 90b983c.

`simulate(model, arena_size, ...)` walks the same allocation sequence the C++ does, on an arena
of exactly `arena_size` bytes starting 16-byte aligned, with the same pointer arithmetic
(SingleArenaBufferAllocator: persistent data grows down from the end, aligned *down*; the head and
temporaries grow up, aligned *up*). It fails where TFLM would fail. Struct sizes come from
`abi.py` for the chosen ABI, kernel requests from `kernels.py`/`signal_kernels.py`.

Sequence (micro_allocator.cc, micro_interpreter.cc, micro_interpreter_graph.cc):
 1. MicroAllocator::Create: the SingleArenaBufferAllocator, the GreedyMemoryPlanner and the
    MicroAllocator objects themselves live in the tail.
 2. MicroResourceVariables::Create (models with VAR_HANDLE): the object and N slots.
 3. StartModelAllocation: builtin-data allocator, a resizable head buffer for 12 scratch-buffer
    requests, SubgraphAllocations, TfLiteEvalTensor[] and NodeAndRegistration[] per subgraph.
 4. Parsing: one builtin-options struct per operator.
 5. Init (all subgraphs), then Prepare, node by node: kernels allocate OpData, temporary
    TfLiteTensors (head, reset after each node) and request scratch buffers (the request list
    is resized to count+12 after each node).
 6. FinishModelAllocation: scratch-buffer handles (tail); AllocationInfo[] for every tensor and
    scratch buffer (head, temporary); variable tensors (tail); then *all* remaining memory is
    lent to the planner, which needs 40 bytes per planned buffer: this is the step that makes
    the smallest arena larger than arena_used_bytes() on models with many small tensors.
 7. The head is reserved for the plan; input/output TfLiteTensors (+quantization) go to the tail.
Invoke allocates nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import ModelInfo, OperatorInfo, TensorInfo
from . import abi as A
from .abi import Abi, layout, sizeof
from .kernels import BUILTIN_PARAMS, CMSIS_NN, REFERENCE, Kernel
from .planner import PLANNER_BYTES_PER_BUFFER, Buffer, plan
from .signal_kernels import SIGNAL

ARENA_ALIGNMENT = 16  # MicroArenaBufferAlignment()
MAX_SCRATCH_BUFFERS_PER_OP = 12  # kMaxScratchBuffersPerOp

# TfLiteTypeSizeOf (memory_helpers.cc)
TYPE_SIZES: dict[str, int] = {
    "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int16": 2, "int32": 4, "uint32": 4,
    "uint8": 1, "uint16": 2, "int8": 1, "int64": 8, "uint64": 8, "bool": 1, "resource": 4,
    "complex64": 8, "complex128": 16, "int4": 1,
}


# The largest arena the search tries (1 GiB): far beyond any microcontroller; a model that needs
# more is refused (UnsupportedByModel), never searched forever.
MAX_ARENA_BYTES = 1 << 30


class ArenaTooSmall(Exception):
    """TFLM would fail (or corrupt live data) at this arena size. Carries where."""

    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase


class UnsupportedByModel(Exception):
    """The model uses something the arena model does not know (an op, a type, offline plans)."""


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _align_down(n: int, a: int) -> int:
    return n // a * a


class Arena:
    """SingleArenaBufferAllocator with offsets from the (16-aligned) arena start."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.head = 0
        self.temp = 0
        self.tail = size
        self.phase = "start"
        self.tail_by_category: dict[str, int] = {}
        self.peak_temp = 0  # highest temp_ seen, with the tail at that moment
        self.peak_phase = ""

    def persistent(self, nbytes: int, align: int, category: str) -> None:
        new_tail = _align_down(self.tail - nbytes, align)
        # TFLM only checks against head_; landing on live temporaries corrupts them (a hang or
        # fault on the device), so that counts as a failure too.
        if new_tail < max(self.head, self.temp):
            raise ArenaTooSmall(self.phase)
        self.tail_by_category[category] = self.tail_by_category.get(category, 0) + self.tail - new_tail
        self.tail = new_tail

    def temp_alloc(self, nbytes: int, align: int) -> None:
        start = _align_up(self.temp, align)
        if self.tail - start < nbytes:
            raise ArenaTooSmall(self.phase)
        self.temp = start + nbytes
        self._note_peak()

    def reset_temp(self) -> None:
        self.temp = self.head

    def resize_head(self, nbytes: int) -> None:
        # ResizeBuffer on the buffer at the arena start (requires no live temporaries)
        if self.tail < nbytes:
            raise ArenaTooSmall(self.phase)
        self.head = self.temp = nbytes
        self._note_peak()

    def available(self) -> int:
        return _align_down(self.tail, ARENA_ALIGNMENT) - _align_up(self.temp, ARENA_ALIGNMENT)

    def _note_peak(self) -> None:
        if self.temp + (self.size - self.tail) > self.peak_temp:
            self.peak_temp = self.temp + (self.size - self.tail)
            self.peak_phase = self.phase


@dataclass(frozen=True)
class PlannedBuffer:
    buffer: Buffer
    scratch: bool  # a kernel scratch buffer (else a tensor)


@dataclass
class Result:
    """What one simulated AllocateTensors at a given arena size produced."""

    arena_size: int
    head: int  # planned non-persistent bytes (activations + scratch buffers)
    tail: int
    tail_by_category: dict[str, int]
    scratch_bytes: int  # sum of the scratch-buffer requests, 16-aligned, before overlap
    planned_buffers: int
    peak_phase: str
    resource_variables: int
    planner_offsets: list[int] = field(default_factory=list)
    buffers: list[PlannedBuffer] = field(default_factory=list)
    fails_below_at: str = ""  # where AllocateTensors fails with one byte less (smallest_arena)

    @property
    def used(self) -> int:
        """MicroInterpreter::arena_used_bytes() after AllocateTensors."""
        return self.head + self.tail


class _Run:
    """One AllocateTensors replay; implements kernels.KernelContext."""

    def __init__(self, model: ModelInfo, size: int, kernels: str, abi: Abi, resource_variables: int | None,
                 dsp: bool = True) -> None:
        self.model = model
        self.dsp = dsp  # CMSIS-NN buffer sizes depend on the Armv7E-M DSP extension
        self.arena = Arena(size)
        self.kernels = kernels
        self.abi = abi
        self.table: dict[str, Kernel] = {**(CMSIS_NN if kernels == "cmsis-nn" else REFERENCE), **SIGNAL}
        n_handles = sum(1 for sg in model.subgraphs for op in sg.operators if op.op == "VAR_HANDLE")
        self.max_vars = n_handles if resource_variables is None else resource_variables
        self.subgraph = 0
        self.scratch_requests: list[tuple[int, int, int]] = []  # (bytes, subgraph, node)
        self.pending_scratch: list[int] = []
        self.resource_ids: dict[tuple[str, str], int] = {}
        self.resource_allocated: set[int] = set()
        self.data_set: dict[tuple[int, int], int] = {}  # (subgraph, tensor) -> resource id
        self.resolved: dict[tuple[int, int], tuple[int, ...]] = {}  # shapes fixed in Prepare

    # ---- KernelContext -------------------------------------------------------------------
    def tensor(self, index: int) -> TensorInfo:
        return self.model.subgraphs[self.subgraph].tensors[index]

    def input(self, op: OperatorInfo, i: int) -> TensorInfo | None:
        return self.tensor(op.inputs[i]) if i < len(op.inputs) and op.inputs[i] >= 0 else None

    def output(self, op: OperatorInfo, i: int) -> TensorInfo | None:
        return self.tensor(op.outputs[i]) if i < len(op.outputs) and op.outputs[i] >= 0 else None

    def temp_input(self, op: OperatorInfo, i: int) -> TensorInfo | None:
        t = self.input(op, i)
        if t is not None:
            self._temp_tensor(t)
        return t

    def temp_output(self, op: OperatorInfo, i: int) -> TensorInfo | None:
        t = self.output(op, i)
        if t is not None:
            self._temp_tensor(t)
        return t

    def persistent(self, nbytes: int, category: str = "op_data") -> None:
        self.arena.persistent(nbytes, ARENA_ALIGNMENT, category)

    def scratch(self, nbytes: int) -> None:
        if len(self.pending_scratch) >= MAX_SCRATCH_BUFFERS_PER_OP:
            raise UnsupportedByModel("more than 12 scratch buffers for one operator")
        self.pending_scratch.append(nbytes)

    def var_handle(self, op: OperatorInfo) -> None:
        o = op.options
        key = (_text(getattr(o, "container", None)), _text(getattr(o, "sharedName", None)))
        if key not in self.resource_ids:
            if len(self.resource_ids) >= self.max_vars:
                raise UnsupportedByModel(f"more VAR_HANDLE resources than the {self.max_vars} slots")
            self.resource_ids[key] = len(self.resource_ids)
        # VarHandlePrepare points the output eval tensor at its resource id: never planned.
        self.data_set[(self.subgraph, op.outputs[0])] = self.resource_ids[key]

    def resolve_shape(self, tensor: int, shape: tuple[int, ...]) -> None:
        self.resolved[(self.subgraph, tensor)] = shape

    def assign_variable(self, op: OperatorInfo) -> None:
        value = self.temp_input(op, 1)
        rid = self.data_set.get((self.subgraph, op.inputs[0]))
        if rid is not None and rid not in self.resource_allocated and value is not None:
            self.resource_allocated.add(rid)
            self.persistent(_tensor_bytes(value), "resource_variables")

    # ---- helpers ----------------------------------------------------------------------------
    def _quantized(self, t: TensorInfo) -> int:
        """Channels of TFLM's TfLiteAffineQuantization for this tensor, 0 if none is made."""
        q = self.model.raw.subgraphs[self.subgraph].tensors[t.index].quantization
        if q is None or q.scale is None or len(q.scale) == 0 or q.zeroPoint is None or len(q.zeroPoint) == 0:
            return 0
        return len(q.scale)

    def _temp_tensor(self, t: TensorInfo) -> None:
        a = self.arena
        a.temp_alloc(*layout(A.TENSOR, self.abi))
        channels = self._quantized(t)
        if channels:
            a.temp_alloc(*layout(A.AFFINE_QUANT, self.abi))
            a.temp_alloc(4 + 4 * channels, 4)

    def _persistent_struct(self, fields: A.Field, category: str, count: int = 1) -> None:
        size, align = layout(fields, self.abi)
        self.arena.persistent(size * count, align, category)

    def _persistent_tensor(self, t: TensorInfo) -> None:
        self._persistent_struct(A.TENSOR, "persistent_tensors")
        channels = self._quantized(t)
        if channels:
            self._persistent_struct(A.AFFINE_QUANT, "quantization_data")
            self.arena.persistent(4 + 4 * channels, 4, "quantization_data")

    def kernel(self, op: OperatorInfo) -> Kernel:
        k = self.table.get(op.op)
        if k is None:
            raise UnsupportedByModel(f"no arena model for op {op.op}")
        return k

    # ---- the sequence -------------------------------------------------------------------------
    def run(self) -> Result:
        a, model, abi = self.arena, self.model, self.abi
        a.phase = "MicroAllocator::Create"
        self._persistent_struct(A.SINGLE_ARENA_ALLOCATOR, "runtime_objects")
        self._persistent_struct(A.GREEDY_PLANNER, "runtime_objects")
        self._persistent_struct(A.MICRO_ALLOCATOR, "runtime_objects")
        if self.max_vars > 0:
            a.phase = "MicroResourceVariables::Create"
            self.persistent(sizeof(A.RESOURCE_VARIABLES, abi), "resource_variables")
            self.persistent(sizeof(A.RESOURCE_VARIABLE, abi) * self.max_vars, "resource_variables")

        a.phase = "StartModelAllocation"
        self._persistent_struct(A.BUILTIN_DATA_ALLOCATOR, "runtime_objects")
        req_size = sizeof(A.SCRATCH_BUFFER_REQUEST, abi)
        a.resize_head(req_size * MAX_SCRATCH_BUFFERS_PER_OP)
        self._persistent_struct(A.SUBGRAPH_ALLOCATIONS, "runtime_objects", len(model.subgraphs))
        for sg in model.subgraphs:
            self._persistent_struct(A.EVAL_TENSOR, "eval_tensors", len(sg.tensors))
        for sg in model.subgraphs:
            self._persistent_struct(A.NODE_AND_REGISTRATION, "node_and_registration", len(sg.operators))

        a.phase = "parsing builtin options"
        for sg in model.subgraphs:
            for op in sg.operators:
                self.kernel(op)  # unknown ops fail here, like GetRegistrationFromOpCode
                if op.is_custom:
                    continue
                if op.op not in BUILTIN_PARAMS:
                    raise UnsupportedByModel(f"no builtin-options model for op {op.op}")
                params = BUILTIN_PARAMS[op.op]
                if params is not None:
                    self._persistent_struct(params, "builtin_data")

        for sg in model.subgraphs:
            self.subgraph = sg.index
            for op in sg.operators:
                a.phase = f"Init {op.op} (subgraph {sg.index}, node {op.index})"
                k = self.kernel(op)
                if k.init is not None:
                    k.init(self, op)

        for sg in model.subgraphs:
            self.subgraph = sg.index
            for op in sg.operators:
                a.phase = f"Prepare {op.op} (subgraph {sg.index}, node {op.index})"
                k = self.kernel(op)
                if k.prepare is not None:
                    k.prepare(self, op)
                self.scratch_requests += [(n, sg.index, op.index) for n in self.pending_scratch]
                self.pending_scratch = []
                # FinishPrepareNodeAllocations
                a.reset_temp()
                a.resize_head(req_size * (len(self.scratch_requests) + MAX_SCRATCH_BUFFERS_PER_OP))
        self.subgraph = 0

        a.phase = "FinishModelAllocation"
        if self.scratch_requests:
            self._persistent_struct(A.SCRATCH_BUFFER_HANDLE, "scratch_buffer_handles", len(self.scratch_requests))
        n_tensors = sum(len(sg.tensors) for sg in model.subgraphs)
        a.temp_alloc(abi.pointer * len(model.subgraphs), abi.pointer)  # subgraph_offsets
        info_size, info_align = layout(A.ALLOCATION_INFO, abi)
        a.temp_alloc(info_size * (n_tensors + len(self.scratch_requests)), info_align)
        if _has_offline_plan(model):
            raise UnsupportedByModel("offline-planned models (OfflineMemoryAllocation metadata)")
        for sg in model.subgraphs:
            for t in sg.tensors:
                if t.is_variable:
                    self.persistent(_tensor_bytes(t), "variable_tensors")
        buffers = self._plan_buffers()
        a.phase = "memory planning"
        remaining = a.available()
        if remaining < 0:
            raise ArenaTooSmall(a.phase)
        a.temp_alloc(remaining, ARENA_ALIGNMENT)
        if remaining // PLANNER_BYTES_PER_BUFFER < len(buffers):
            raise ArenaTooSmall(a.phase)
        offsets, head = plan([b.buffer for b in buffers])
        a.reset_temp()
        a.resize_head(0)  # DeallocateResizableBuffer(scratch requests)
        a.phase = "reserving the planned head"
        a.resize_head(head)

        a.phase = "input/output tensors"
        main = model.subgraphs[0]
        for group in (main.inputs, main.outputs):
            self.persistent(abi.pointer * len(group), "persistent_tensors")
            for ti in group:
                self._persistent_tensor(main.tensors[ti])
        return Result(
            arena_size=a.size, head=head, tail=a.size - a.tail, tail_by_category=dict(a.tail_by_category),
            scratch_bytes=sum(_align_up(n, ARENA_ALIGNMENT) for n, _, _ in self.scratch_requests),
            planned_buffers=len(buffers), peak_phase=a.peak_phase, resource_variables=self.max_vars,
            planner_offsets=offsets, buffers=buffers,
        )

    def _plan_buffers(self) -> list[PlannedBuffer]:
        """AllocationInfoBuilder: lifetimes of every tensor and scratch buffer, in TFLM's order."""
        model = self.model
        first: dict[tuple[int, int], int] = {}
        last: dict[tuple[int, int], int] = {}
        scratch_life: dict[int, tuple[int, int]] = {}
        scope = 0

        def created(key: tuple[int, int], t: int) -> None:
            first.setdefault(key, t)

        def used(key: tuple[int, int], t: int) -> None:
            last[key] = t

        def mark(sg_index: int) -> None:
            nonlocal scope
            sg = model.subgraphs[sg_index]
            for ti in sg.inputs:
                created((sg_index, ti), scope)
                used((sg_index, ti), scope)
            for op in sg.operators:
                scope += 1
                for ti in op.outputs:
                    created((sg_index, ti), scope)
                start = scope
                for sub in _called_subgraphs(op):
                    scope += 1
                    mark(sub)
                for ti in op.inputs:
                    if ti >= 0:
                        used((sg_index, ti), scope)
                for ti in op.outputs:
                    used((sg_index, ti), scope)
                for k, (_, s, node) in enumerate(self.scratch_requests):
                    if s == sg_index and node == op.index:
                        scratch_life[k] = (start, scope)
            for ti in sg.outputs:
                created((sg_index, ti), scope)
                used((sg_index, ti), scope)

        mark(0)
        buffers = []
        for sg in model.subgraphs:
            for t in sg.tensors:
                nbytes = _tensor_bytes(t, self.resolved.get((sg.index, t.index)))
                if t.is_constant or t.is_variable or nbytes == 0 or (sg.index, t.index) in self.data_set:
                    continue
                key = (sg.index, t.index)
                buffers.append(PlannedBuffer(
                    Buffer(_align_up(nbytes, ARENA_ALIGNMENT), first.get(key, -1), last.get(key, -1)), False))
        for k, (nbytes, _, _) in enumerate(self.scratch_requests):
            f, l = scratch_life.get(k, (-1, -1))
            buffers.append(PlannedBuffer(Buffer(_align_up(nbytes, ARENA_ALIGNMENT), f, l), True))
        return buffers


def _called_subgraphs(op: OperatorInfo) -> list[int]:
    o = op.options
    if op.op == "CALL_ONCE":
        return [o.initSubgraphIndex]
    if op.op == "IF":
        return [o.thenSubgraphIndex, o.elseSubgraphIndex]
    if op.op == "WHILE":
        return [o.condSubgraphIndex, o.bodySubgraphIndex]
    return []


def _tensor_bytes(t: TensorInfo, shape: tuple[int, ...] | None = None) -> int:
    if t.dtype not in TYPE_SIZES:
        raise UnsupportedByModel(f"tensor {t.name!r} has type {t.dtype}, which TFLM cannot size")
    n = 1
    for d in (t.shape if shape is None else shape):
        n *= d
    if n < 0:
        raise UnsupportedByModel(f"tensor {t.name!r} has a dynamic shape {t.shape}")
    return n * TYPE_SIZES[t.dtype]


def _text(v: object) -> str:
    if v is None:
        return ""
    return v.decode() if isinstance(v, bytes) else str(v)


def _has_offline_plan(model: ModelInfo) -> bool:
    for m in model.raw.metadata or []:
        if _text(m.name) == "OfflineMemoryAllocation":
            return True
    return False


def simulate(model: ModelInfo, arena_size: int, kernels: str = "reference", abi: Abi = A.CORTEX_M,
             resource_variables: int | None = None, dsp: bool = True) -> Result:
    """AllocateTensors on an arena of `arena_size` bytes. Raises ArenaTooSmall if it would fail."""
    return _Run(model, arena_size, kernels, abi, resource_variables, dsp).run()


def smallest_arena(model: ModelInfo, kernels: str = "reference", abi: Abi = A.CORTEX_M,
                   resource_variables: int | None = None, dsp: bool = True) -> Result:
    """The smallest arena size with which AllocateTensors succeeds, and what it looks like."""
    def ok(n: int) -> Result | None:
        try:
            return simulate(model, n, kernels, abi, resource_variables, dsp)
        except ArenaTooSmall:
            return None

    # Upper bound: everything the replay allocates at a huge size, plus the planner's needs.
    try:
        big = simulate(model, MAX_ARENA_BYTES, kernels, abi, resource_variables, dsp)
    except ArenaTooSmall as exc:
        raise UnsupportedByModel(f"the model needs an arena of more than {MAX_ARENA_BYTES >> 20} MiB "
                                 f"(fails in {exc.phase})") from exc
    hi = big.used + PLANNER_BYTES_PER_BUFFER * big.planned_buffers + 64 * 1024
    found = ok(hi)
    while found is None:
        if hi >= MAX_ARENA_BYTES:
            raise UnsupportedByModel(f"the model needs an arena of more than {MAX_ARENA_BYTES >> 20} MiB")
        hi = min(hi * 2, MAX_ARENA_BYTES)
        found = ok(hi)
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        at_mid = ok(mid)
        if at_mid is None:
            lo = mid
        else:
            hi, found = mid, at_mid
    # Alignment makes success not quite monotonic byte by byte: look a little lower too.
    best, result = hi, found
    for n in range(hi - 1, max(hi - 48, 0), -1):
        lower = ok(n)
        if lower is not None:
            best, result = n, lower
    try:
        simulate(model, best - 1, kernels, abi, resource_variables, dsp)
    except ArenaTooSmall as exc:
        result.fails_below_at = exc.phase
    return result
