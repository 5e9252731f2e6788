"""Mutations of a .tflite model, as bytes and as flatbuffer structures.

Both take the model's bytes and a `random.Random` and return new bytes, so one seed reproduces one
case. Structural mutations unpack the model with the schema's object API (`ModelT`), change one to
three fields that intake must check (tensor indices, shapes, types, buffers, quantization, builtin
and custom options, operator codes, subgraph lists) and pack it again as a valid flatbuffer;
byte mutations damage the file itself (bit flips, interesting 32-bit values at aligned offsets,
truncation, insertion).
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Callable
from typing import Any

import flatbuffers
import numpy as np

from tinygen.model.schema import fb

INTERESTING_INTS = (0, 1, 2, 3, 7, 8, 16, 255, 256, 1024, 65535, 65536, 2**31 - 1, -1, -2, -(2**31),
                    2**30, 2**16 + 1)
INTERESTING_DIMS = (0, 1, 2, 3, 48, 1000, 65536, 2**20, 2**31 - 1, -1, -5)
INTERESTING_FLOATS = (0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e-45, 1e38, 3.4e38, 1.0, 0.5)


def data_ranges(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of every buffer's data bytes in the file: weights, where damage is just other weights."""
    model = fb.Model.GetRootAs(data, 0)
    ranges = []
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        o = buf._tab.Offset(4)  # Buffer.data
        if o:
            start = buf._tab.Vector(o)
            ranges.append((start, start + buf._tab.VectorLen(o)))
    return sorted(ranges)


def _offset(buf: bytearray, rnd: random.Random, skip: list[tuple[int, int]]) -> int:
    """A random offset, outside the weight bytes `skip` 9 times in 10 (they are most of a model)."""
    for _ in range(20):
        i = rnd.randrange(len(buf))
        if rnd.random() < 0.1 or not any(a <= i < b for a, b in skip):
            return i
    return rnd.randrange(len(buf))


def byte_mutation(data: bytes, rnd: random.Random, skip: list[tuple[int, int]] | None = None) -> bytes:
    """Damage the file: `skip` (data_ranges(data)) steers most changes into the flatbuffer's structure."""
    buf = bytearray(data)
    skip = skip or []
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.randrange(6)
        if not buf:
            break
        if kind == 0:  # bit flip
            i = _offset(buf, rnd, skip)
            buf[i] ^= 1 << rnd.randrange(8)
        elif kind == 1:  # random byte
            buf[_offset(buf, rnd, skip)] = rnd.randrange(256)
        elif kind in (2, 3):  # interesting 32-bit value at an aligned offset (flatbuffer fields are)
            if len(buf) >= 8:
                i = min(_offset(buf, rnd, skip), len(buf) - 4) & ~3
                value = rnd.choice(INTERESTING_INTS + (len(buf), len(buf) - i, rnd.randrange(2**32)))
                buf[i:i + 4] = struct.pack("<I", value & 0xFFFFFFFF)
        elif kind == 4:  # truncate
            del buf[rnd.randrange(len(buf)):]
        else:  # insert or delete a chunk
            i = rnd.randrange(len(buf))
            if rnd.random() < 0.5:
                buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
            else:
                del buf[i:i + rnd.randint(1, 16)]
    if len(data) >= 8 and len(buf) >= 8 and rnd.random() < 0.9:
        buf[4:8] = data[4:8]  # mostly keep the identifier, so the damage reaches the parser
    return bytes(buf)


def _pick(rnd: random.Random, items: list[Any] | None) -> Any:
    return rnd.choice(items) if items else None


def _index(rnd: random.Random, n: int) -> int:
    return rnd.choice((-1, -2, n, n + 1, n + 100, 2**31 - 1, rnd.randrange(max(n, 1))))


def _tensors(m: Any) -> list[Any]:
    return [t for sg in (m.subgraphs or []) for t in (sg.tensors or [])]


def _ops(m: Any) -> list[tuple[Any, Any]]:
    return [(sg, op) for sg in (m.subgraphs or []) for op in (sg.operators or [])]


def _m_op_index(m: Any, rnd: random.Random) -> None:
    sg, op = _pick(rnd, _ops(m)) or (None, None)
    if op is None:
        return
    field = rnd.choice(["inputs", "outputs", "intermediates"])
    values = list(getattr(op, field) if getattr(op, field) is not None else [])
    n = len(sg.tensors or [])
    if values and rnd.random() < 0.7:
        values[rnd.randrange(len(values))] = _index(rnd, n)
    elif values and rnd.random() < 0.5:
        values.pop(rnd.randrange(len(values)))
    else:
        values.append(_index(rnd, n))
    setattr(op, field, values)


def _m_subgraph_io(m: Any, rnd: random.Random) -> None:
    sg = _pick(rnd, m.subgraphs)
    if sg is None:
        return
    field = rnd.choice(["inputs", "outputs"])
    values = list(getattr(sg, field) if getattr(sg, field) is not None else [])
    if values and rnd.random() < 0.6:
        values[rnd.randrange(len(values))] = _index(rnd, len(sg.tensors or []))
    elif values and rnd.random() < 0.5:
        values = []
    else:
        values.append(rnd.randrange(max(len(sg.tensors or []), 1)))
    setattr(sg, field, values)


def _m_opcode(m: Any, rnd: random.Random) -> None:
    sg, op = _pick(rnd, _ops(m)) or (None, None)
    if op is not None and rnd.random() < 0.5:
        op.opcodeIndex = rnd.choice((len(m.operatorCodes or []), 2**31 - 1, rnd.randrange(len(m.operatorCodes or [1]))))
        return
    code = _pick(rnd, m.operatorCodes)
    if code is None:
        return
    choice = rnd.randrange(4)
    if choice == 0:
        code.builtinCode = rnd.choice((rnd.randrange(210), 2**31 - 1, -1, fb.BuiltinOperator.CUSTOM))
        code.deprecatedBuiltinCode = min(code.builtinCode, 127) if 0 <= code.builtinCode else 0
    elif choice == 1:
        code.customCode = rnd.choice((b"\xff\xfe\x80", b"", b"SignalWindow", b"SignalRfft", b"x" * 300,
                                      "Signal\u00e9".encode()))
        code.builtinCode = fb.BuiltinOperator.CUSTOM
        code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    elif choice == 2:
        code.version = rnd.choice((0, -1, 99, 2**31 - 1))
    else:
        code.deprecatedBuiltinCode = rnd.randrange(128)


def _m_shape(m: Any, rnd: random.Random) -> None:
    t = _pick(rnd, _tensors(m))
    if t is None:
        return
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    choice = rnd.randrange(4)
    if shape and choice < 2:
        shape[rnd.randrange(len(shape))] = rnd.choice(INTERESTING_DIMS)
    elif choice == 2 and shape:
        shape.pop(rnd.randrange(len(shape)))
    else:
        shape.insert(rnd.randrange(len(shape) + 1), rnd.choice((1, 2, 3, 2**31 - 1)))
    t.shape = shape


def _m_type(m: Any, rnd: random.Random) -> None:
    t = _pick(rnd, _tensors(m))
    if t is not None:
        t.type = rnd.choice((rnd.randrange(20), 127, 9, 7, 3, 0, 17))


def _m_buffer(m: Any, rnd: random.Random) -> None:
    choice = rnd.randrange(3)
    if choice == 0:
        t = _pick(rnd, _tensors(m))
        if t is not None:
            t.buffer = rnd.choice((len(m.buffers or []), len(m.buffers or []) + 7, 2**32 - 1, 0,
                                   rnd.randrange(max(len(m.buffers or []), 1))))
        return
    b = _pick(rnd, [b for b in (m.buffers or []) if b.data is not None and len(b.data)])
    if b is None:
        return
    data = np.asarray(b.data, dtype=np.uint8)
    if choice == 1:
        b.data = data[: rnd.randrange(len(data))]
    else:
        b.data = np.concatenate([data, np.zeros(rnd.choice((1, 3, 4, 1000)), dtype=np.uint8)])


def _m_quantization(m: Any, rnd: random.Random) -> None:
    t = _pick(rnd, [t for t in _tensors(m) if t.quantization is not None] or _tensors(m))
    if t is None:
        return
    q = t.quantization or fb.QuantizationParametersT()
    t.quantization = q
    choice = rnd.randrange(6)
    n = len(q.scale) if q.scale is not None else 0
    if choice == 0:
        q.scale = [rnd.choice(INTERESTING_FLOATS) for _ in range(max(n, 1))]
    elif choice == 1 and n:
        scale = list(q.scale)
        scale[rnd.randrange(n)] = rnd.choice(INTERESTING_FLOATS)
        q.scale = scale
    elif choice == 2:
        q.zeroPoint = [rnd.choice((-129, 128, 255, 2**31 - 1, -(2**31), 0)) for _ in range(max(n, 1))]
    elif choice == 3:  # lengths that disagree
        q.scale = list(q.scale if q.scale is not None else [0.1]) + [0.5] * rnd.randint(1, 5)
    elif choice == 4:
        q.quantizedDimension = rnd.choice((-1, 1, 3, 4, 7, 2**31 - 1))
    else:
        q.scale, q.zeroPoint = ([], []) if rnd.random() < 0.5 else (None, [1, 2])


def _options_fields(opts: Any) -> list[str]:
    return [k for k, v in vars(opts).items() if isinstance(v, (int, float, bool))]


def _m_options(m: Any, rnd: random.Random) -> None:
    ops = _ops(m)
    if not ops:
        return
    _, op = rnd.choice(ops)
    choice = rnd.randrange(4)
    if choice == 0:  # another op's options (type and table)
        _, other = rnd.choice(ops)
        op.builtinOptionsType, op.builtinOptions = other.builtinOptionsType, other.builtinOptions
    elif choice == 1:
        op.builtinOptionsType, op.builtinOptions = 0, None
    elif op.builtinOptions is not None and _options_fields(op.builtinOptions):
        name = rnd.choice(_options_fields(op.builtinOptions))
        current = getattr(op.builtinOptions, name)
        if isinstance(current, float):
            setattr(op.builtinOptions, name, rnd.choice(INTERESTING_FLOATS))
        else:
            setattr(op.builtinOptions, name, rnd.choice((0, -1, 2, 5, 100, 127, -128)))
    else:  # custom options
        raw = bytes(np.asarray(op.customOptions, dtype=np.uint8)) if op.customOptions is not None else b""
        if raw and rnd.random() < 0.6:
            data = bytearray(raw)
            for _ in range(rnd.randint(1, 3)):
                data[rnd.randrange(len(data))] = rnd.choice((0xFF, 0x80, 0xC3, 0, rnd.randrange(256)))
            op.customOptions = list(data)
        else:
            op.customOptions = list(rnd.choice((b"\xff\xfe", b"", bytes(rnd.randrange(256) for _ in range(24)))))


def _m_lists(m: Any, rnd: random.Random) -> None:
    choice = rnd.randrange(5)
    if choice == 0 and m.subgraphs:
        m.subgraphs = m.subgraphs[: rnd.randrange(len(m.subgraphs))] or (m.subgraphs[1:] or [])
    elif choice == 1:
        sg = _pick(rnd, m.subgraphs)
        if sg is not None and sg.tensors:
            sg.tensors = sg.tensors[: rnd.randrange(len(sg.tensors))]
    elif choice == 2:
        sg = _pick(rnd, m.subgraphs)
        if sg is not None and sg.operators:
            sg.operators = sg.operators[: rnd.randrange(len(sg.operators))]
    elif choice == 3 and m.buffers:
        m.buffers = m.buffers[: rnd.randrange(len(m.buffers))]
    elif m.operatorCodes:
        m.operatorCodes = m.operatorCodes[: rnd.randrange(len(m.operatorCodes))]


def _m_variable(m: Any, rnd: random.Random) -> None:
    t = _pick(rnd, _tensors(m))
    if t is not None:
        t.isVariable = not t.isVariable


STRUCTURAL: tuple[Callable[[Any, random.Random], None], ...] = (
    _m_op_index, _m_op_index, _m_subgraph_io, _m_opcode, _m_shape, _m_shape, _m_type, _m_buffer,
    _m_quantization, _m_quantization, _m_options, _m_options, _m_lists, _m_variable,
)


def structural_mutation(data: bytes, rnd: random.Random) -> bytes:
    """One to three field changes, packed back into a well-formed flatbuffer."""
    for _ in range(10):  # a mutation Pack() cannot encode (a value out of its field's range): retry
        m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
        for _ in range(rnd.randint(1, 3)):
            rnd.choice(STRUCTURAL)(m, rnd)
        builder = flatbuffers.Builder(len(data) + 4096)
        try:
            builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
        except (struct.error, OverflowError, TypeError, ValueError, AttributeError):
            continue
        return bytes(builder.Output())
    return data
