"""The verify loop: the same inputs, in the same order, through the device and the reference.

Both start from a reset state (RESET on the device, `reset()` on the reference) so streaming models
see identical histories. The device's invoke counter must equal the number of inputs sent: an input
lost or run twice is an error, never a silent miscount. A device failure mid-run (timeout, reboot,
emulator exit) ends the run; the result keeps exactly the inputs that completed and the error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import DeviceError, UsageError
from ..link import Device
from ..reference import Reference
from ..report import Reporter, silent
from .compare import OutputStats, compare_outputs
from .inputs import InputCase


@dataclass(frozen=True)
class CaseRecord:
    index: int
    name: str
    ok: bool
    cost: int
    micros: int


@dataclass
class VerifyResult:
    model: str
    model_sha256: str
    device: dict[str, Any]
    planned: int
    tolerance: int
    outputs: list[OutputStats]
    cases: list[CaseRecord] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    bytes_moved: int = 0
    payload_bytes: int = 0
    bytes_up: int = 0      # tensor bytes host -> device
    bytes_down: int = 0    # tensor bytes device -> host
    stack_used: int | None = None
    link: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, str] = field(default_factory=dict)  # kind ("wheel" | "tflm-tree") and label

    @property
    def completed(self) -> int:
        return len(self.cases)

    @property
    def mismatches(self) -> int:
        return sum(not c.ok for c in self.cases)

    @property
    def ok(self) -> bool:
        return self.error is None and self.completed == self.planned and self.mismatches == 0

    @property
    def cost_per_inference(self) -> float:
        return float(np.mean([c.cost for c in self.cases])) if self.cases else 0.0

    @property
    def inferences_per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


def check_same_model(device: Device, reference: Reference, model_sha256: str) -> None:
    """The device must run this model: same hash, same tensor types, shapes and quantization."""
    info = device.info
    assert info is not None
    if info.model_sha256 and info.model_sha256 != model_sha256:
        raise UsageError(f"the device runs another model (sha256 {info.model_sha256[:16]}, expected {model_sha256[:16]})",
                         hint="rebuild and flash the HIL firmware for this model")
    for kind, dev, ref in (("input", device.inputs, reference.inputs), ("output", device.outputs, reference.outputs)):
        if len(dev) != len(ref):
            raise UsageError(f"the device has {len(dev)} {kind}s, the model {len(ref)}")
        for i, (d, r) in enumerate(zip(dev, ref)):
            if d.dtype != r.dtype or int(np.prod(d.shape)) != int(np.prod(r.shape)):
                raise UsageError(f"{kind} {i}: device {d.dtype}{list(d.shape)} vs model {r.dtype}{list(r.shape)}")


def run_cases(device: Device, reference: Reference, cases: Sequence[InputCase], model: str, model_sha256: str,
              tolerance: int = 0, reporter: Reporter | None = None) -> VerifyResult:
    reporter = reporter or silent()
    info = device.info
    if info is None:
        raise UsageError("device is not connected (call Device.connect first)")
    check_same_model(device, reference, model_sha256)
    stats = [OutputStats(t.name, t.zero_point) for t in device.outputs]
    result = VerifyResult(model=model, model_sha256=model_sha256, device=_device_dict(device), planned=len(cases),
                          tolerance=tolerance, outputs=stats,
                          reference={"kind": reference.kind, "label": reference.label})
    transport = device.link.transport
    device.timing = {k: 0.0 for k in device.timing}
    bytes0 = transport.bytes_in + transport.bytes_out
    t0 = time.monotonic()
    step = max(1, len(cases) // 10)
    try:
        device.reset()
        reference.reset()
        for i, case in enumerate(cases):
            want: list[np.ndarray] = []

            def reference_run(w: list[np.ndarray] = want, a: tuple[np.ndarray, ...] = case.arrays) -> None:
                w.extend(reference.run(*a))   # on the host while the device computes

            got, inv = device.run(list(case.arrays), meanwhile=reference_run)
            if inv.invoke_count != i + 1:
                raise DeviceError(f"device counted {inv.invoke_count} inferences after input {i + 1} ({case.name})",
                                  hint="an input was lost or run twice: the device may have reset")
            ok = compare_outputs(stats, case.name, got, want, tolerance)
            result.cases.append(CaseRecord(i, case.name, ok, inv.cost, inv.micros))
            result.bytes_up += sum(a.nbytes for a in case.arrays)
            result.bytes_down += sum(g.nbytes for g in got)
            result.payload_bytes = result.bytes_up + result.bytes_down
            if (i + 1) % step == 0 or not ok:
                reporter.info(f"  {i + 1}/{len(cases)} {case.name}: {'ok' if ok else 'MISMATCH'}")
        result.stack_used = device.stats().stack_used
    except DeviceError as exc:
        done = ", ".join(c.name for c in result.cases[-3:])
        result.error = exc.message
        reporter.warn(f"device failed after {result.completed} of {len(cases)} inputs"
                      f"{' (last: ' + done + ')' if done else ''}: {exc.message}")
    result.seconds = time.monotonic() - t0
    result.bytes_moved = transport.bytes_in + transport.bytes_out - bytes0
    result.link["seconds"] = dict(device.timing)
    c = device.link.counters
    result.link.update({"requests": c.requests, "resends": c.resends, "bad_frames": c.bad_frames, "naks": c.naks,
                        "stale_replies": c.stale_replies})
    return result


def _device_dict(device: Device) -> dict[str, Any]:
    info = device.info
    assert info is not None
    return {"board": info.board, "runtime": info.runtime, "app": info.app, "model_sha256": info.model_sha256,
            "protocol_version": info.protocol_version, "max_payload": info.max_payload,
            "arena_size": info.arena_size, "arena_used": info.arena_used, "stack_size": info.stack_size,
            "cost_unit": info.cost_unit}
