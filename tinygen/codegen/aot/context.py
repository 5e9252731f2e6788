"""What a lowering sees of the model and what it may ask the generator for.

`OpContext` is handed to every registered lowering (see `ops/__init__.py`). Pointers into the arena
are not known while lowering (planning needs every op's scratch size first), so `inp`, `out`,
`tensor` and `scratch` return placeholders that `resolve_placeholders` turns into addresses later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import UnsupportedOpError
from ...model import ModelInfo, OperatorInfo, Quantization, SubgraphInfo, TensorInfo
from ..carray import number_rows
from ..cheader import C_TYPES  # re-exported: the lowerings import it from here
from ..cnames import c_identifier

TG_DTYPES: dict[str, int] = {"float32": 0, "int32": 2, "uint8": 3, "int16": 7, "int8": 9}

_PLACEHOLDER = re.compile(r"@(T|S)(\d+):(\d+)(?::([a-z0-9_]+))?@")


@dataclass
class Variable:
    """A resource variable (VAR_HANDLE shared_name): a persistent buffer outside the arena."""

    key: str
    cname: str
    nbytes: int = 0
    fill: int = 0  # reset value of every byte (TFLM memsets the variable to its zero point)


@dataclass
class StateBuffer:
    """Persistent bytes a stateful kernel keeps between invokes; reset to `init` (zeros if None)."""

    cname: str
    nbytes: int
    init: bytes | None
    on_reset: bool = True  # False: only init() restores it (CALL_ONCE's "has run" flag)
    fill: int = 0  # the byte every element is reset to when `init` is None


@dataclass
class ModelState:
    """Everything lowerings add at model level: const arrays, states, variables, scratch requests."""

    name: str
    consts: dict[str, str] = field(default_factory=dict)          # cname -> C definition
    const_keys: dict[tuple[str, bytes], str] = field(default_factory=dict)
    const_bytes: int = 0
    states: list[StateBuffer] = field(default_factory=list)
    variables: dict[str, Variable] = field(default_factory=dict)  # key -> variable
    resource_of: dict[tuple[int, int], str] = field(default_factory=dict)  # (sg, tensor) -> key
    scratch: dict[tuple[int, int], int] = field(default_factory=dict)  # (sg, op) -> bytes
    headers: set[str] = field(default_factory=set)
    # READ_VARIABLE outputs that are read straight from the variable's storage: (sg, tensor) -> key
    read_alias: dict[tuple[int, int], str] = field(default_factory=dict)
    # variable tensors (is_variable: SVDF/LSTM state) -> their persistent state buffer
    variable_tensors: dict[tuple[int, int], str] = field(default_factory=dict)
    # whole-model decisions a lowering computes once (e.g. which layers get widened weights)
    plans: dict[str, Any] = field(default_factory=dict)
    counter: int = 0

    def unique(self, hint: str) -> str:
        self.counter += 1
        return f"{self.name}_{c_identifier(hint)}_{self.counter}"


class OpContext:
    """One operator being lowered."""

    def __init__(self, model: ModelInfo, subgraph: SubgraphInfo, op: OperatorInfo, state: ModelState):
        self.model = model
        self.subgraph = subgraph
        self.op = op
        self._state = state
        # set by the generator when the op runs as a stage of a row pipeline (rows.py): its lowering must then be
        # a kernel call rows.stage_code knows
        self.row_stage = False

    def plan(self, key: str, compute: Any) -> Any:
        """A whole-model decision, computed once per generation by `compute(ctx)`."""
        if key not in self._state.plans:
            self._state.plans[key] = compute(self)
        return self._state.plans[key]

    def other(self, subgraph: SubgraphInfo, op: OperatorInfo) -> OpContext:
        """A context for another operator of the model (to look at it, not to lower it)."""
        return OpContext(self.model, subgraph, op, self._state)

    # --- the model ---
    @property
    def options(self) -> Any:
        """The op's builtin options object (schema *OptionsT), or None."""
        return self.op.options

    @property
    def name(self) -> str:
        """The C name prefix of the model."""
        return self._state.name

    def input(self, i: int) -> TensorInfo | None:
        """Input tensor i, or None when omitted (-1) or past the end."""
        if i >= len(self.op.inputs) or self.op.inputs[i] < 0:
            return None
        return self.subgraph.tensors[self.op.inputs[i]]

    def arg(self, i: int) -> TensorInfo:
        """Input tensor i, which the op requires (a one-line error if the model omits it)."""
        t = self.input(i)
        if t is None:
            raise self.error(f"input {i} is missing")
        return t

    def quant(self, t: TensorInfo) -> Quantization:
        """A tensor's quantization parameters (a one-line error if it has none)."""
        if t.quantization is None:
            raise self.error(f"tensor '{t.name}' is not quantized")
        return t.quantization

    def output(self, i: int) -> TensorInfo:
        return self.subgraph.tensors[self.op.outputs[i]]

    def array(self, tensor: TensorInfo) -> np.ndarray:
        """A constant tensor's data."""
        if not tensor.is_constant:
            raise self.error(f"tensor '{tensor.name}' must be constant")
        return self.model.tensor_array(tensor)

    def error(self, what: str) -> UnsupportedOpError:
        return UnsupportedOpError(
            f"AOT runtime: {self.op.op} (subgraph {self.subgraph.index}, operator {self.op.index}): {what}",
            hint="TFLite Micro may run it: use `--runtime tflm` with convert, generate, build or verify",
        )

    # --- pointers (placeholders until the memory plan exists) ---
    def tensor(self, tensor: TensorInfo, ctype: str | None = None) -> str:
        """C expression of a typed pointer to a tensor's data (const array for constants)."""
        ctype = ctype or C_TYPES.get(tensor.dtype, "uint8_t")
        if tensor.is_constant:
            return self.const_tensor(tensor, ctype)
        if tensor.is_variable:
            return f"(({ctype} *){self.variable_tensor(tensor)})"
        key = self._state.read_alias.get((self.subgraph.index, tensor.index))
        if key is not None:
            return f"(({ctype} *){self._state.variables[key].cname})"
        return f"@T{self.subgraph.index}:{tensor.index}:{ctype}@"

    def inp(self, i: int, ctype: str | None = None) -> str:
        t = self.input(i)
        if t is None:
            return "NULL"
        return self.tensor(t, ctype)

    def out(self, i: int, ctype: str | None = None) -> str:
        return self.tensor(self.output(i), ctype)

    def scratch(self, nbytes: int) -> str:
        """A `void *` to `nbytes` of arena memory that lives only during this op."""
        key = (self.subgraph.index, self.op.index)
        self._state.scratch[key] = max(self._state.scratch.get(key, 0), int(nbytes))
        return f"@S{key[0]}:{key[1]}@"

    # --- constants ---
    def const_array(self, values: np.ndarray | list[int] | bytes, ctype: str, hint: str = "c") -> str:
        """Name of a `static const` array with these values (identical arrays are shared)."""
        arr = np.frombuffer(values, dtype=np.uint8) if isinstance(values, bytes) else np.asarray(values)
        key = (ctype, arr.tobytes() + str(arr.dtype).encode())
        if key in self._state.const_keys:
            return self._state.const_keys[key]
        cname = self._state.unique(hint)
        flat = arr.reshape(-1)
        if ctype == "float":
            from ..carray import float_literal

            body = "\n".join(
                "    " + ", ".join(float_literal(float(v)) for v in flat[i: i + 8]) + ","
                for i in range(0, len(flat), 8)
            )
        else:
            body = number_rows([_c_int(int(v), ctype) for v in flat], per_line=16)  # type: ignore[misc]
        n = max(1, len(flat))
        self._state.consts[cname] = (
            f"static const {ctype} {cname}[{n}] TG_AOT_ALIGN = {{\n{body or '    0,'}\n}};"
        )
        self._state.const_keys[key] = cname
        self._state.const_bytes += len(flat) * np.dtype(_np_type(ctype)).itemsize
        return cname

    def const_tensor(self, tensor: TensorInfo, ctype: str | None = None) -> str:
        ctype = ctype or C_TYPES.get(tensor.dtype, "uint8_t")
        return self.const_array(self.array(tensor), ctype, hint=tensor.name[-24:] or "w")

    def struct(self, ctype: str, fields: dict[str, Any], hint: str = "p") -> str:
        """Name of a `static const ctype` initialised with designated fields (C99)."""
        cname = self._state.unique(hint)
        body = ",\n".join(f"    .{k} = {_c_value(v)}" for k, v in fields.items())
        self._state.consts[cname] = f"static const {ctype} {cname} = {{\n{body}\n}};"
        # flash estimate for a 32-bit target: every scalar or pointer field is 4 bytes (doubles 8)
        self._state.const_bytes += sum(
            4 * len(v) if isinstance(v, (list, tuple)) else 8 if isinstance(v, float) else 4
            for v in fields.values()
        )
        return cname

    def struct_array(self, ctype: str, rows: list[dict[str, Any]], hint: str = "t", row_bytes: int = 0) -> str:
        """Name of a `static const ctype[]` of designated-initialiser rows (deduplicated)."""
        body = ",\n".join("    {" + ", ".join(f".{k} = {_c_value(v)}" for k, v in r.items()) + "}" for r in rows)
        key = (ctype, body.encode())
        if key in self._state.const_keys:
            return self._state.const_keys[key]
        cname = self._state.unique(hint)
        self._state.consts[cname] = f"static const {ctype} {cname}[{max(1, len(rows))}] = {{\n{body}\n}};"
        self._state.const_keys[key] = cname
        self._state.const_bytes += row_bytes * len(rows)
        return cname

    # --- persistent state ---
    def state(self, nbytes: int, init: bytes | None = None, hint: str = "state",
              on_reset: bool = True, fill: int = 0) -> str:
        """Name of a persistent, 8-byte aligned `uint8_t[]` kept between invokes. init() and (when
        `on_reset`) reset() set it to `init`, or every byte to `fill`."""
        cname = self._state.unique(hint)
        if init is not None and len(init) != nbytes:
            raise ValueError("state init must have nbytes bytes")
        self._state.states.append(StateBuffer(cname, int(nbytes), init, on_reset, fill & 0xFF))
        return cname

    def variable_tensor(self, tensor: TensorInfo) -> str:
        """Name of the persistent buffer of a variable tensor (an SVDF or LSTM state), shared by
        every op that uses it. init() and reset() fill it the way TFLM's ResetVariableTensors
        does: an int8 tensor's zero point in every byte, zeros otherwise."""
        key = (self.subgraph.index, tensor.index)
        cname = self._state.variable_tensors.get(key)
        if cname is None:
            q = tensor.quantization
            fill = q.zero_point[0] & 0xFF if tensor.dtype == "int8" and q is not None else 0
            cname = self.state(tensor.nbytes, hint=tensor.name[-24:] or "variable", fill=fill)
            self._state.variable_tensors[key] = cname
        return cname

    def call_subgraph(self, index: int) -> str:
        """C statement running subgraph `index` (its tensors sit after the main subgraph's)."""
        if not 0 < index < len(self.model.subgraphs):
            raise self.error(f"subgraph {index} does not exist")
        return f"{self.name}_subgraph{index}(A);"

    def reads_in_place(self, tensor: TensorInfo) -> bool:
        """True when this READ_VARIABLE output is the variable's own storage (no copy needed)."""
        return (self.subgraph.index, tensor.index) in self._state.read_alias

    def variable(self, resource: TensorInfo) -> Variable:
        """The resource variable a resource tensor refers to (from its VAR_HANDLE)."""
        key = self._state.resource_of.get((self.subgraph.index, resource.index))
        if key is None:
            raise self.error(f"resource tensor '{resource.name}' is not produced by VAR_HANDLE")
        return self._state.variables[key]


def _np_type(ctype: str) -> str:
    return {"float": "float32", "double": "float64"}.get(ctype, ctype.replace("_t", ""))


def _c_int(v: int, ctype: str) -> str:
    if ctype == "int32_t" and v == -(2**31):
        return "(-2147483647 - 1)"
    if ctype == "int64_t":
        return f"INT64_C({v})"
    if ctype == "uint64_t":
        return f"UINT64_C({v})"
    if ctype in ("uint32_t",):
        return f"{v}u"
    return str(v)


def _c_value(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        if v == -(2**31):
            return "(-2147483647 - 1)"
        return str(v) if -(2**31) <= v < 2**31 else f"INT64_C({v})"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(_c_value(x) for x in v) + "}"
    return str(v)


def resolve_placeholders(code: str, offsets: dict[tuple[int, int], int], scratch: dict[tuple[int, int], int],
                         arena: str = "A") -> str:
    """Replace tensor/scratch placeholders with `((T *)(A + offset))`."""

    def sub(m: re.Match[str]) -> str:
        kind, a, b, ctype = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        if kind == "T":
            return f"(({ctype} *)({arena} + {offsets[(a, b)]}))"
        return f"((void *)({arena} + {scratch[(a, b)]}))"

    return _PLACEHOLDER.sub(sub, code)
