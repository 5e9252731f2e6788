"""`verify` end to end: inputs, reference, firmware, device, loop, reports. The CLI and the pytest
plugin call `verify_model`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..boards import Board, get_board
from ..config import load_settings
from ..emulator import EmulatorConfig
from ..errors import ModelError, UsageError
from ..link import LinkConfig
from ..model import ModelInfo, check_deployable, load_model
from ..platform.tflm import FLOAT_RATIO_OPS, TflmTree, find_tflm_tree, ratios_in_float
from ..project import resolve_tflm
from ..reference import Reference
from ..report import Reporter, silent
from ..tflmhost import TreeReference
from .firmware import build_hil_firmware
from .inputs import InputCase, load_inputs, random_inputs
from .runner import VerifyResult, run_cases
from .session import measure_link, open_device


@dataclass(frozen=True)
class VerifyOptions:
    board: str
    model: Path
    inputs: tuple[str, ...] = ()
    random: int = 0
    seed: int = 0
    runtime: str = "aot"
    elf: Path | None = None
    port: str | None = None
    tolerance: int = 0
    tflm_dir: Path | None = None
    arena_size: int | None = None
    measure_link: bool = False
    link: LinkConfig | None = None
    reference: str = "auto"  # REFERENCES: what the device's outputs are compared with


# auto: the TFLM tree itself, compiled for the host, for --runtime tflm with a local tree (what the
# device compiles); the PyPI interpreter everywhere else (the AOT runtime, the Arduino export).
REFERENCES = ("auto", "tree", "wheel")


def reference_tree(opts: VerifyOptions) -> TflmTree | None:
    """The TFLM tree whose host build is the reference, None for the PyPI interpreter."""
    if opts.reference not in REFERENCES:
        raise UsageError(f"unknown reference '{opts.reference}'", hint=f"choose from {', '.join(REFERENCES)}")
    if opts.reference == "wheel":
        return None
    tflm_dir = (opts.tflm_dir or load_settings().tflm_dir) if opts.runtime == "tflm" else None
    if tflm_dir is None:
        if opts.reference == "tree":
            raise UsageError("--reference tree compares with a local TFLM tree compiled for the host: it needs "
                             "--runtime tflm and a tree", hint="pass --tflm-dir PATH or set TINYGEN_TFLM_DIR")
        return None
    return find_tflm_tree(tflm_dir)


def make_reference(opts: VerifyOptions, info: ModelInfo, reporter: Reporter) -> Reference:
    """The reference `opts` asks for: the tree's TFLM built for the host (cached), or the wheel's."""
    tree = reference_tree(opts)
    if tree is None:
        return Reference.from_bytes(info.data)
    reference = TreeReference.build(tree, info, reporter)
    reporter.info(f"reference: {reference.label}")
    return reference


def make_cases(opts: VerifyOptions, reference: Reference, streaming: bool) -> list[InputCase]:
    cases: list[InputCase] = []
    if opts.inputs:
        cases += load_inputs(opts.inputs, reference.inputs, streaming)
    if opts.random:
        cases += random_inputs(reference.inputs, opts.random, opts.seed)
    if not cases:
        raise UsageError("no inputs to verify", hint="pass --inputs PATH and/or --random N")
    return cases


def verify_model(opts: VerifyOptions, reporter: Reporter | None = None) -> tuple[VerifyResult, list[str]]:
    """Run the whole verification; returns the result and the names of all planned inputs."""
    reporter = reporter or silent()
    board = get_board(opts.board)
    info = load_model(opts.model)
    check_deployable(info)  # refuse what convert refuses, before TFLM's interpreter sees the model
    reference = make_reference(opts, info, reporter)
    try:
        return _verify(opts, board, info, reference, reporter)
    finally:
        reference.close()


def _verify(opts: VerifyOptions, board: Board, info: ModelInfo, reference: Reference,
            reporter: Reporter) -> tuple[VerifyResult, list[str]]:
    streaming = info.op_counts.get("VAR_HANDLE", 0) > 0
    cases = make_cases(opts, reference, streaming)
    elf = opts.elf
    if elf is None and board.emulated and opts.port is None:
        elf = build_hil_firmware(board.name, Path(opts.model), opts.runtime, reporter, opts.tflm_dir, opts.arena_size)
    link = opts.link or LinkConfig(baudrate=board.serial_baud)
    reporter.step(f"connecting to {board.name}" + (f" (QEMU, {elf.name})" if board.emulated and elf else ""))
    with open_device(board, elf=elf, port=opts.port, config=link, emulator_config=EmulatorConfig()) as conn:
        dev = conn.device
        assert dev.info is not None
        reporter.info(f"device: {dev.info.board}, {dev.info.runtime} runtime, arena {dev.info.arena_used}/"
                      f"{dev.info.arena_size} B, frames up to {dev.info.max_payload} B")
        if reference.kind == "tflm-tree" and dev.info.runtime != "tflm":
            reporter.warn(f"the device runs the {dev.info.runtime} runtime, the reference is {reference.label}")
        bandwidth = measure_link(dev) if opts.measure_link else None
        reporter.step(f"verifying {len(cases)} inputs{' (streaming: one sequence)' if streaming else ''}")
        result = run_cases(dev, reference, cases, str(opts.model), info.sha256, opts.tolerance, reporter)
        if dev.info.runtime == "tflm":
            result.device["arena_recommended"] = _recommended_arena(info)
        if bandwidth and result.error is None:
            # measured before and after the run: the mean is fairer on a machine whose load varies
            after = measure_link(dev)
            result.link["bandwidth_bytes_per_second"] = {k: (bandwidth[k] + after[k]) / 2 for k in bandwidth}
    return result, [c.name for c in cases]


def _recommended_arena(model: ModelInfo) -> dict[str, int] | None:
    """What `tinygen arena` says for this model (reference and CMSIS-NN kernels), to compare with the
    arena the TFLM firmware reserved; None when the arena model does not cover the model (the run
    itself never depends on it: the firmware was built with --arena-size then)."""
    try:
        from ..arena import compute_arena
    except ImportError:
        return None
    try:
        return {k: compute_arena(model, kernels=k).total for k in ("reference", "cmsis-nn")}
    except ModelError:  # includes UnsupportedOpError: an op without a kernel model
        return None


def tflm_version_note(opts: VerifyOptions, info: ModelInfo, reference_kind: str = "wheel") -> str | None:
    """Why a TFLM firmware may differ from the PyPI reference by 1 on this model, when it is so: its
    TFLM computes some multipliers in float, the reference interpreter in double (platform/tflm.py).
    A statement for the mismatch's hint, never a tolerance. None when the reference was the
    device's own TFLM tree (`reference_kind` "tflm-tree"): then no version differs."""
    if opts.runtime != "tflm" or opts.elf is not None or reference_kind != "wheel":
        return None
    ops = sorted(FLOAT_RATIO_OPS & set(info.op_counts))
    if not ops:
        return None
    try:
        board = get_board(opts.board)
        tree = resolve_tflm(board, opts.runtime, opts.tflm_dir)
    except UsageError:
        return None
    if not ratios_in_float(tree):
        return None
    import tflite_micro

    which = f"TFLM at {tree.root} ({tree.revision})" if tree else "the Arduino TFLM export"
    return (f"{which} computes the multipliers of {', '.join(ops)} from float ratios, the reference interpreter "
            f"(tflite-micro {tflite_micro.__version__}) from double ratios (tflite-micro pull request 3274): "
            "outputs can differ by 1; with a local tree, verify compares with that tree compiled for the host "
            "(--reference auto or tree, docs/verify.md)")
