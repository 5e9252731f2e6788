"""Pieces shared by every generated C header: C types of tensor dtypes and the I/O tensor macros."""

from __future__ import annotations

from ..model import TensorInfo
from .carray import float_literal, int_list
from .cnames import c_comment

C_TYPES: dict[str, str] = {
    "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
    "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "uint64": "uint64_t",
    "float32": "float", "bool": "uint8_t",
}


def tensor_macros(prefix: str, tensors: tuple[TensorInfo, ...]) -> list[str]:
    """`PREFIX_COUNT` and, per tensor, `PREFIXi_TYPE/BYTES/ELEMENTS/DIMS_COUNT/DIMS/SCALE/ZERO_POINT`."""
    lines = [f"#define {prefix}_COUNT {len(tensors)}"]
    for i, t in enumerate(tensors):
        p = f"{prefix}{i}"
        q = t.quantization
        lines += [
            f"/* {c_comment(t.name)} */",
            f"#define {p}_TYPE {C_TYPES.get(t.dtype, 'int8_t')}",
            f"#define {p}_BYTES {t.nbytes}",
            f"#define {p}_ELEMENTS {t.num_elements}",
            f"#define {p}_DIMS_COUNT {len(t.shape)}",
            f"#define {p}_DIMS {{{int_list(t.shape) or '1'}}}",  # a scalar still gets a valid initialiser
            f"#define {p}_SCALE {float_literal(q.scale[0]) if q else '0.0f'}",
            f"#define {p}_ZERO_POINT ({q.zero_point[0] if q else 0})",
        ]
    return lines
