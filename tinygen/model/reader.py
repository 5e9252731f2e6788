"""Read a .tflite file into a `ModelInfo`, refusing anything that is not a valid TFLite flatbuffer.

Only regular files of at most MAX_MODEL_BYTES are read. The whole flatbuffer is validated
(model/validate.py) before a `ModelInfo` is built, so every later stage may rely on it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .info import ModelInfo, OperatorInfo, Quantization, SubgraphInfo, TensorInfo
from .schema import builtin_name, fb, type_name
from .validate import validate

_FILE_IDENTIFIER = b"TFL3"
MAX_MODEL_BYTES = 128 << 20  # 128 MiB; microcontroller models are kilobytes to a few megabytes
# What the schema's generated reader raises on damaged bytes (offsets past the end, bad lengths, ...).
_READER_ERRORS = (struct.error, IndexError, ValueError, TypeError, OverflowError, AttributeError,
                  UnicodeDecodeError, MemoryError, RecursionError)


def load_model(path: str | Path) -> ModelInfo:
    """Parse `path`. Raises `ModelError` with a one-line reason for anything unusable."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ModelError(f"{path}: is a directory, expected a .tflite file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"{path}: not a regular file (a device, pipe or socket), expected a .tflite file")
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: {info.st_size:,} bytes, more than the {MAX_MODEL_BYTES >> 20} MiB tinygen reads",
                         hint="microcontroller models are kilobytes to a few megabytes: is this the right file?")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_MODEL_BYTES + 1)  # a file that grows while read is still bounded
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from exc
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: more than the {MAX_MODEL_BYTES >> 20} MiB tinygen reads")
    return parse_model(data, path)


def parse_model(data: bytes, path: Path = Path("<memory>")) -> ModelInfo:
    """Parse flatbuffer bytes; `path` is only used in messages."""
    if len(data) < 8 or data[4:8] != _FILE_IDENTIFIER:
        raise ModelError(
            f"{path}: not a TensorFlow Lite model (missing the 'TFL3' flatbuffer identifier)",
            hint="convert it with the TFLite converter, or `tinygen quantize`",
        )
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: more than the {MAX_MODEL_BYTES >> 20} MiB tinygen reads")
    try:
        raw = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except _READER_ERRORS as exc:
        raise ModelError(
            f"{path}: corrupt or truncated .tflite file ({type(exc).__name__} while parsing)"
        ) from exc
    try:
        validate(raw, len(data))
    except ModelError as exc:
        raise ModelError(f"{path}: {exc.message}", hint=exc.hint) from exc
    subgraphs = tuple(_subgraph(raw, i, sg) for i, sg in enumerate(raw.subgraphs or []))
    if not subgraphs:
        raise ModelError(f"{path}: model has no subgraphs")
    desc = raw.description.decode(errors="replace") if isinstance(raw.description, bytes) else str(raw.description or "")
    return ModelInfo(
        path=path,
        data=bytes(data),
        sha256=hashlib.sha256(data).hexdigest(),
        description=desc,
        subgraphs=subgraphs,
        raw=raw,
    )


def _op_name(raw: object, opcode_index: int) -> tuple[str, bool, int]:
    code = raw.operatorCodes[opcode_index]  # type: ignore[attr-defined]
    # Builtins past 127 live in builtinCode; old files only fill deprecatedBuiltinCode.
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == fb.BuiltinOperator.CUSTOM:
        name = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
        return name, True, code.version
    return builtin_name(builtin), False, code.version


def _quantization(q: object | None) -> Quantization | None:
    if q is None or q.scale is None or len(q.scale) == 0:  # type: ignore[attr-defined]
        return None
    zp = q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale)  # type: ignore[attr-defined]
    return Quantization(
        scale=tuple(float(s) for s in np.asarray(q.scale, dtype=np.float32)),  # type: ignore[attr-defined]
        zero_point=tuple(int(z) for z in zp),
        axis=int(q.quantizedDimension),  # type: ignore[attr-defined]
    )


def _subgraph(raw: object, index: int, sg: object) -> SubgraphInfo:
    buffers = raw.buffers or []  # type: ignore[attr-defined]
    tensors = []
    for ti, t in enumerate(sg.tensors or []):  # type: ignore[attr-defined]
        buf = buffers[t.buffer] if 0 < t.buffer < len(buffers) else None
        # data inline, or outside the flatbuffer at offset/size (a size without an offset is no data:
        # validate.py and ModelInfo.buffer_bytes read buffers the same way)
        has_data = buf is not None and ((buf.data is not None and len(buf.data) > 0) or (buf.offset > 0 and buf.size > 0))
        tensors.append(
            TensorInfo(
                index=ti,
                name=t.name.decode(errors="replace") if isinstance(t.name, bytes) else str(t.name),
                dtype=type_name(t.type),
                shape=tuple(int(d) for d in (t.shape if t.shape is not None else [])),
                quantization=_quantization(t.quantization),
                buffer=int(t.buffer),
                is_constant=bool(has_data),
                is_variable=bool(t.isVariable),
            )
        )
    ops = []
    for oi, op in enumerate(sg.operators or []):  # type: ignore[attr-defined]
        name, custom, version = _op_name(raw, op.opcodeIndex)
        ops.append(
            OperatorInfo(
                index=oi,
                op=name,
                is_custom=custom,
                version=version,
                inputs=tuple(int(i) for i in (op.inputs if op.inputs is not None else [])),
                outputs=tuple(int(i) for i in (op.outputs if op.outputs is not None else [])),
                intermediates=tuple(int(i) for i in (op.intermediates if op.intermediates is not None else [])),
                options=op.builtinOptions,
                custom_options=bytes(np.asarray(op.customOptions, dtype=np.uint8)) if op.customOptions is not None else b"",
            )
        )
    name = sg.name.decode(errors="replace") if isinstance(sg.name, bytes) else str(sg.name or "")  # type: ignore[attr-defined]
    return SubgraphInfo(
        index=index,
        name=name,
        tensors=tuple(tensors),
        operators=tuple(ops),
        inputs=tuple(int(i) for i in (sg.inputs if sg.inputs is not None else [])),  # type: ignore[attr-defined]
        outputs=tuple(int(i) for i in (sg.outputs if sg.outputs is not None else [])),  # type: ignore[attr-defined]
    )
