"""Byte and number arrays formatted as deterministic, readable C initialisers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def byte_rows(data: bytes, per_line: int = 16) -> str:
    """`0x1c, 0x00, ...` in rows of `per_line`, indented by 4 spaces (no trailing comma issues)."""
    lines = []
    for i in range(0, len(data), per_line):
        chunk = data[i: i + per_line]
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
    return "\n".join(lines)


def number_rows(values: Iterable[int | float], per_line: int = 12, fmt: str = "{}") -> str:
    vals = [fmt.format(v) for v in values]
    lines = []
    for i in range(0, len(vals), per_line):
        lines.append("    " + ", ".join(vals[i: i + per_line]) + ",")
    return "\n".join(lines)


def float_literal(x: float) -> str:
    """A C float literal that round-trips the float32 value exactly."""
    import numpy as np

    f = float(np.float32(x))
    text = repr(f)
    if "inf" in text or "nan" in text:
        raise ValueError(f"non-finite float {x}")
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def int_list(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values)
