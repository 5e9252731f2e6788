"""Drive one mutated model through the CLI commands a user would run on it, in this process.

Each command runs through click's CliRunner, so the outcome is what a user sees: an exit code and
the error line. `run --compare` compiles and loads generated C, so it runs in a child process (a
crash there must not end the fuzzer). A case fails when a command exits 70 (an internal error),
says it hit a tinygen bug (a host compile of generated C that fails, outputs that differ from
TFLM), dies of a signal, takes longer than the hang limit, or leaves files behind (a refused
`convert` must not leave output; the private temporary directory must end empty).
The hang limit is CPU time (HANG_SECONDS per command, the child's CPU for `run --compare`): on a
shared machine wall time says more about the other jobs than about tinygen. A wall-clock guard
(WALL_SECONDS) still catches a command that blocks without using CPU.
Every command starts with the same intake (`load_model`): a model that `inspect` refuses runs
through `inspect` only.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from tinygen.cli.main import _register, cli

HANG_SECONDS = 10.0  # CPU seconds per command
WALL_SECONDS = 60.0  # wall seconds per command: blocked, not busy
INTERNAL = 70
BUG_MARK = "tinygen bug"  # the hint of errors that only a bug in tinygen can cause
_registered = False


class Hang(BaseException):
    """Raised by the alarm in a case that runs past the hang limit (BaseException: no handler eats it)."""


@dataclass
class Outcome:
    command: str
    exit_code: int
    seconds: float  # wall
    message: str = ""
    cpu_seconds: float = 0.0

    @property
    def internal(self) -> bool:
        return self.exit_code == INTERNAL


@dataclass
class CaseResult:
    outcomes: list[Outcome] = field(default_factory=list)
    hang: str = ""
    leftovers: list[str] = field(default_factory=list)
    accepted: bool = False  # intake accepted the model (every command ran on it)

    @property
    def failed(self) -> bool:
        return bool(self.hang or self.leftovers or any(o.internal for o in self.outcomes))

    def summary(self) -> str:
        if self.hang:
            return f"hang in {self.hang}"
        if self.leftovers:
            return f"left files: {self.leftovers[:5]}"
        bad = next((o for o in self.outcomes if o.internal), None)
        return f"{bad.command}: {bad.message}" if bad else "ok"


def _on_alarm(signum: int, frame: types.FrameType | None) -> None:
    raise Hang()


def commands(model: Path, out: Path) -> list[tuple[str, list[str]]]:
    m = str(model)
    cmds = [
        ("inspect", ["inspect", m, "--json"]),
        ("arena reference", ["arena", m, "--kernels", "reference", "--json"]),
        ("arena cmsis-nn", ["arena", m, "--kernels", "cmsis-nn", "--json"]),
        ("convert tflm", ["-q", "convert", m, "-o", str(out / "tflm"), "--runtime", "tflm"]),
        ("convert aot", ["-q", "convert", m, "-o", str(out / "aot"), "--runtime", "aot"]),
    ]
    return cmds


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # every reaped descendant (the compiler too)
    return r.ru_utime + r.ru_stime


def _run_compare(model: Path, hang_seconds: float) -> Outcome | str:
    """`tinygen run --compare` in a child process; the name of the hang when it does not end."""
    start, cpu0 = time.monotonic(), _children_cpu()
    try:
        proc = subprocess.run([sys.executable, "-m", "tinygen.cli.main", "-q", "run", str(model), "--random", "2",
                               "--compare"], capture_output=True, text=True, timeout=WALL_SECONDS * 2,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "run --compare"
    seconds, cpu = time.monotonic() - start, _children_cpu() - cpu0
    text = (proc.stdout + proc.stderr).strip()
    code = proc.returncode
    if code < 0 or BUG_MARK in text:
        code = INTERNAL
    if cpu > hang_seconds * 2:  # two processes: the child starts Python, loads TFLM and runs the compiler
        return "run --compare"
    return Outcome("run --compare", code, seconds, text[-3000:] if code == INTERNAL else text.splitlines()[-1:][0] if text else "",
                   cpu)


def run_case(data: bytes, workdir: Path, compare: bool = False, hang_seconds: float = HANG_SECONDS) -> CaseResult:
    """Write `data` as a model in a fresh folder under `workdir`, run every command on it, clean up."""
    global _registered
    if not _registered:
        _register()
        _registered = True
    case_dir = Path(tempfile.mkdtemp(prefix="case-", dir=workdir))
    model = case_dir / "model.tflite"
    model.write_bytes(data)
    out = case_dir / "out"
    out.mkdir()
    result = CaseResult()
    runner = CliRunner()
    previous = signal.signal(signal.SIGALRM, _on_alarm), signal.signal(signal.SIGPROF, _on_alarm)
    try:
        for name, args in commands(model, out):
            start, cpu0 = time.monotonic(), time.process_time()
            signal.setitimer(signal.ITIMER_PROF, hang_seconds)  # CPU time of this process
            signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS)
            try:
                res = runner.invoke(cli, args, catch_exceptions=True)
            except Hang:
                result.hang = name
                break
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
            seconds, cpu = time.monotonic() - start, time.process_time() - cpu0
            lines = res.output.strip().splitlines()
            message = next((ln for ln in lines if ln.startswith("error: ")), lines[-1] if lines else "")
            if res.exception is not None and not isinstance(res.exception, SystemExit):  # escaped handle_errors
                tb = "".join(traceback.format_exception(res.exception))
                result.outcomes.append(Outcome(name, INTERNAL, seconds, tb[-3000:], cpu))
                continue
            if res.exit_code == INTERNAL or BUG_MARK in res.output:  # handle_errors printed the traceback
                result.outcomes.append(Outcome(name, INTERNAL, seconds, res.output[-3000:], cpu))
                continue
            result.outcomes.append(Outcome(name, res.exit_code, seconds, message, cpu))
            if name == "inspect" and res.exit_code != 0:
                break  # refused at intake, which every other command starts with too
            if name.startswith("convert") and res.exit_code != 0:
                target = out / name.split()[1]
                if target.exists() and any(target.iterdir()):
                    result.leftovers += [str(p.relative_to(case_dir)) for p in target.rglob("*")]
        result.accepted = bool(result.outcomes) and result.outcomes[0].exit_code == 0
        accepted = all(o.exit_code == 0 for o in result.outcomes if o.command.startswith("convert aot"))
        if compare and result.accepted and not result.hang and accepted:
            ran = _run_compare(model, hang_seconds)
            if isinstance(ran, str):
                result.hang = ran
            else:
                result.outcomes.append(ran)
    finally:
        signal.signal(signal.SIGALRM, previous[0])
        signal.signal(signal.SIGPROF, previous[1])
        shutil.rmtree(case_dir, ignore_errors=True)
    return result


def private_tmpdir(root: Path) -> Path:
    """Point tempfile (and child processes) at an empty folder so leftover files can be counted."""
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)
    return tmp
