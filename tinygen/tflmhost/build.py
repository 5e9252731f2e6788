"""Compile a local TFLM tree for the host, once per tree, and link tinygen's host runner with it.

Nothing is written inside the tree (it may be read-only and shared): objects go to
`TINYGEN_CACHE_DIR/tflm-host/KEY/obj/`, where KEY covers the tree's identity (its git commit and
the path, size and modification time of every source and header, so an edited tree builds
afresh), the compilers and the flags. The sources are the firmware's (`TflmTree.sources`, reference
kernels, kernel files of ops the model does not use left out) plus TFLM's own `debug_log.cc`
(messages to stderr), compiled the way TFLM's Makefile builds for the host (`-std=c++17
-fno-rtti -fno-exceptions -fno-threadsafe-statics`, TF_LITE_STATIC_MEMORY, TF_LITE_USE_CTIME).
Each source is compiled the first time a model needs it, then reused by every later model; the
runner (`tg_tflm_host.cc` + the op resolver tinygen generates for the firmware) is linked once
per set of ops.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..codegen.tflm import op_resolver_file
from ..config import load_settings
from ..errors import BuildError, ToolMissingError
from ..locking import exclusive, lock_path
from ..model import ModelInfo
from ..model.ops import resolver_method
from ..platform.tflm import DEFINES, TflmTree
from ..report import Reporter, silent

RUNNER_SOURCE = Path(__file__).resolve().parent / "tg_tflm_host.cc"
RESOLVER_NAME = "tg_host"  # tg_host_op_resolver.h: TgHostOpResolver, tg_host_register_ops
DEBUG_LOG = "tensorflow/lite/micro/debug_log.cc"  # TFLM's host DebugLog: vfprintf(stderr)
HOST_DEFINES = (*DEFINES, "TF_LITE_USE_CTIME")
CXX_FLAGS = ("-std=c++17", "-O2", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-w")
C_FLAGS = ("-std=c17", "-O2", "-w")
_SIGNAL_OP_PREFIX = "Signal"
_STAT_DIRS = ("tensorflow", "signal")
_SKIPPED_DIRS = {"tensorflow/lite/micro/tools", "tensorflow/lite/micro/docs"}  # Makefile downloads, scripts
_SOURCE_SUFFIXES = (".h", ".hpp", ".inc", ".c", ".cc", ".cpp")


@dataclass(frozen=True)
class Toolchain:
    cxx: str
    identity: str  # the compiler's path and version line

    def flags(self, source: str) -> tuple[str, ...]:
        """C sources (kissfft, if a tree lists any) go through the same driver with -x c."""
        return ("-x", "c", *C_FLAGS) if source.endswith(".c") else CXX_FLAGS


def cxx_compiler() -> str:
    """The host C++ compiler: $CXX, then c++, g++, clang++ on PATH."""
    for cand in [load_settings().cxx or "", "c++", "g++", "clang++"]:
        if cand and shutil.which(cand):
            return cand
    raise ToolMissingError("no C++ compiler found to build the TFLM tree for the host (tried $CXX, c++, g++, clang++)",
                           hint="install one (e.g. `apt-get install g++`), or compare with the PyPI interpreter: "
                                "--reference wheel")


def toolchain() -> Toolchain:
    cxx = cxx_compiler()
    proc = subprocess.run([cxx, "--version"], capture_output=True, text=True)
    return Toolchain(cxx, f"{shutil.which(cxx)}: {(proc.stdout.splitlines() or [''])[0]}")


def tree_fingerprint(tree: TflmTree) -> str:
    """sha256 over the tree's commit and the path, size and mtime of every source and header
    (the Makefile's downloads and scripts left out, the third-party include folders in)."""
    digest = hashlib.sha256(f"{tree.root}\0{tree.revision}\0".encode())
    folders = [(tree.root / d, tree.root) for d in _STAT_DIRS]
    folders += [(d, tree.third_party) for d in tree.include_dirs[1:]]
    for folder, base in folders:
        entries = []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):  # symlink copies of a tree too
            rel_dir = Path(dirpath).relative_to(tree.root).as_posix() if base == tree.root else ""
            dirnames[:] = sorted(d for d in dirnames if f"{rel_dir}/{d}".lstrip("/") not in _SKIPPED_DIRS)
            for name in filenames:
                if name.endswith(_SOURCE_SUFFIXES):
                    path = Path(dirpath) / name
                    st = path.stat()
                    entries.append(f"{path.relative_to(base).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}")
        digest.update(f"{folder}\n".encode() + "\n".join(sorted(entries)).encode() + b"\n")
    return digest.hexdigest()


def cache_root() -> Path:
    return load_settings().cache_dir / "tflm-host"


@dataclass(frozen=True)
class HostBuild:
    """Where one tree's host build lives."""

    tree: TflmTree
    tools: Toolchain
    directory: Path

    @classmethod
    def for_tree(cls, tree: TflmTree) -> HostBuild:
        tools = toolchain()
        h = hashlib.sha256()
        for part in (tree_fingerprint(tree), tools.identity, " ".join(CXX_FLAGS + C_FLAGS + HOST_DEFINES)):
            h.update(part.encode() + b"\0")
        return cls(tree, tools, cache_root() / f"{tree.revision}-{h.hexdigest()[:16]}")

    def object_path(self, source: str) -> Path:
        return self.directory / "obj" / f"{source}.o"

    def command(self, source: Path, output: Path, extra_includes: Iterable[Path] = ()) -> list[str]:
        src = str(source)
        includes = [f"-I{d}" for d in [*extra_includes, *self.tree.include_dirs]]
        return [self.tools.cxx, *self.tools.flags(src), *[f"-D{d}" for d in HOST_DEFINES], *includes, "-c", src, "-o", str(output)]


def model_ops(model: ModelInfo) -> tuple[list[str], bool]:
    """The op resolver's AddXxx methods the model needs, and whether it uses Signal ops."""
    methods = sorted({resolver_method(op) or "" for op in model.op_counts} - {""})
    return methods, any(op.startswith(_SIGNAL_OP_PREFIX) for op in model.op_counts)


def build_runner(tree: TflmTree, model: ModelInfo, reporter: Reporter | None = None) -> Path:
    """The host runner for `model`'s ops on `tree` (built, or found in the cache)."""
    reporter = reporter or silent()
    build = HostBuild.for_tree(tree)
    methods, signal = model_ops(model)
    runner_key = hashlib.sha256("\0".join([__version__, RUNNER_SOURCE.read_text(), str(signal), *methods]).encode())
    exe = build.directory / f"runner-{runner_key.hexdigest()[:16]}" / "tg_tflm_host"
    if exe.is_file():
        return exe
    with exclusive(lock_path(build.directory), f"the host build of TFLM in {build.directory}", reporter):
        if exe.is_file():  # another process built it while this one waited
            return exe
        if signal:
            tree.check_signal_ready()
        sources = tree.sources(signal, methods)
        if (tree.root / DEBUG_LOG).is_file():
            sources.append(DEBUG_LOG)
        _compile_objects(build, sources, reporter)
        _link(build, model, sources, exe)
    return exe


def _compile_objects(build: HostBuild, sources: list[str], reporter: Reporter) -> None:
    todo = [s for s in sources if not build.object_path(s).is_file()]
    if not todo:
        return
    first = not (build.directory / "obj").is_dir()
    reporter.step(f"compiling TFLM at {build.tree.root} ({build.tree.revision}) for the host: {len(todo)} of "
                  f"{len(sources)} sources{' (first build for this tree: a few minutes)' if first else ''}, "
                  f"kept in {build.directory}")
    jobs = max(1, os.cpu_count() or 1)
    done = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending: set[Future[None]] = {pool.submit(_compile_one, build, s) for s in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                if fut.exception() is not None:
                    for other in pending:
                        other.cancel()
                    fut.result()  # raises the BuildError
            done += len(finished)
            if pending and done * 10 // len(todo) != (done - len(finished)) * 10 // len(todo):
                reporter.info(f"  {done}/{len(todo)} TFLM sources compiled")


def _compile_one(build: HostBuild, source: str) -> None:
    obj = build.object_path(source)
    obj.parent.mkdir(parents=True, exist_ok=True)
    tmp = obj.with_name(f"{obj.name}.{os.getpid()}.tmp")
    try:
        _run(build.command(build.tree.root / source, tmp), build, f"{source} does not compile")
        os.replace(tmp, obj)  # only a complete object ever gets its name
    finally:
        tmp.unlink(missing_ok=True)


def _link(build: HostBuild, model: ModelInfo, sources: list[str], exe: Path) -> None:
    work = exe.parent
    work.mkdir(parents=True, exist_ok=True)
    (work / f"{RESOLVER_NAME}_op_resolver.h").write_text(op_resolver_file(model, RESOLVER_NAME))
    runner_obj = work / "tg_tflm_host.o"
    _run(build.command(RUNNER_SOURCE, runner_obj, [work]), build, "tinygen's host runner does not compile against it")
    archive = work / "libtflm.a"
    archive.unlink(missing_ok=True)
    ar = shutil.which("ar") or "ar"
    _run([ar, "rcs", str(archive), *[str(build.object_path(s)) for s in sources]], build, "archiving its objects failed")
    tmp = exe.with_name(f"{exe.name}.{os.getpid()}.tmp")
    try:
        _run([build.tools.cxx, str(runner_obj), str(archive), "-lm", "-o", str(tmp)], build,
             "the host runner does not link")
        os.replace(tmp, exe)
    finally:
        tmp.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)


def _run(cmd: list[str], build: HostBuild, what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:  # the tool vanished or cannot run
        raise ToolMissingError(f"cannot run {cmd[0]} to build TFLM for the host: {exc}",
                               hint="install a host compiler (e.g. `apt-get install g++`), or pass --reference wheel") from exc
    if proc.returncode == 0:
        return
    log = build.directory / "failed.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(" ".join(cmd) + "\n\n" + proc.stdout + proc.stderr)
    first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
    raise BuildError(f"TFLM at {build.tree.root} ({build.tree.revision}) for the host: {what}: {first}",
                     hint=f"the compiler's output is in {log}; fix the tree (TFLM's own host build: `make -f "
                          "tensorflow/lite/micro/tools/make/Makefile test`), or compare with the PyPI interpreter: "
                          "--reference wheel")
