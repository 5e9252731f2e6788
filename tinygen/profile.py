"""Per-op cost of a model on a device: `tinygen profile` (docs/profile.md).

The `profile` app is the HIL firmware built with TG_PROFILE: the AOT model marks every op
(TG_AOT_PROFILE_OP), TFLM reports its ops through tinygen's MicroProfiler, and the device adds up
the board's cost counter per op (instructions on qemu-m4 with `-icount shift=0`, DWT cycles on real
Cortex-M boards). The host streams inputs with the HIL protocol, reads the totals with PROFILE_READ,
and names the rows from the model (TFLM runs the main subgraph's ops in model order, the AOT code
is generated in it). Nested subgraphs count towards the op that runs them (CALL_ONCE).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .boards import Board, get_board
from .errors import ToolMissingError, UsageError
from .link import LinkConfig
from .link.device import Device
from .link.errors import ProtocolError
from .model import ModelInfo, load_model
from .model.cost import op_macs
from .report import Reporter

APP = "profile"
CMD_PROFILE_READ = 0x50
CMD_PROFILE_CLEAR = 0x51
_HEAD = struct.Struct("<HHI")      # rows, rows in this reply, invokes
_ROW = struct.Struct("<HHIQ")      # op, 0, calls, cost


@dataclass(frozen=True)
class OpCost:
    index: int
    op: str
    calls: int
    cost: float          # per inference
    macs: int

    @property
    def cost_per_mac(self) -> float | None:
        return self.cost / self.macs if self.macs else None


@dataclass(frozen=True)
class ProfileResult:
    board: str
    model: str
    runtime: str
    unit: str
    inferences: int
    whole: float                    # cost per inference as INVOKE measured it (the same counter)
    ops: tuple[OpCost, ...]

    @property
    def op_total(self) -> float:
        return sum(o.cost for o in self.ops)

    def table(self) -> list[str]:
        """The human table (one line per op, then the totals)."""
        width = max([len(o.op) for o in self.ops] + [4])
        lines = [f"{'#':>3}  {'op':<{width}}  {self.unit + '/inference':>22}  {'share':>6}  {'per MAC':>8}"]
        for o in self.ops:
            share = o.cost / self.op_total if self.op_total else 0.0
            per = f"{o.cost_per_mac:.2f}" if o.cost_per_mac is not None else "-"
            lines.append(f"{o.index:>3}  {o.op:<{width}}  {o.cost:>22,.0f}  {share:>6.1%}  {per:>8}")
        lines.append(f"{'':>3}  {'ops':<{width}}  {self.op_total:>22,.0f}")
        lines.append(f"{'':>3}  {'invoke':<{width}}  {self.whole:>22,.0f}  (whole inference, same counter)")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board, "model": self.model, "runtime": self.runtime, "unit": self.unit,
            "inferences": self.inferences, "invoke_cost": self.whole, "ops_cost": self.op_total,
            "ops": [{"index": o.index, "op": o.op, "calls": o.calls, "cost": o.cost, "macs": o.macs,
                     "share": o.cost / self.op_total if self.op_total else 0.0} for o in self.ops],
        }


def cache_dir() -> Path:
    return Path(os.environ.get("TINYGEN_CACHE_DIR", Path.home() / ".cache" / "tinygen")) / "profile"


def build_profile_firmware(board: Board, model: Path, runtime: str, reporter: Reporter,
                           tflm_dir: Path | None = None) -> Path:
    """The `profile` app for (board, model, runtime), built once per model hash."""
    from .build import build_project

    sha = load_model(model).sha256[:16]
    out = cache_dir() / f"{board.name}-{runtime}-{sha}"
    reporter.step(f"building the profile firmware for {board.name} ({runtime}) in {out}")
    return Path(build_project(board, model, out, app=APP, runtime=runtime, tflm_dir=tflm_dir,
                              reporter=reporter).elf)


def clear(device: Device) -> None:
    _request(device, CMD_PROFILE_CLEAR, b"")


def read(device: Device) -> tuple[int, list[tuple[int, int, int]]]:
    """(invokes, [(op, calls, cost total)]) since the last clear."""
    rows: list[tuple[int, int, int]] = []
    total, invokes = 1, 0
    while len(rows) < total:
        p = _request(device, CMD_PROFILE_READ, struct.pack("<H", len(rows)))
        total, n, invokes = _HEAD.unpack_from(p)
        if n == 0 and len(rows) < total:
            raise ProtocolError(f"PROFILE_READ returned no rows from row {len(rows)} of {total}")
        rows += [(op, calls, cost) for op, _, calls, cost in
                 (_ROW.unpack_from(p, _HEAD.size + i * _ROW.size) for i in range(n))]
    return invokes, rows


def _request(device: Device, cmd: int, payload: bytes) -> bytes:
    reply = device.link.request(cmd, payload)
    if reply.status != 0:
        raise ProtocolError(f"the firmware answered profile command 0x{cmd:02x} with status {reply.status}",
                            hint="flash the `profile` app (tinygen profile builds it for the emulated board)")
    return reply.payload


def named(model: ModelInfo, invokes: int, rows: list[tuple[int, int, int]]) -> tuple[OpCost, ...]:
    """Rows as per-inference costs named after the model's ops (main subgraph)."""
    ops = model.main.operators
    out = []
    for index, calls, cost in rows:
        if index >= len(ops):
            raise ProtocolError(f"the device profiled op {index}; {model.path.name} has {len(ops)} ops",
                                hint="the firmware was built for another model")
        out.append(OpCost(index, ops[index].op, calls, cost / max(invokes, 1), op_macs(model.main, ops[index])))
    return tuple(out)


def run_profile(board: str | Board, model_path: Path, arrays: list[list[np.ndarray]], reporter: Reporter,
                runtime: str = "aot", elf: Path | None = None, port: str | None = None,
                tflm_dir: Path | None = None, link: LinkConfig | None = None) -> ProfileResult:
    """Build (emulated board) or use the profile firmware, run every input, read the per-op totals."""
    from .verify.session import open_device

    board = get_board(board) if isinstance(board, str) else board
    model = load_model(model_path)
    if not arrays:
        raise UsageError("nothing to profile", hint="pass --random N or --inputs")
    if board.emulated and elf is None:
        elf = build_profile_firmware(board, model_path, runtime, reporter, tflm_dir)
    config = replace(link or LinkConfig(), baudrate=board.serial_baud)
    with open_device(board, elf=elf, port=port, config=config) as conn:
        dev = conn.device
        if dev.info is not None and dev.info.app != APP:
            raise UsageError(f"the firmware on {board.name} is the '{dev.info.app}' app, not '{APP}'",
                             hint=f"flash the profile app: tinygen build --board {board.name} --model "
                                  f"{model_path.name} --app profile")
        clear(dev)
        whole = 0
        for i, xs in enumerate(arrays):
            _, res = dev.run(xs)
            if res.status != 0:
                raise ProtocolError(f"invoke {i} failed with tg_status {res.status}")
            whole += res.cost
        invokes, rows = read(dev)
        unit = dev.info.cost_unit if dev.info else "cycles"
        used_runtime = dev.info.runtime if dev.info else runtime
    if invokes != len(arrays):
        raise ProtocolError(f"the device profiled {invokes} inferences, {len(arrays)} ran")
    return ProfileResult(board.name, str(model_path), used_runtime, unit, invokes, whole / invokes,
                         named(model, invokes, rows))


def write_png(result: ProfileResult, path: Path) -> Path:
    """A horizontal bar chart of the cost per op (needs matplotlib: `pip install tinygen[profile]`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ToolMissingError("the bar chart needs matplotlib",
                               hint="pip install 'tinygen[profile]' (the table and --json work without it)") from exc
    labels = [f"{o.index}: {o.op}" for o in result.ops]
    values = [o.cost for o in result.ops]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.2))
    ax.barh(range(len(values)), values, color="#3b6ea8")
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{result.unit} per inference")
    ax.set_title(f"{Path(result.model).name} on {result.board} ({result.runtime}): "
                 f"{result.whole:,.0f} {result.unit} per inference", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path
