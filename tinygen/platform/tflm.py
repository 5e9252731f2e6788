"""A local TensorFlow Lite Micro source tree, described as a PlatformIO library.

Two layouts are accepted:
  * an export made by TFLM's `tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py`
    (third-party code in `third_party/`), or
  * a git checkout on which TFLM's Makefile has run once (third-party code downloaded into
    `tensorflow/lite/micro/tools/make/downloads/`).
The source list follows TFLM's own `sources.inc` (microlite library: base, kernels, the shared
TfLite sources, Signal kernels on request), reference kernels only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

_DOWNLOADS = Path("tensorflow/lite/micro/tools/make/downloads")
_THIRD_PARTY_INCLUDES = ("flatbuffers/include", "gemmlowp", "ruy", "kissfft")
_BASE_GLOBS = (
    "tensorflow/lite/micro/*.cc",
    "tensorflow/lite/micro/arena_allocator/*.cc",
    "tensorflow/lite/micro/memory_planner/*.cc",
    "tensorflow/lite/micro/tflite_bridge/*.cc",
    "tensorflow/lite/micro/kernels/*.cc",
)
_SIGNAL_GLOBS = ("signal/micro/kernels/*.cc", "signal/src/*.cc", "signal/src/kiss_fft_wrappers/*.cc")
# tinygen supplies its own DebugLog (firmware/tflm/tg_debug_log.cc): TFLM's writes to stderr.
_EXCLUDED = {"tensorflow/lite/micro/debug_log.cc", "tensorflow/lite/array.cc"}
DEFINES = ("TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON", "TF_LITE_MCU_DEBUG_LOG")


# Ops whose Prepare turns float32 scales into a fixed-point multiplier through a ratio that TFLM up
# to 90b983c computes in float, then widens to double (sub_common.cc, leaky_relu_common.cc), and the
# PyPI interpreter tinygen's reference comes from in double, as tflite-micro pull request 3274
# ("Fixed all foubles") does. For some scales the multipliers differ by a few units and an output
# by 1: measured on the seanet SUB and LEAKY_RELU layers, bit-exact on a tree with that change
# (docs/models.md). The pull request touches RELU, HARD_SWISH, SVDF, DIV, ABS, RSQRT and
# SQUARED_DIFFERENCE as well; no output of the corpus shows a difference there, so they are not listed.
FLOAT_RATIO_OPS = frozenset({"LEAKY_RELU", "SUB"})
_FLOAT_RATIO_MARK = "const float twice_max_input_scale"  # sub_common.cc before that change


def ratios_in_float(tree: TflmTree | None) -> bool | None:
    """Whether this TFLM computes FLOAT_RATIO_OPS' multiplier ratios in float (None: cannot tell).
    No tree means the pinned Arduino export (2023), which does."""
    if tree is None:
        return True
    for name in ("sub_common.cc", "sub_common.cpp"):
        for kernels in (tree.root / "tensorflow/lite/micro/kernels", tree.root / "src/tensorflow/lite/micro/kernels"):
            try:
                return _FLOAT_RATIO_MARK in (kernels / name).read_text(errors="replace")
            except OSError:
                continue
    return None


@dataclass(frozen=True)
class TflmTree:
    root: Path
    third_party: Path       # directory holding flatbuffers/, gemmlowp/, ruy/, kissfft/
    revision: str           # git commit when known, else "local"

    @property
    def include_dirs(self) -> list[Path]:
        return [self.root] + [self.third_party / d for d in _THIRD_PARTY_INCLUDES]

    def sources(self, signal: bool = False, resolver_methods: Iterable[str] | None = None) -> list[str]:
        """Library sources relative to `root`, sorted (tests and benchmarks left out). With
        `resolver_methods` (the op resolver's AddXxx calls), kernel files that only register other
        ops are left out too: TFLM compiles in a third of the time, the image is the same."""
        globs = _BASE_GLOBS + (_SIGNAL_GLOBS if signal else ())
        found = {str(p.relative_to(self.root)) for g in globs for p in self.root.glob(g)}
        found |= {str(p.relative_to(self.root)) for p in (self.root / "tensorflow").rglob("*.c*")
                  if p.suffix in (".c", ".cc") and not _in_micro_or_experimental(p, self.root)}
        if resolver_methods is not None:
            found -= self._unused_kernels(set(resolver_methods))
        return sorted(s for s in found if _is_library_source(s))

    def _unused_kernels(self, methods: set[str]) -> set[str]:
        """Kernel files defining only Register_* functions that none of `methods` uses."""
        header = (self.root / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
        needed: set[str] = set()
        for block in re.finditer(r"TfLiteStatus (Add\w+)\((.*?)\n  \}", header, re.DOTALL):
            if block.group(1) in methods:
                needed |= set(re.findall(r"Register_\w+", block.group(2)))
        unused = set()
        for path in (self.root / "tensorflow/lite/micro/kernels").glob("*.cc"):
            defined = set(re.findall(r"TFLMRegistration\*?\s+(Register_\w+)\s*\(", path.read_text(errors="replace")))
            if defined and not defined & needed:
                unused.add(str(path.relative_to(self.root)))
        return unused

    def check_signal_ready(self) -> None:
        """The Signal kernels include kissfft several times per file, which only works with the
        patch TFLM applies when it downloads kissfft (include guards); an unpatched copy fails deep
        inside the build with a redefinition error, so say it up front."""
        guts = self.third_party / "kissfft" / "_kiss_fft_guts.h"
        if not guts.is_file():
            raise UsageError(f"TFLM tree {self.root}: {guts} is missing (the Signal ops need kissfft)")
        if "_KISS_FFT_GUTS_H" not in guts.read_text(errors="replace"):
            raise UsageError(
                f"TFLM tree {self.root}: kissfft in {guts.parent} lacks TFLM's patch (no include guard)",
                hint="apply third_party/kissfft/kissfft.patch from the TFLM root (patch -p1), or let "
                     "TFLM's Makefile download its dependencies once",
            )

    def library_manifest(self, signal: bool = False, resolver_methods: Iterable[str] | None = None,
                         cxx_std: str | None = None) -> dict[str, object]:
        """library.json content: the tree is compiled in place (srcDir outside the project).
        `cxx_std` (e.g. -std=gnu++17) for frameworks whose own C++ standard is older."""
        if signal:
            self.check_signal_ready()
        return {
            "name": LIBRARY_NAME,
            "version": "0.0.0",
            "description": f"TensorFlow Lite Micro from {self.root} ({self.revision}), reference kernels",
            "build": {
                "srcDir": str(self.root),
                "includeDir": str(self.root),
                "srcFilter": ["-<*>"] + [f"+<{s}>" for s in self.sources(signal, resolver_methods)],
                "flags": ["-Wno-unused-parameter", "-Wno-missing-field-initializers"] + ([cxx_std] if cxx_std else []),
                "libArchive": True,
            },
        }


# --- which TFLM is this, and is tinygen's arena model exact for it ------------------------------------
# tinygen's arena model (tinygen.arena) reproduces, to the byte, the smallest arena with which
# AllocateTensors() and Invoke() succeed for these TFLM versions (measured on qemu-m4 with a byte-by-byte
# search, tests/data/arena_truth.json). Keyed by git commit prefix and by the content hash of the sources
# that decide the arena (allocator, planner, interpreter, kernels: `arena_source_hash`).
MODELLED_COMMITS = {"90b983c2b3f1": "tflite-micro 90b983c"}
# the same 90b983c sources without .git (a source archive of the checkout)
MODELLED_CONTENT = {"sha256:78bfd47c07cdef7d": "tflite-micro 90b983c"}
# The pinned Arduino export real boards get from GitHub when no local TFLM is given.
ARDUINO_EXPORT = "tflite-micro-arduino-examples 7948b85 (TFLM exported for Arduino, 2023-12)"
# For a TFLM the model does not cover: reserve the modelled size plus this much (documented in
# docs/boards.md; a chosen safety margin. For the Arduino export it was checked against the measured
# minimum arenas of the zoo: tests/data/arena_truth_arduino.json).
UNMODELLED_MARGIN_PERCENT = 25
UNMODELLED_MARGIN_BYTES = 1024
_ARENA_SOURCES = ("tensorflow/lite/micro/*.c*", "tensorflow/lite/micro/*.h",
                  "tensorflow/lite/micro/arena_allocator/*", "tensorflow/lite/micro/memory_planner/*",
                  "tensorflow/lite/micro/kernels/*.c*", "tensorflow/lite/micro/kernels/*.h",
                  "tensorflow/lite/c/common.h", "tensorflow/lite/core/c/common.h")


@dataclass(frozen=True)
class TflmVersion:
    label: str        # what it is, for people
    ident: str        # git commit (12 hex) or "sha256:<16 hex>" of the arena-relevant sources
    modelled: bool    # tinygen's arena is exact for it
    # the kernels it compiles: a local tree's library builds the reference kernels; the Arduino
    # export carries CMSIS-NN's in their place (without defining CMSIS_NN for the application)
    kernels: str = "reference"

    def reserve(self, exact: int) -> int:
        """Arena bytes to reserve: the modelled size, plus the documented margin when unmodelled."""
        if self.modelled:
            return exact
        grown = exact + exact * UNMODELLED_MARGIN_PERCENT // 100 + UNMODELLED_MARGIN_BYTES
        return (grown + 15) // 16 * 16

    @property
    def arena_note(self) -> str:
        if self.modelled:
            return f"exact for {self.label} (tinygen's arena model)"
        return (f"{self.label} is not modelled by tinygen: the arena is tinygen's {MODELLED_COMMITS['90b983c2b3f1']} "
                f"{self.kernels} figure + {UNMODELLED_MARGIN_PERCENT}% + {UNMODELLED_MARGIN_BYTES} bytes, not exact")


def arena_source_hash(root: Path) -> str:
    """sha256 over the sources that decide the arena (path with .cpp read as .cc, content), tests
    and benchmarks left out: the same TFLM gives the same hash as a checkout or an export."""
    digest = hashlib.sha256()
    files = sorted({p for g in _ARENA_SOURCES for p in Path(root).glob(g)
                    if p.is_file() and not p.name.endswith(("_test.cc", "_test.cpp")) and "benchmark" not in p.name})
    for path in files:
        rel = path.relative_to(root).as_posix()
        digest.update((rel[:-4] + ".cc" if rel.endswith(".cpp") else rel).encode() + b"\0")
        digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()[:16]


def identify(tree: TflmTree | None) -> TflmVersion:
    """The TFLM a project compiles: a local tree by commit (else content hash), or the pinned Arduino export."""
    if tree is None:
        return TflmVersion(ARDUINO_EXPORT, "7948b85e0204", False, kernels="cmsis-nn")
    if tree.revision[:12] in MODELLED_COMMITS:
        return TflmVersion(MODELLED_COMMITS[tree.revision[:12]], tree.revision[:12], True)
    content = arena_source_hash(tree.root)
    if content in MODELLED_CONTENT:
        return TflmVersion(MODELLED_CONTENT[content], content, True)
    ident = tree.revision if tree.revision != "local" else content
    return TflmVersion(f"TFLM at {tree.root} ({ident})", ident, False)


LIBRARY_NAME = "tflite-micro"
PROJECT_MANIFEST = "tflm/library.json"  # the project's copy; PlatformIO reads the shared one


def shared_library_root(manifest_text: str, cache_root: Path) -> Path:
    """The `lib_extra_dirs` directory holding this library description, shared by every project
    built from the same TFLM tree: one library path means one PlatformIO build directory, so TFLM
    objects another project compiled come from the build cache. The key leaves the source list
    out (models differ in kernels, not in the objects they share); the manifest is rewritten
    before each build, so two builds from one tree should not run at the same time."""
    doc = json.loads(manifest_text)
    doc.get("build", {}).pop("srcFilter", None)
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_root).parent / "tflm-libs" / key


def install_shared_library(project_dir: Path, cache_root: Path) -> Path | None:
    """Put the project's TFLM library.json where its platformio.ini looks (before `pio run`)."""
    copy = Path(project_dir) / PROJECT_MANIFEST
    if not copy.is_file():
        return None
    text = copy.read_text()
    root = shared_library_root(text, cache_root)
    target = root / LIBRARY_NAME / "library.json"
    if not target.is_file() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return root


def _in_micro_or_experimental(path: Path, root: Path) -> bool:
    rel = path.relative_to(root).as_posix()
    return rel.startswith(("tensorflow/lite/micro/", "tensorflow/lite/experimental/"))


def _is_library_source(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (rel not in _EXCLUDED and not name.endswith("_test.cc") and "benchmark" not in name
            and not name.endswith("_flexbuffers_generated_data.cc"))


def find_tflm_tree(path: Path) -> TflmTree:
    """Validate `path` as a TFLM tree; the error says what is missing."""
    root = Path(path).expanduser().resolve()
    hint = ("pass a tflite-micro checkout on which `make -f tensorflow/lite/micro/tools/make/Makefile "
            "microlite` has run, or a tree made by create_tflm_tree.py")
    if not (root / "tensorflow/lite/micro/micro_interpreter.h").is_file():
        raise UsageError(f"{root} is not a TensorFlow Lite Micro tree (no tensorflow/lite/micro/micro_interpreter.h)",
                         hint=hint)
    for third_party in (root / "third_party", root / _DOWNLOADS):
        if all((third_party / d).is_dir() for d in _THIRD_PARTY_INCLUDES[:3]):
            return TflmTree(root, third_party, _git_revision(root))
    raise UsageError(f"TFLM tree {root} has no third-party sources (flatbuffers, gemmlowp, ruy)", hint=hint)


def _git_revision(root: Path) -> str:
    head = root / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (root / ".git" / ref[5:]).read_text().strip()[:12]
        return ref[:12]
    except OSError:
        return "local"
