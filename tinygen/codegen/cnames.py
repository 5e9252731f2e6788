"""Safe C identifiers and comment text from arbitrary model/tensor names."""

from __future__ import annotations

import re

_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while bool true false class namespace new delete template this "
    "operator private public protected virtual friend using typename alignas alignof".split()
)


def c_identifier(name: str, fallback: str = "model") -> str:
    """`name` made into a valid, lowercase C identifier ("kws-ref v2" -> "kws_ref_v2")."""
    ident = re.sub(r"[^0-9a-zA-Z_]", "_", name).strip("_").lower()
    ident = re.sub(r"_+", "_", ident) or fallback
    if ident[0].isdigit():
        ident = f"m_{ident}"
    if ident in _C_KEYWORDS:
        ident += "_"
    return ident


def c_macro(name: str) -> str:
    return c_identifier(name).upper()


def c_comment(text: str) -> str:
    """Text safe inside /* */ (nanopb's lesson: a model name can contain '*/')."""
    return text.replace("*/", "*_/").replace("/*", "/_*").replace("\n", " ")


def c_string(text: str) -> str:
    """A C string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        else:
            for b in ch.encode():
                out.append(f"\\{b:03o}")
    out.append('"')
    return "".join(out)
