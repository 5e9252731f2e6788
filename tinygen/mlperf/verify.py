"""`tinygen verify --app mlperf`: the MLPerf Tiny protocol driven from tinygen's side, every result
checked against the Python reference (tinygen/reference.py through tinygen/mlperf/benchmarks.py).

For each input: `db load` + `db` hex, `infer 1 0`, and the m-results text must equal what the host
computes (the reference interpreter's output, dequantized and printed the way the device does).
Then one timed run (`infer N W`, the runner's performance step) on the last input, whose results
must match too. Inputs are the runner's own dataset layout (a directory with y_labels.csv, ad01
files cut into segments as the runner cuts them), raw .bin files, or seeded random bytes.
"""

from __future__ import annotations

import csv
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..boards import Board, get_board
from ..build import build_project
from ..codegen.output import write_files
from ..config import load_settings
from ..emulator import Emulator
from ..errors import DeviceError, UsageError
from ..link.transport import Transport, find_port
from ..model import load_model
from ..reference import Reference
from ..report import Reporter, json_document, silent
from ..verify.session import usb_ids
from .benchmarks import Plan, model_input, plan_for, random_input, result_text
from .client import ClientConfig, MlperfClient
from .firmware import APP, mlperf_files_for

LABELS_FILE = "y_labels.csv"   # the runner's dataset index: file, classes, class, bytes_to_send, stride


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes


@dataclass(frozen=True)
class CaseResult:
    name: str
    device: tuple[str, ...]
    reference: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.device == self.reference


@dataclass
class MlperfResult:
    model: str
    benchmark: str
    board: str
    runtime: str
    device_name: str = ""
    device_profile: str = ""
    planned: int = 0
    cases: list[CaseResult] = field(default_factory=list)
    performance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def mismatches(self) -> int:
        return sum(not c.ok for c in self.cases) + (0 if self.performance.get("ok", True) else 1)

    @property
    def ok(self) -> bool:
        return self.error is None and self.mismatches == 0 and len(self.cases) == self.planned

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "model": self.model, "benchmark": self.benchmark,
                "device": {"board": self.board, "runtime": self.runtime, "name": self.device_name,
                           "profile": self.device_profile},
                "planned": self.planned, "completed": len(self.cases), "mismatches": self.mismatches,
                "error": self.error, "seconds": self.seconds, "performance": self.performance,
                "inputs": [{"name": c.name, "ok": c.ok, "device": list(c.device), "reference": list(c.reference)}
                           for c in self.cases]}


@dataclass(frozen=True)
class MlperfOptions:
    board: str
    model: Path
    benchmark: str | None = None
    inputs: tuple[str, ...] = ()
    random: int = 0
    seed: int = 0
    runtime: str = "aot"
    tflm_dir: Path | None = None
    elf: Path | None = None
    port: str | None = None
    iterations: int = 10
    warmups: int = 1
    client: ClientConfig = field(default_factory=ClientConfig)


# ---- inputs ------------------------------------------------------------------------------------

def _segments(name: str, data: bytes, size: int, stride: int) -> list[Case]:
    """The runner's ad01 cut: windows of `size` bytes every `stride` bytes (whole windows only)."""
    starts = range(0, len(data) - size + 1, stride) if stride > 0 else range(1 if len(data) >= size else 0)
    return [Case(f"{name}#{i}", data[s:s + size]) for i, s in enumerate(starts)]


def _dataset_cases(directory: Path, plan: Plan) -> list[Case]:
    cases: list[Case] = []
    with open(directory / LABELS_FILE, newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].strip():
                continue
            path = directory / row[0].strip()
            data = _read(path)
            if plan.benchmark.name == "ad01" and len(row) >= 5:
                cases += _segments(row[0].strip(), data, int(row[3]), int(row[4]))
            else:
                cases.append(Case(row[0].strip(), data))
    return cases


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read input {path}: {exc.strerror}") from None


def load_cases(paths: tuple[str, ...], plan: Plan) -> list[Case]:
    """Inputs from the runner's dataset directories (y_labels.csv), directories of .bin files, or
    .bin files; each must be exactly the benchmark's `db load` size."""
    cases: list[Case] = []
    for p in map(Path, paths):
        if p.is_dir():
            if (p / LABELS_FILE).is_file():
                cases += _dataset_cases(p, plan)
            else:
                cases += [Case(f.name, _read(f)) for f in sorted(p.glob("*.bin"))]
        elif p.is_file():
            cases.append(Case(p.name, _read(p)))
        else:
            raise UsageError(f"input {p} does not exist")
    for c in cases:
        if len(c.data) != plan.db_bytes:
            raise UsageError(f"input {c.name} is {len(c.data)} bytes; {plan.benchmark.name} sends {plan.db_bytes}",
                             hint="raw bytes as the runner sends them (ad01: float32, kws01: int8, ic01/vww01: uint8)")
    return cases


# ---- firmware and device -----------------------------------------------------------------------

def build_firmware(board: Board, model: Path, runtime: str, benchmark: str | None, reporter: Reporter,
                   tflm_dir: Path | None = None) -> Path:
    """The mlperf firmware for (board, model, runtime, benchmark), built once per model hash."""
    sha = load_model(model).sha256[:16]
    root = load_settings().cache_dir / APP
    out = root / f"{board.name}-{runtime}-{benchmark or 'auto'}-{sha}"
    reporter.step(f"building the mlperf firmware for {board.name} ({runtime}) in {out}")
    result = build_project(board, model, out, app=APP, runtime=runtime, tflm_dir=tflm_dir, reporter=reporter,
                           app_files=mlperf_files_for(benchmark))
    return Path(result.elf)


@contextmanager
def open_client(board: Board, elf: Path | None, port: str | None, config: ClientConfig) -> Iterator[MlperfClient]:
    """A client at the firmware's command prompt: QEMU started for the emulated board (its start-up
    banner read), or the serial port (found by USB id when not given) synchronised with an empty
    command."""
    if board.emulated:
        if elf is None:
            raise UsageError(f"{board.name} needs a firmware ELF to emulate")
        with Emulator(elf) as emu:
            client = MlperfClient(Transport(emu.serial, f"{board.name} (QEMU pid {emu.pid})", on_closed=emu.check),
                                  config)
            client.wait_ready()
            yield client
        return
    transport = Transport.open(port or find_port(usb_ids(board)), board.serial_baud)
    try:
        transport.discard_input()
        client = MlperfClient(transport, config)
        client.command("")  # whatever was half-sent before is ended; the reply is m-ready
        yield client
    finally:
        transport.close()


# ---- the run -----------------------------------------------------------------------------------

def run_mlperf(opts: MlperfOptions, reporter: Reporter | None = None) -> MlperfResult:
    reporter = reporter or silent()
    board = get_board(opts.board)
    info = load_model(opts.model)
    plan = plan_for(info, opts.benchmark)
    cases = load_cases(opts.inputs, plan) if opts.inputs else []
    rng = np.random.default_rng(opts.seed)
    cases += [Case(f"random-{i:04d}", random_input(plan, rng)) for i in range(opts.random)]
    if not cases:
        raise UsageError("no inputs to verify", hint="pass --inputs PATH and/or --random N")
    reference = Reference.from_file(opts.model)
    elf = opts.elf
    if elf is None and board.emulated:
        elf = build_firmware(board, Path(opts.model), opts.runtime, opts.benchmark, reporter, opts.tflm_dir)
    result = MlperfResult(str(opts.model), plan.benchmark.name, board.name, opts.runtime, planned=len(cases))

    def expected(data: bytes) -> tuple[str, ...]:
        x = model_input(plan, data).reshape(reference.inputs[0].shape)
        return tuple(result_text(plan, reference.run(x)[0], data))

    t0 = time.monotonic()
    reporter.step(f"connecting to {board.name}" + (f" (QEMU, {elf.name})" if board.emulated and elf else ""))
    try:
        with open_client(board, elf, opts.port, opts.client) as client:
            result.device_name = client.name()
            result.device_profile, model_string = client.profile()
            if model_string != plan.benchmark.name:
                raise DeviceError(f"the device serves {model_string}, not {plan.benchmark.name}",
                                  hint="flash the firmware built for this model: tinygen build --app mlperf")
            reporter.step(f"{plan.benchmark.name}: {len(cases)} inputs of {plan.db_bytes} bytes, infer 1 0 each")
            for case in cases:
                client.load(case.data)
                got = client.infer(1, 0)
                result.cases.append(CaseResult(case.name, got.results, expected(case.data)))
                if not result.cases[-1].ok:
                    reporter.warn(f"{case.name}: device {list(got.results)} != reference {list(result.cases[-1].reference)}")
            reporter.step(f"timed run: infer {opts.iterations} {opts.warmups} on {cases[-1].name}")
            timed = client.infer(opts.iterations, opts.warmups)
            want = expected(cases[-1].data)
            us = timed.elapsed_us
            result.performance = {"ok": timed.results == want, "input": cases[-1].name,
                                  "iterations": opts.iterations, "warmups": opts.warmups, "elapsed_us": us,
                                  "us_per_inference": us / opts.iterations,
                                  "inferences_per_second": opts.iterations * 1e6 / us if us > 0 else 0.0,
                                  "device": list(timed.results), "reference": list(want)}
    except DeviceError as exc:
        result.error = exc.message
    result.seconds = time.monotonic() - t0
    return result


# ---- reports -----------------------------------------------------------------------------------

def junit_xml(r: MlperfResult, names: list[str]) -> str:
    suite = ET.Element("testsuite", name=f"tinygen.verify.mlperf.{r.benchmark}", tests=str(r.planned),
                       failures=str(sum(not c.ok for c in r.cases)),
                       errors=str(r.planned - len(r.cases)), time=f"{r.seconds:.3f}")
    done = {c.name: c for c in r.cases}
    for name in names:
        tc = ET.SubElement(suite, "testcase", classname=Path(r.model).name, name=name)
        c = done.get(name)
        if c is None:
            ET.SubElement(tc, "error", message=r.error or "not run").text = "input did not complete: the run stopped"
        elif not c.ok:
            ET.SubElement(tc, "failure", message=f"device {list(c.device)} != reference {list(c.reference)}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(r: MlperfResult, json_path: Path | None, junit_path: Path | None) -> None:
    names = [c.name for c in r.cases] + [f"(not run {i})" for i in range(r.planned - len(r.cases))]
    for path, text in ((json_path, json_document("verify-mlperf", r.as_dict()) + "\n" if json_path else None),
                       (junit_path, junit_xml(r, names) if junit_path else None)):
        if path is not None and text is not None:
            write_files(path.parent if str(path.parent) else Path("."), {path.name: text})
