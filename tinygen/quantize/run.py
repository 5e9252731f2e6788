"""The `tinygen quantize` pipeline: check everything, quantize, evaluate, then write all outputs at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..codegen.output import check_writable, write_files
from ..errors import ModelError, UsageError
from ..model import check_deployable, classify_quantization, parse_model
from ..report import Reporter, json_document, silent
from . import data as qdata
from .cost import Cost, estimate
from .evaluate import Evaluation, accuracy, evaluate
from .layers import LayerError, bar_chart_png, layer_errors
from .ptq import ACTIVATIONS, KIND, ptq
from .qat import TrainOptions, train_qat

DEBUG_SAMPLES = 128  # samples the per-layer debugger runs (its cost grows with every quantized tensor)


@dataclass(frozen=True)
class Request:
    source: Path
    calibration: Path
    output: Path
    activations: str = "int8"
    qat: bool = False
    train: Path | None = None
    train_options: TrainOptions = field(default_factory=TrainOptions)
    eval: Path | None = None
    report: Path | None = None
    png: Path | None = None
    variants_dir: Path | None = None  # also write every compared model there
    measure: bool = True  # instructions per inference on the emulated Cortex-M4 (with --eval)


@dataclass(frozen=True)
class Variant:
    """One quantized model that was built: the written one, or a comparison."""

    name: str            # "int8 PTQ", "int8 QAT", "int16x8 PTQ"
    kind: str            # full-int8 | int16x8
    method: str          # ptq | qat
    written: bool
    flatbuffer: bytes
    evaluation: Evaluation
    cost: Cost | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "method": self.method, "written": self.written,
                "bytes": len(self.flatbuffer), **self.evaluation.to_json(),
                "cost": None if self.cost is None else self.cost.to_json()}


@dataclass(frozen=True)
class QuantizeResult:
    output: Path
    kind: str
    bytes: int
    samples: int                     # calibration samples
    agreement_on: str                # "eval" or "calibration"
    float_accuracy: float | None
    variants: tuple[Variant, ...]    # the written model first
    layers: tuple[LayerError, ...]   # per-layer report (empty unless --report/--png)
    written: tuple[Path, ...]

    @property
    def model(self) -> Variant:
        return self.variants[0]

    def to_json(self) -> dict[str, Any]:
        first = self.model.evaluation.outputs[0]
        return {"output": str(self.output), "kind": self.kind, "bytes": self.bytes, "samples": self.samples,
                "top1_agreement": first.top1_agreement, "max_abs_error": first.max_abs_error,
                "rmse": first.rmse, "cosine": first.cosine, "agreement_on": self.agreement_on,
                "float_accuracy": self.float_accuracy, "variants": [v.to_json() for v in self.variants],
                "layers": [e.to_json() for e in self.layers], "written": [str(p) for p in self.written]}


def _check_request(req: Request) -> None:
    if req.activations not in ACTIVATIONS:
        raise UsageError(f"--activations {req.activations}: expected one of {', '.join(ACTIVATIONS)}",
                         hint="int8 for full-int8, int16 for int16x8")
    if req.qat and req.train is None:
        raise UsageError("--qat needs --train TRAIN.npz (arrays x and y)",
                         hint="numpy.savez('train.npz', x=inputs, y=integer_labels)")
    if req.train is not None and not req.qat:
        raise UsageError("--train is only used with --qat", hint="add --qat, or leave out --train for PTQ")
    if req.qat and req.activations == "int16":
        raise UsageError("--qat trains 8-bit activations (tfmot's default scheme); it cannot produce int16x8",
                         hint="use --activations int16 without --qat (PTQ), or --qat for full-int8")
    if req.train_options.epochs < 1 or not req.train_options.learning_rate > 0:
        raise UsageError("--epochs must be >= 1 and --learning-rate > 0", hint="e.g. --epochs 3 --learning-rate 1e-4")
    if req.png is not None and req.png.suffix.lower() != ".png":
        raise UsageError(f"--png {req.png}: expected a .png file name", hint="e.g. --png layers.png")
    if req.variants_dir is not None and req.eval is None and not req.qat:
        raise UsageError("--variants writes the compared models: it needs --eval or --qat",
                         hint="add --eval EVAL.npz")
    outs = [p for p in (req.output, req.report, req.png) if p is not None]
    if len({p.resolve() for p in outs}) != len(outs):
        raise UsageError("-o, --report and --png must be different files", hint="give each its own path")
    for p in outs:
        check_writable(p.parent if str(p.parent) else Path("."))
    if req.variants_dir is not None:
        check_writable(req.variants_dir)


def _float_outputs(model: Any, x: np.ndarray) -> list[np.ndarray]:
    from .keras import quiet_stdout

    with quiet_stdout():
        out = model.predict(x, batch_size=256, verbose=0)
    return [np.asarray(o, dtype=np.float32) for o in (out if isinstance(out, (list, tuple)) else [out])]


def quantize(req: Request, reporter: Reporter | None = None) -> QuantizeResult:
    """Quantize `req.source` as asked; raise before writing anything if any stage fails."""
    reporter = reporter or silent()
    _check_request(req)
    from .keras import import_tf, load_float_model, require_extra

    require_extra(req.qat)
    calibration = qdata.load_calibration(req.calibration)
    train = qdata.load_labelled(req.train, "--train") if req.train else None
    held_out = qdata.load_labelled(req.eval, "--eval") if req.eval else None

    reporter.step("importing TensorFlow")
    tf = import_tf()
    reporter.step(f"loading {req.source}")
    model = load_float_model(req.source, for_qat=req.qat)
    if len(model.inputs) != 1:
        raise UsageError(f"{req.source}: {len(model.inputs)} inputs; tinygen quantize handles single-input models",
                         hint="convert multi-input models with TensorFlow's converter directly")
    in_shape = tuple(model.inputs[0].shape)
    classes = int(model.outputs[0].shape[-1] or 0)
    qdata.check_shape(calibration, in_shape, f"--calibration {req.calibration}")
    for what, d in (("--train", train), ("--eval", held_out)):
        if d is not None:
            qdata.check_shape(d.x, in_shape, f"{what} {d.path}")
            qdata.check_labels(d.y, classes, f"{what} {d.path}")

    what = str(req.source)
    reporter.step(f"post-training quantization to {KIND[req.activations]} with {len(calibration)} calibration samples")
    built: list[tuple[str, str, str, bytes]] = [(f"{_short(req.activations)} PTQ", KIND[req.activations], "ptq",
                                                 ptq(tf, model, calibration, req.activations, what))]
    if req.qat:
        assert train is not None
        from .ptq import convert, converter

        q_model = train_qat(model, train, req.train_options, reporter)
        reporter.step("converting the quantization-aware model to full-int8")
        qat_fb = convert(converter(tf, q_model, calibration, "int8"), f"the QAT model of {what} to full-int8")
        built.insert(0, ("int8 QAT", "full-int8", "qat", qat_fb))
    if held_out is not None:
        other = "int16" if req.activations == "int8" else "int8"
        reporter.step(f"post-training quantization to {KIND[other]} for comparison")
        built.append((f"{_short(other)} PTQ", KIND[other], "ptq", ptq(tf, model, calibration, other, what)))

    name, kind, method, flatbuffer = built[0]
    info = parse_model(flatbuffer, req.output)
    got = classify_quantization(info).kind
    if got != kind:
        raise ModelError(f"TensorFlow produced a {got} model, not {kind}: {classify_quantization(info).reason}")
    check_deployable(info)

    x_eval = held_out.x if held_out is not None else calibration
    y_eval = held_out.y if held_out is not None else None
    reporter.step(f"running the float model and {len(built)} quantized model(s) through TFLM on {len(x_eval)} samples")
    float_out = _float_outputs(model, x_eval)
    variants = []
    for i, (name, kind, method, fb) in enumerate(built):
        cost = None
        if held_out is not None:
            reporter.step(f"cost of the {name} model (arena, AOT RAM/flash"
                          + (", instructions on the emulated Cortex-M4)" if req.measure else ")"))
            cost = estimate(fb, x_eval[0], measure=req.measure)
        variants.append(Variant(name, kind, method, i == 0, fb, evaluate(fb, x_eval, float_out, y_eval), cost))

    layers: list[LayerError] = []
    if req.report is not None or req.png is not None:
        reporter.step("per-layer error with TensorFlow's quantization debugger")
        layers = layer_errors(tf, model, calibration, calibration[:DEBUG_SAMPLES])

    result = QuantizeResult(
        output=req.output, kind=variants[0].kind, bytes=len(flatbuffer), samples=len(calibration),
        agreement_on="eval" if held_out is not None else "calibration",
        float_accuracy=None if y_eval is None else accuracy(float_out[0], y_eval),
        variants=tuple(variants), layers=tuple(layers), written=())
    files: dict[Path, bytes] = {req.output: flatbuffer}
    if req.report is not None:
        files[req.report] = (json_document("quantize.layers", _report_payload(result, req)) + "\n").encode()
    if req.png is not None:
        files[req.png] = bar_chart_png(layers, f"{req.source.name}: per-layer int8 quantization error")
    if req.variants_dir is not None:
        for v in variants[1:]:
            files[req.variants_dir / variant_file_name(req.output, v)] = v.flatbuffer
    written = _write_all(files)
    return QuantizeResult(**{**result.__dict__, "written": tuple(written)})


def variant_file_name(output: Path, v: Variant) -> str:
    """OUT.tflite -> OUT.int8-ptq.tflite, OUT.int16x8-ptq.tflite, OUT.int8-qat.tflite."""
    return f"{output.stem}.{v.name.replace(' ', '-').lower()}{output.suffix or '.tflite'}"


def _short(activations: str) -> str:
    return "int8" if activations == "int8" else "int16x8"


def _report_payload(result: QuantizeResult, req: Request) -> dict[str, Any]:
    return {"model": str(req.source), "output": str(req.output), "quantization": "int8 (per-layer, debugger)",
            "debug_samples": min(result.samples, DEBUG_SAMPLES),
            "metric": "rmse_scale = sqrt(mean squared error) / scale; 0.289 is rounding noise alone",
            "layers": [e.to_json() for e in result.layers]}


def _write_all(files: dict[Path, bytes]) -> list[Path]:
    by_dir: dict[Path, dict[str, str | bytes]] = {}
    for path, content in files.items():
        by_dir.setdefault(path.parent, {})[path.name] = content
    written: list[Path] = []
    for directory, group in by_dir.items():
        write_files(directory, group)
        written += [directory / n for n in group]
    return written
