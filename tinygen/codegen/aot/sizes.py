"""RAM and flash the AOT runtime needs for a model, without compiling anything.

RAM is exact (the static plan). Flash is the constant data (weights, requantization tables,
parameter blocks, estimated for a 32-bit target) plus kernel code sizes measured once with
arm-none-eabi-gcc 12 -O2 for Cortex-M4 and a small cost per op call. `bench/` measures the real
firmware.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...model import ModelInfo

# text bytes of each kernel file (arm-none-eabi-gcc 12.2 -O2 -mcpu=cortex-m4, DSP path)
KERNEL_CODE_BYTES: dict[str, int] = {
    "tg_aot_conv.c": 2116, "tg_aot_data.c": 504, "tg_aot_dot.c": 116, "tg_aot_dwconv.c": 2132,
    "tg_aot_elementwise.c": 1424, "tg_aot_fc.c": 44, "tg_aot_fixedpoint.c": 812,
    "tg_aot_logistic.c": 232, "tg_aot_matmul.c": 1656, "tg_aot_pool.c": 856, "tg_aot_softmax.c": 452,
    "tg_intops.c": 1552, "tg_sig_filterbank.c": 768, "tg_sig_log_pcan.c": 648, "tg_sig_rfft.c": 1056,
    "tg_sig_spectrum.c": 312,
    "tg_aot_rows.c": 1212, "tg_aot_rows_conv.c": 72, "tg_aot_rows_dwconv.c": 68, "tg_aot_rows_add.c": 100,
}
DEFAULT_KERNEL_BYTES = 1500
BYTES_PER_OP_CALL = 16
RUNTIME_GLUE_BYTES = 600  # init/reset/invoke, tg_runtime.h glue, I/O tables


@dataclass(frozen=True)
class AotSizes:
    arena: int        # activation arena incl. per-op scratch
    persistent: int   # resource variables + kernel state
    const: int        # weights, tables and parameter blocks (flash data)
    code: int         # kernel code + op calls (flash, estimated)

    @property
    def ram(self) -> int:
        return self.arena + self.persistent

    @property
    def flash(self) -> int:
        return self.const + self.code

    def to_json(self) -> dict[str, int]:
        return {"arena": self.arena, "persistent": self.persistent, "ram": self.ram,
                "flash_const": self.const, "flash_code_estimate": self.code, "flash": self.flash}


def sizes(model: ModelInfo, name: str = "model") -> AotSizes:
    """Plan the model and add up what it needs (raises UnsupportedOpError like `generate`)."""
    from .generator import build

    m = build(model, name)
    ops = sum(len(sg.operators) for sg in model.subgraphs)
    code = sum(KERNEL_CODE_BYTES.get(Path(s).name, DEFAULT_KERNEL_BYTES) for s in m.sources)
    return AotSizes(m.arena_bytes, m.persistent_bytes, m.const_bytes,
                    code + BYTES_PER_OP_CALL * ops + RUNTIME_GLUE_BYTES)
