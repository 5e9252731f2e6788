"""C struct layout for the ABIs TFLM runs on, and TFLM's structs described field by field.

A struct is a tuple of field types; `layout()` applies the C rules (each field at a multiple of
its alignment, size rounded up to the largest alignment). Field type names:
ptr, size_t, intptr (pointer-sized); int, i32, u32, float (4); i16 (2); i8, u8, bool (1);
i64 (8); enum (TFLM's small C enums: 1 byte with the bare-metal AAPCS short enums, 4 on Linux);
vptr (a C++ vtable pointer); a nested tuple is a nested struct; ("arr", T, n) an array.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

Field = str | tuple  # a scalar type name or a (nested) struct


@dataclass(frozen=True)
class Abi:
    """What a struct layout depends on."""

    name: str
    pointer: int  # sizeof(void*) == sizeof(size_t) == sizeof(intptr_t)
    enum: int  # sizeof a small C enum
    i64_align: int  # alignof(int64_t)

    def scalar(self, t: str) -> tuple[int, int]:
        if t in ("ptr", "size_t", "intptr", "vptr"):
            return self.pointer, self.pointer
        if t in ("int", "i32", "u32", "float"):
            return 4, 4
        if t == "i16":
            return 2, 2
        if t in ("i8", "u8", "bool"):
            return 1, 1
        if t == "i64":
            return 8, self.i64_align
        if t == "enum":
            return self.enum, self.enum
        raise ValueError(f"unknown field type {t!r}")


# arm-none-eabi (AAPCS, bare metal): 32-bit pointers, short enums, 8-byte aligned int64.
CORTEX_M = Abi("arm-none-eabi (32-bit, short enums)", pointer=4, enum=1, i64_align=8)
# x86-64 Linux, the ABI of the PyPI tflite-micro host interpreter.
HOST64 = Abi("x86-64 Linux", pointer=8, enum=4, i64_align=8)


@functools.lru_cache(maxsize=4096)
def layout(fields: Field, abi: Abi) -> tuple[int, int]:
    """(sizeof, alignof) of a struct or field on `abi` (cached: the arena search asks millions of times)."""
    if isinstance(fields, str):
        return abi.scalar(fields)
    if fields and fields[0] == "arr":
        size, align = layout(fields[1], abi)
        return size * fields[2], align
    offset, max_align = 0, 1
    for f in fields:
        size, align = layout(f, abi)
        offset = _align_up(offset, align) + size
        max_align = max(max_align, align)
    return _align_up(offset, max_align), max_align


def sizeof(fields: Field, abi: Abi) -> int:
    return layout(fields, abi)[0]


def alignof(fields: Field, abi: Abi) -> int:
    return layout(fields, abi)[1]


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


# ---- TFLM core structs (tensorflow/lite/core/c/common.h with TF_LITE_STATIC_MEMORY, micro/*.h) ----
INT_ARRAY_HEADER = ("int",)  # TfLiteIntArray {int size; int data[];}
EVAL_TENSOR = ("ptr", "ptr", "enum")  # data, dims, type
QUANT_PARAMS = ("float", "i32")  # TfLiteQuantizationParams
TENSOR = (("enum", "ptr"), QUANT_PARAMS, "ptr", "ptr", "size_t", "enum", "enum", "bool")
AFFINE_QUANT = ("ptr", "ptr", "i32")  # scale, zero_point, quantized_dimension
NODE = ("ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "int")  # TfLiteNode (static memory)
NODE_AND_REGISTRATION = (NODE, "ptr")
SUBGRAPH_ALLOCATIONS = ("ptr", "ptr")
SCRATCH_BUFFER_HANDLE = ("ptr",)
SCRATCH_BUFFER_REQUEST = ("size_t", "int", "int")
ALLOCATION_INFO = ("size_t", "ptr", "int", "int", "i32", "bool")
SINGLE_ARENA_ALLOCATOR = ("vptr", "vptr", "ptr", "ptr", "ptr", "ptr", "ptr", "intptr", "int")
MICRO_ALLOCATOR = ("vptr", "ptr", "ptr", "ptr", "bool", "size_t", "ptr", "size_t", "ptr")
GREEDY_PLANNER = ("vptr", "int", "int", "ptr", "ptr", "ptr", "ptr", "int", "int", "ptr", "bool")
BUILTIN_DATA_ALLOCATOR = ("vptr", "ptr")  # MicroBuiltinDataAllocator
RESOURCE_VARIABLES = ("ptr", "int", "int")  # MicroResourceVariables
RESOURCE_VARIABLE = ("ptr", "ptr", "ptr", "size_t", "i8")  # MicroResourceVariable
