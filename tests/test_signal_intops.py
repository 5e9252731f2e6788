"""The plain-integer kernels (firmware/aot/signal/tg_intops.c) against numpy, on every path the
audio model does not reach: int8/int16 MAXIMUM/MINIMUM, broadcasting in 4 dimensions, every CAST
pair TFLM supports, DIV rounding toward zero and the activation clamp."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinygen.resources import firmware_dir

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
TYPES = {"int32": 2, "uint8": 3, "bool": 6, "int16": 7, "int8": 9, "uint32": 15}


class Bcast4(ctypes.Structure):
    _fields_ = [("dims", ctypes.c_int32 * 4), ("a_strides", ctypes.c_int32 * 4), ("b_strides", ctypes.c_int32 * 4)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    src = firmware_dir() / "aot" / "signal" / "tg_intops.c"
    so = tmp_path_factory.mktemp("intops") / "libintops.so"
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-shared", "-fPIC",
                    "-I", str(firmware_dir() / "aot"),  # tg_aot_opt.h
                    str(src), "-o", str(so)], check=True)
    return ctypes.CDLL(str(so))


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    return a.ctypes.data_as(ctypes.c_void_p)


def _bcast(a: tuple[int, ...], b: tuple[int, ...], out: tuple[int, ...]) -> Bcast4:
    pytest.importorskip("tinygen.codegen.aot.generator", reason="the AOT code generator is not in this tree")
    from tinygen.codegen.aot.ops.integer import broadcast_strides

    plan = broadcast_strides(a, b, out)
    assert plan is not None
    dims, sa, sb = plan
    return Bcast4((ctypes.c_int32 * 4)(*dims), (ctypes.c_int32 * 4)(*sa), (ctypes.c_int32 * 4)(*sb))


SHAPES = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 1, 4, 1), (1, 3, 1, 5)), ((40,), ()), ((3, 1), (1, 7))]


@pytest.mark.parametrize("a_shape, b_shape", SHAPES)
@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
def test_minmax(lib: ctypes.CDLL, a_shape: tuple[int, ...], b_shape: tuple[int, ...], dtype: str, op: str) -> None:
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=a_shape, endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, size=b_shape, endpoint=True).astype(dtype)
    want = (np.maximum if op == "MAXIMUM" else np.minimum)(a, b)
    out = np.zeros(want.shape, dtype=dtype)
    code = 3 if op == "MAXIMUM" else 4
    shape = _bcast(a_shape, b_shape, want.shape)
    if dtype == "int32":
        lib.tg_int32_binary(code, _ptr(a), _ptr(b), _ptr(out), ctypes.byref(shape),
                            ctypes.c_int32(-(2**31)), ctypes.c_int32(2**31 - 1))
    else:
        getattr(lib, f"tg_{dtype}_minmax")(code, _ptr(a), _ptr(b), _ptr(out), ctypes.byref(shape))
    assert np.array_equal(out, want)


def test_int32_add_mul_wrap_div_truncates_and_clamps(lib: ctypes.CDLL) -> None:
    a = np.array([2**31 - 1, -(2**31), 7, -7, 65536, -9], dtype=np.int32)
    b = np.array([1, -1, 2, 2, 65536, 4], dtype=np.int32)
    shape = _bcast(a.shape, b.shape, a.shape)
    lo, hi = ctypes.c_int32(-(2**31)), ctypes.c_int32(2**31 - 1)
    expect = {
        0: (a.astype(np.int64) + b).astype(np.int32),            # wraps
        1: (a.astype(np.int64) * b).astype(np.int32),            # wraps
        2: np.array([2**31 - 1, -(2**31), 3, -3, 1, -2], dtype=np.int32),  # toward zero
    }
    for code, want in expect.items():
        out = np.zeros_like(a)
        lib.tg_int32_binary(code, _ptr(a), _ptr(b), _ptr(out), ctypes.byref(shape), lo, hi)
        assert np.array_equal(out, want), code
    out = np.zeros_like(a)
    lib.tg_int32_binary(1, _ptr(a), _ptr(b), _ptr(out), ctypes.byref(shape), ctypes.c_int32(0), ctypes.c_int32(6))
    assert np.array_equal(out, np.clip((a.astype(np.int64) * b).astype(np.int32), 0, 6))


@pytest.mark.parametrize("src", ["int8", "int16", "int32", "uint32", "bool"])
@pytest.mark.parametrize("dst", ["int8", "int16", "int32", "uint32"])
def test_cast(lib: ctypes.CDLL, src: str, dst: str) -> None:
    rng = np.random.default_rng(5)
    if src == "bool":
        x = rng.integers(0, 2, size=64).astype(np.bool_)
    else:
        info = np.iinfo(src)
        x = rng.integers(info.min, info.max, size=64, endpoint=True).astype(src)
        x[:2] = [info.min, info.max]
    want = x.astype(np.int64).astype(dst)  # C conversion: modulo 2^n
    out = np.zeros(64, dtype=dst)
    lib.tg_int_cast(_ptr(x), TYPES[src], _ptr(out), TYPES[dst], 64)
    assert np.array_equal(out, want)
