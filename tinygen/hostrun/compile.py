"""Compile a generated AOT directory into a shared library (cached by content hash)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import load_settings
from ..errors import BuildError, ToolMissingError

WARNINGS = ("-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class CompileResult:
    library: Path
    cached: bool


def compiler(cc: str | None = None) -> str:
    """The C compiler to use: `cc` argument, $CC, then cc/gcc/clang on PATH."""
    for cand in ([cc] if cc else []) + [load_settings().cc or ""] + ["cc", "gcc", "clang"]:
        if cand and shutil.which(cand):
            return cand
    raise ToolMissingError("no C compiler found (tried $CC, cc, gcc, clang)",
                           hint="install one, e.g. `apt-get install gcc`")


def cache_dir() -> Path:
    return load_settings().cache_dir / "hostrun"


def compile_sources(files: dict[str, str], cc: str | None = None, opt: str = "-O2",
                    extra: tuple[str, ...] = ()) -> CompileResult:
    """Compile every .c in `files` (name -> content) into a shared library; returns its path."""
    cc = compiler(cc)
    flags = [opt, "-std=c99", *WARNINGS, "-fPIC", "-shared", *extra]
    h = hashlib.sha256(" ".join([cc, *flags]).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    key = h.hexdigest()[:24]
    lib = cache_dir() / f"{key}.so"
    if lib.exists():
        return CompileResult(lib, True)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tinygen-hostrun-") as tmp:
        src = Path(tmp)
        for name, content in files.items():
            (src / name).write_text(content)
        sources = sorted(str(src / n) for n in files if n.endswith(".c"))
        out = src / "model.so"
        proc = subprocess.run([cc, *flags, "-I", str(src), *sources, "-o", str(out), "-lm"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
            raise BuildError(f"host compile of the generated C failed: {first}",
                             hint="this is a tinygen bug: please report it with the model")
        tmp_lib = lib.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, tmp_lib)
        os.replace(tmp_lib, lib)
    return CompileResult(lib, False)
