"""Safe C identifiers and comment text from arbitrary model/tensor names."""

from __future__ import annotations

import hashlib
import re

from ..errors import UsageError

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


# The generated files and symbols are NAME_model.c, NAME_tg_runtime.c, NAME_init(), ...: a prefix
# this long keeps every one of them well inside what C compilers and file systems take.
MAX_PREFIX = 48
_RESERVED_PREFIXES = ("tg_", "tinygen_", "__")  # tinygen's own C names (tg_runtime_*, tg_aot_*, ...)


def model_prefix(name: str | None, stem: str) -> str:
    """The C name prefix of a model's generated code: `--name` (refused when unusable) or the file's stem
    (made safe: a stem is not the user's choice of C name)."""
    if name is not None:
        ident = c_identifier(name)
        if len(ident) > MAX_PREFIX:
            raise UsageError(f"--name '{name[:60]}...' is too long for a C name prefix (at most {MAX_PREFIX} characters)")
        if ident.startswith(_RESERVED_PREFIXES):
            raise UsageError(f"--name '{name}' would clash with tinygen's own C names (they start with "
                             f"{', '.join(_RESERVED_PREFIXES)})", hint="choose another prefix, e.g. 'my_model'")
        return ident
    ident = c_identifier(stem)
    if ident.startswith(_RESERVED_PREFIXES):
        ident = f"m_{ident}"
    if len(ident) > MAX_PREFIX:  # keep it unique: a short hash of the whole stem
        ident = f"{ident[:MAX_PREFIX - 9].rstrip('_')}_{hashlib.sha256(stem.encode()).hexdigest()[:8]}"
    return ident


def c_macro(name: str) -> str:
    return c_identifier(name).upper()


def c_comment(text: str) -> str:
    """Text safe inside /* */ (nanopb's lesson: a model name can contain '*/')."""
    return text.replace("*/", "*_/").replace("/*", "/_*").replace("\n", " ")


def c_string(text: str) -> str:
    """A C string literal of the UTF-8 bytes of `text`: printable ASCII as is, the rest as octal
    escapes, and every '?' as \\? so no trigraph (??= ??/ ...) can form."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        else:
            for b in ch.encode():
                out.append(f"\\{b:03o}")
    out.append('"')
    return "".join(out)
