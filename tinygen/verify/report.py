"""verify results as a JSON document (schema tinygen.verify v1) and as JUnit XML (one testcase per
input, so CI shows exactly which inputs ran, passed, failed or never ran)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..codegen.output import write_files
from ..report import json_document
from .runner import VerifyResult


def result_dict(r: VerifyResult) -> dict[str, Any]:
    return {
        "ok": r.ok, "model": r.model, "model_sha256": r.model_sha256, "device": r.device, "reference": r.reference,
        "tolerance": r.tolerance, "planned": r.planned, "completed": r.completed, "mismatches": r.mismatches,
        "error": r.error,
        "outputs": [s.as_dict() for s in r.outputs],
        "performance": {"cost_per_inference": r.cost_per_inference, "cost_unit": r.device.get("cost_unit"),
                        "arena_size": r.device.get("arena_size"), "arena_used": r.device.get("arena_used"),
                        "stack_used": r.stack_used, "stack_size": r.device.get("stack_size"),
                        "seconds": r.seconds, "inferences_per_second": r.inferences_per_second,
                        "bytes_on_wire": r.bytes_moved, "tensor_bytes": r.payload_bytes,
                        "tensor_bytes_per_second": r.payload_bytes / r.seconds if r.seconds else 0.0,
                        "transfer_bytes_per_second": _transfer_rate(r),
                        "link_utilisation": _utilisation(r)},
        "link": r.link,
        "inputs": [{"index": c.index, "name": c.name, "ok": c.ok, "cost": c.cost, "micros": c.micros} for c in r.cases],
    }


def junit_xml(r: VerifyResult, all_names: list[str]) -> str:
    suite = ET.Element("testsuite", name=f"tinygen.verify.{Path(r.model).stem}", tests=str(r.planned),
                       failures=str(r.mismatches), errors=str(0 if r.error is None else r.planned - r.completed),
                       time=f"{r.seconds:.3f}")
    done = {c.name: c for c in r.cases}
    for name in all_names:
        tc = ET.SubElement(suite, "testcase", classname=Path(r.model).name, name=name)
        c = done.get(name)
        if c is None:
            ET.SubElement(tc, "error", message=r.error or "not run").text = "input did not complete: the run stopped"
        elif not c.ok:
            bad = [s.name for s in r.outputs if name in s.mismatched_inputs]
            ET.SubElement(tc, "failure", message=f"outputs differ from the reference: {', '.join(bad)}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(r: VerifyResult, all_names: list[str], json_path: Path | None, junit_path: Path | None) -> None:
    """Write the requested report files atomically."""
    for path, text in ((json_path, json_document("verify", result_dict(r)) + "\n" if json_path else None),
                       (junit_path, junit_xml(r, all_names) if junit_path else None)):
        if path is not None and text is not None:
            path = Path(path)
            write_files(path.parent if str(path.parent) else Path("."), {path.name: text})


def _transfer_rate(r: VerifyResult) -> float:
    """Tensor bytes per second of upload + download time (device compute excluded): compare with
    the link's own rate (`--measure-link`)."""
    t = r.link.get("seconds", {})
    moving = t.get("upload", 0.0) + t.get("download", 0.0)
    return r.payload_bytes / moving if moving else 0.0


def _utilisation(r: VerifyResult) -> float | None:
    """Time the measured link needs for the tensor bytes / time verify spent moving them (<= ~1)."""
    bw = r.link.get("bandwidth_bytes_per_second")
    t = r.link.get("seconds", {})
    moving = t.get("upload", 0.0) + t.get("download", 0.0)
    if not bw or not moving:
        return None
    ideal = r.bytes_up / bw["host_to_device"] + r.bytes_down / bw["device_to_host"]
    return float(ideal / moving)
