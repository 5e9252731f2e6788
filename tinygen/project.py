"""Render a PlatformIO project: templates/ (Jinja) for the glue, firmware/ copied unchanged.

    OUT/platformio.ini            one environment, named after the board
    OUT/tinygen.json              what was generated (board, app, runtime, model sha, files)
    OUT/include/                  tg_board.h, tg_runtime.h, tg_app.h, tg_project.h (+ tg_tflm_model.h)
    OUT/src/board/                firmware/boards/<family>/   start-up and tg_board.h for the board
    OUT/src/app/                  firmware/apps/<app>/
    OUT/src/model/                the model as C (AOT runtime, or TFLM array + op resolver + arena)
    OUT/src/aot/ | src/runtime/   AOT kernels | TFLM glue (real boards with a local TFLM tree: lib/tinygen-tflm-runtime/, C++17)
    OUT/tflm/library.json         a local TFLM tree as a PlatformIO library (--tflm-dir); `pio_build`
                                  installs it in a shared lib_extra_dirs so TFLM objects are cached
    OUT/ld/                       linker script with the board's limits (QEMU)

Files are written atomically and only when changed (PlatformIO then rebuilds only what changed);
files a previous generation wrote that are no longer part of the project are removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jinja2

from . import __version__
from .boards import Board, get_board, has_pdm_microphone
from .codegen import aot, tflm
from .codegen.aot.incremental import Plan
from .codegen.cnames import c_string, model_prefix
from .codegen.output import BANNER_LINES, write_files
from .config import load_settings
from .convert import read_labels, tflm_arena_sizes
from .errors import UsageError
from .hostrun.incremental import Decision
from .model import ModelInfo, check_deployable, load_model
from .model.ops import resolver_method
from .model.variables import resource_variable_count
from .platform import qemu_platform_uri
from .platform.packages import PackageFolder, library_root, read_package_folder
from .platform.tflm import DEFINES as TFLM_DEFINES
from .platform.tflm import LIBRARY_NAME as TFLM_LIBRARY_NAME
from .platform.tflm import PROJECT_MANIFEST as TFLM_PROJECT_MANIFEST
from .platform.tflm import (
    TflmTree,
    TflmVersion,
    find_tflm_tree,
    identify,
    shared_library_root,
)
from .report import Reporter, silent
from .resources import firmware_dir, templates_dir

RUNTIMES = ("aot", "tflm")
MANIFEST = "tinygen.json"
# Real boards with internet: TFLM as an Arduino library, pinned. The tflite-micro-arduino-examples
# repository is TFLM exported for Arduino (sources + third_party, library.properties), synced from
# tflite-micro; 7948b85 is its last commit (2023-12). PlatformIO builds it like any Arduino library.
TFLM_LIB_NAME = "Arduino_TensorFlowLite"
TFLM_LIB_DEP = (f"{TFLM_LIB_NAME}=https://github.com/tensorflow/tflite-micro-arduino-examples.git"
                "#7948b85e020470a30a83bf00e10fc43b486bfcba")
_SIGNAL_OP_PREFIX = "Signal"
# platforms whose boards the pinned Arduino export builds for (its src/peripherals/ is Nano 33 BLE code)
ARDUINO_EXPORT_PLATFORMS = ("nordicnrf52",)
PDM_LIBRARY = "PDM"  # ArduinoCore-mbed's microphone library (libraries/PDM)
# C++ standard for TFLM and tinygen's TFLM glue on real boards (SCons sends it to CXXFLAGS only)
TFLM_CXX_STD = "-std=gnu++17"
TFLM_GLUE_LIBRARY = "tinygen-tflm-runtime"
# firmware/ libraries an app needs besides its own directory (kws adds its own in tinygen/kws)
_APP_LIBRARIES: dict[str, tuple[str, ...]] = {"hil": ("link",), "profile": ("link", "profile")}
# Files an app generates from the model besides the model sources, rendered by a later stage of the
# pipeline (docs/architecture.md), which its caller passes in: (board, model, labels) -> {path: content}.
AppFiles = Callable[[Board, ModelInfo, "list[str] | None"], "dict[str, str | bytes]"]
# Whether an app's AOT classifier runs incrementally (the kws app: kws.incremental.decide_for_kws).
IncrementalDecider = Callable[[ModelInfo], Decision]
# apps that cannot be rendered without them, and where they come from
APPS_WITH_FILES = {"kws": "tinygen.kws.project.kws_app_files",
                   "mlperf": "tinygen.mlperf.firmware.mlperf_files_for(benchmark)"}


@dataclass(frozen=True)
class Project:
    """A generated project directory."""

    path: Path
    board: Board
    app: str
    runtime: str
    name: str
    model_sha256: str
    files: tuple[str, ...]
    changed: tuple[str, ...]
    tflm_tree: TflmTree | None
    packages: PackageFolder | None = None

    @property
    def env_name(self) -> str:
        return self.board.name


def available_apps() -> list[str]:
    apps = firmware_dir() / "apps"
    return sorted(p.name for p in apps.iterdir() if p.is_dir() and any(_sources(p))) if apps.is_dir() else []


def _sources(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in (".c", ".cc", ".cpp", ".h", ".S"))


def _copy_tree(src: Path, dest: str) -> dict[str, str | bytes]:
    return {f"{dest}/{p.relative_to(src).as_posix()}": p.read_bytes() for p in _sources(src)}


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def _model_sources(model: ModelInfo, runtime: str, name: str, labels: list[str] | None,
                   arena_size: int | None, incremental: Plan | None = None,
                   version: TflmVersion | None = None) -> dict[str, str]:
    if runtime == "aot":
        return aot.generate(model, name, labels, incremental=incremental)
    if arena_size is not None:
        sizes = tflm.ArenaSizes(reference=arena_size, cmsis_nn=arena_size)
    else:
        sizes = tflm_arena_sizes(model)
        if version is not None and not version.modelled:  # say so, and keep a margin
            if version.kernels == "cmsis-nn":  # the Arduino export: CMSIS-NN kernels, CMSIS_NN undefined
                both = version.reserve(sizes.cmsis_nn)
                sizes = tflm.ArenaSizes(both, both, note=version.arena_note)
            else:
                sizes = tflm.ArenaSizes(version.reserve(sizes.reference), version.reserve(sizes.cmsis_nn),
                                        note=version.arena_note)
    return tflm.generate(model, name, labels, sizes)


def resolve_tflm(board: Board, runtime: str, tflm_dir: Path | None) -> TflmTree | None:
    """The TFLM tree a `runtime` project for `board` compiles (None: the pinned Arduino export)."""
    if runtime != "tflm":
        return None
    tflm_dir = tflm_dir or load_settings().tflm_dir
    if tflm_dir is not None:
        return find_tflm_tree(tflm_dir)
    if board.emulated:
        raise UsageError(f"--runtime tflm on {board.name} needs a local TensorFlow Lite Micro tree",
                         hint="pass --tflm-dir PATH or set TINYGEN_TFLM_DIR (or use --runtime aot)")
    return None


def resolve_packages(board: Board, packages_dir: Path | None) -> PackageFolder | None:
    """The folder of PlatformIO packages for a real board (argument, else TINYGEN_PIO_PACKAGES /
    `pio_packages`), None for the emulated board, which needs none."""
    if board.emulated:
        return None
    packages_dir = packages_dir or load_settings().pio_packages
    return read_package_folder(packages_dir) if packages_dir is not None else None


def render_project(
    board: Board, model: ModelInfo, app: str = "hello", runtime: str = "aot", name: str | None = None,
    labels: list[str] | None = None, tflm_dir: Path | None = None, arena_size: int | None = None,
    app_files: AppFiles | None = None, incremental: IncrementalDecider | None = None,
    packages_dir: Path | None = None,
) -> tuple[dict[str, str | bytes], TflmTree | None, str]:
    """Every file of the project, keyed by relative path (nothing written). Returns (files, tree, name).

    `app_files` adds the app's generated files (required for the apps in APPS_WITH_FILES).
    `incremental` (AOT only) decides whether the classifier runs incrementally (sliding windows,
    on only where proven): the kws app passes `kws.incremental.decide_for_kws`."""
    if app in APPS_WITH_FILES and app_files is None:
        raise TypeError(f"render_project(app={app!r}) needs app_files={APPS_WITH_FILES[app]}")
    if runtime not in RUNTIMES:
        raise UsageError(f"unknown runtime '{runtime}'", hint=f"choose from {', '.join(RUNTIMES)}")
    apps = available_apps()
    if app not in apps:
        raise UsageError(f"unknown app '{app}'", hint=f"available apps: {', '.join(apps) or 'none'}")
    name = model_prefix(name, model.path.stem)
    tree = resolve_tflm(board, runtime, tflm_dir)
    packages = resolve_packages(board, packages_dir)
    version = identify(tree) if runtime == "tflm" else None
    if runtime == "tflm" and tree is None and board.pio_platform not in ARDUINO_EXPORT_PLATFORMS:
        raise UsageError(f"--runtime tflm on {board.name} needs a local TFLM tree: the pinned Arduino export of TFLM "
                         "carries Nano 33 BLE-only code (src/peripherals/, #error unsupported board)",
                         hint="pass --tflm-dir PATH (a tflite-micro checkout) or set TINYGEN_TFLM_DIR, "
                              "or use --runtime aot")
    fw, env = firmware_dir(), _env()
    banner = BANNER_LINES.format(version=__version__, source=model.path.name.replace("*/", "*_/"),
                                 sha=model.sha256[:16])
    ctx: dict[str, Any] = {"banner": banner, "board": board, "app": app, "runtime": runtime,
                           "model_file": model.path.name, "env_name": board.name}

    files: dict[str, str | bytes] = {}
    files.update(_copy_tree(fw / "include", "include"))
    files["include/tg_app.h"] = (fw / "boards" / "tg_app.h").read_bytes()
    files.update(_copy_tree(fw / "boards" / board.family, "src/board"))
    files.update(_copy_tree(fw / "apps" / app, "src/app"))
    for library in _APP_LIBRARIES.get(app, ()):  # headers to include/, sources to src/<library>/
        for path in _sources(fw / library):
            files[f"include/{path.name}" if path.suffix == ".h" else f"src/{library}/{path.name}"] = path.read_bytes()
    decision = incremental(model) if runtime == "aot" and incremental is not None else None
    for fname, content in _model_sources(model, runtime, name, labels, arena_size,
                                         decision.plan if decision else None, version).items():
        files[f"src/model/{fname}"] = content
    build_flags = ["-Isrc/model"] + (["-DTG_PROFILE"] if app == "profile" else [])
    lib_deps: list[str] = []
    lib_extra_dirs: list[str] = []
    lib_extra_note = "a local TFLM tree as a library, described in tflm/library.json (tinygen build installs it here)"
    platform_packages = [f"{p.name}@{p.uri}" for p in packages.platform_tools(board.pio_platform)] if packages else []
    if app_files is not None:  # e.g. kws: AOT frontend, kws_config.h, link library (tinygen/kws/project.py)
        files.update(app_files(board, model, labels))
    if app == "kws" and has_pdm_microphone(board):
        # the core's PDM library: named, since the LDF does not see the #include inside #if
        lib_deps.append(PDM_LIBRARY)
    files["include/tg_project.h"] = env.get_template("tg_project.h.j2").render(
        ctx, board_name_c=c_string(board.name), app_c=c_string(app), runtime_c=c_string(runtime))

    if runtime == "aot":
        aot_library = _copy_tree(fw / "aot", "src/aot")
        files.update(aot_library)
        # The generator also emits the kernels it uses (a self-contained directory for `convert`);
        # in a project the full library in src/aot/ provides them, so drop the copies.
        shared = {Path(p).name for p in aot_library} | {Path(p).name for p in files if p.startswith("include/")}
        for copy in [p for p in files if p.startswith("src/model/") and Path(p).name in shared]:
            del files[copy]
        build_flags += ["-Isrc/aot", "-Isrc/aot/signal"]
    else:
        files["src/runtime/tg_runtime_tflm.cc"] = (fw / "tflm" / "tg_runtime_tflm.cc").read_bytes()
        if app == "profile":
            files["src/runtime/tg_profiler_tflm.cc"] = (fw / "tflm" / "tg_profiler_tflm.cc").read_bytes()
        files["include/tg_tflm_model.h"] = env.get_template("tg_tflm_model.h.j2").render(
            ctx, name=name, upper=name.upper(), camel="".join(p.capitalize() for p in name.split("_")),
            resource_variables=resource_variable_count(model))
        signal = any(op.startswith(_SIGNAL_OP_PREFIX) for op in model.op_counts)
        if tree is not None:
            methods = {resolver_method(op) for op in model.op_counts} - {None}
            manifest = tree.library_manifest(signal, sorted(m for m in methods if m),
                                             cxx_std=None if board.emulated else TFLM_CXX_STD)
            lib_text = json.dumps(manifest, indent=2) + "\n"
            files[TFLM_PROJECT_MANIFEST] = lib_text
            lib_extra_dirs = [str(shared_library_root(lib_text, load_settings().build_cache_dir))]
            # -isystem: TFLM's headers are not warning-free under -Wextra, our sources must be
            build_flags += [f"-D{d}" for d in TFLM_DEFINES] + [f"-isystem {d}" for d in tree.include_dirs]
            lib_deps.append(TFLM_LIBRARY_NAME)
            if board.emulated:
                files["src/runtime/tg_debug_log.cc"] = (fw / "tflm" / "tg_debug_log.cc").read_bytes()
            else:
                # TFLM's headers need C++17, ArduinoCore-mbed breaks under it (its abs() macro vs
                # <chrono>): tinygen's TFLM glue is a library of its own, C++17 and -Werror.
                del files["src/runtime/tg_runtime_tflm.cc"]
                for fname in ("tg_runtime_tflm.cc", "tg_debug_log.cc"):
                    files[f"lib/{TFLM_GLUE_LIBRARY}/src/{fname}"] = (fw / "tflm" / fname).read_bytes()
                files[f"lib/{TFLM_GLUE_LIBRARY}/library.json"] = json.dumps({
                    "name": TFLM_GLUE_LIBRARY, "version": __version__,
                    "description": "tinygen's TFLM runtime glue (tg_runtime.h on MicroInterpreter)",
                    # relative to the library: the project's include/ (tg_runtime.h, tg_tflm_model.h)
                    "build": {"flags": [TFLM_CXX_STD, "-Wall", "-Wextra", "-Werror", "-I../../include"]}},
                    indent=2) + "\n"
                lib_deps.append(TFLM_GLUE_LIBRARY)
        else:
            if signal:
                raise UsageError(f"{model.path.name} uses TFLM Signal ops, which the pinned Arduino export of "
                                 "TFLM (lib_deps) does not have",
                                 hint="pass --tflm-dir with a current TFLM tree, or use --runtime aot")
            local = packages.find("library", TFLM_LIB_NAME) if packages else None
            if local is not None:  # from the packages folder, by name: no registry (platform/packages.py)
                lib_deps.append(TFLM_LIB_NAME)
                lib_extra_dirs = [str(library_root(local, load_settings().build_cache_dir))]
                lib_extra_note = (f"{TFLM_LIB_NAME} from the packages folder, linked here by tinygen build "
                                  "(by name: PlatformIO installs none of its declared dependencies)")
            else:
                lib_deps.append(TFLM_LIB_DEP)

    ldscript = None
    if board.emulated:
        ldscript = f"ld/{board.name}.ld"
        files[ldscript] = env.get_template("qemu-m4.ld.j2").render(
            ctx, flash_kb=board.flash_limit // 1024, ram_kb=board.ram_limit // 1024)
    files["platformio.ini"] = env.get_template("platformio.ini.j2").render(
        ctx, platform=qemu_platform_uri() if board.emulated else board.pio_platform, ldscript=ldscript,
        upload_protocol=None, build_flags=build_flags, lib_deps=lib_deps, lib_extra_dirs=lib_extra_dirs,
        lib_extra_note=lib_extra_note,
        platform_packages=platform_packages,
        build_cache_dir=load_settings().build_cache_dir,
        lib_ldf_mode="chain+" if tree is None and runtime == "tflm" else None)
    manifest = {"schema": "tinygen.project", "schema_version": 1, "tinygen": __version__, "board": board.name,
                "app": app, "runtime": runtime, "name": name, "model": model.path.name,
                "model_sha256": model.sha256, "tflm_dir": str(tree.root) if tree else None,
                "packages": str(packages.root) if packages else None,
                "tflm": None if version is None else {
                    "version": version.label, "id": version.ident, "modelled": version.modelled,
                    "arena": "given (--arena-size)" if arena_size else version.arena_note},
                "files": sorted(files)}
    if decision is not None:
        manifest["incremental"] = decision.to_json()
    files[MANIFEST] = json.dumps(manifest, indent=2) + "\n"
    return files, tree, name


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def load_project(path: str | Path) -> Project:
    """A project generated earlier, from its tinygen.json (to rebuild it without the model)."""
    out = Path(path)
    doc = read_manifest(out)
    if doc is None:
        raise UsageError(f"{out} is not a tinygen project (no {MANIFEST})",
                         hint="generate one: tinygen generate --board B --model M -o DIR")
    tree = find_tflm_tree(Path(doc["tflm_dir"])) if doc.get("tflm_dir") else None
    packages = read_package_folder(Path(doc["packages"])) if doc.get("packages") else None
    return Project(path=out, board=get_board(doc["board"]), app=doc["app"], runtime=doc["runtime"],
                   name=doc["name"], model_sha256=doc["model_sha256"], files=tuple(doc.get("files", [])),
                   changed=(), tflm_tree=tree, packages=packages)


def generate_project(
    board: Board | str, model_path: str | Path, out_dir: str | Path, app: str = "hello", runtime: str = "aot",
    name: str | None = None, labels_path: Path | None = None, tflm_dir: Path | None = None,
    arena_size: int | None = None, reporter: Reporter | None = None, app_files: AppFiles | None = None,
    incremental: IncrementalDecider | None = None, packages_dir: Path | None = None,
) -> Project:
    """Render the project and write it to `out_dir` (atomically; stale generated files removed)."""
    reporter = reporter or silent()
    board = get_board(board) if isinstance(board, str) else board
    model = load_model(model_path)
    check_deployable(model)
    labels = read_labels(labels_path)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and read_manifest(out) is None:
        raise UsageError(f"{out} is not empty and was not generated by tinygen",
                         hint="choose an empty or new directory: tinygen will not overwrite other files")
    reporter.step(f"generating {board.name} project ({app} app, {runtime} runtime) for {model.path.name}")
    if runtime == "tflm" and arena_size is None:
        version = identify(resolve_tflm(board, runtime, tflm_dir))
        if not version.modelled:
            reporter.warn(f"TFLM arena: {version.arena_note}")
    files, tree, cname = render_project(board, model, app, runtime, name, labels, tflm_dir, arena_size,
                                        app_files, incremental, packages_dir)
    inc = json.loads(files[MANIFEST]).get("incremental")
    if inc:
        reporter.info(inc["summary"])
    previous = read_manifest(out) or {}
    changed = write_files(out, files)
    for stale in sorted(set(previous.get("files", [])) - set(files)):
        (out / stale).unlink(missing_ok=True)
    return Project(path=out, board=board, app=app, runtime=runtime, name=cname, model_sha256=model.sha256,
                   files=tuple(sorted(files)), changed=tuple(str(p.relative_to(out)) for p in changed),
                   tflm_tree=tree, packages=resolve_packages(board, packages_dir))
