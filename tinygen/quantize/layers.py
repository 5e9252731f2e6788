"""Per-layer quantization error with TensorFlow's QuantizationDebugger.

The debugger instruments the int8-quantized model with NumericVerify ops: every quantized op runs
beside its float twin on the same (dequantized) input, so each tensor's error is that layer's own,
not the sum of the layers before it. For each quantized tensor it gives the RMSE in units of the
tensor's scale (0.29 is pure rounding noise: sqrt(1/12)) and the cosine between the dequantized and
float values; the most sensitive layers (largest RMSE/scale) come first.

TensorFlow's debugger instruments int8 quantization only (its int16x8 path is a different
quantizer without NumericVerify), so the report always shows the int8 view: where 8-bit activations
lose accuracy, which is what 16-bit activations or QAT win back.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError, UsageError
from .keras import EXTRA_HINT, quiet_stdout
from .ptq import converter


@dataclass(frozen=True)
class LayerError:
    tensor: str          # the quantized tensor's name in the model
    op: str              # the op that produces it
    elements: int
    scale: float
    zero_point: int
    rmse_scale: float    # sqrt(mean squared error) / scale
    cosine: float        # dequantized vs float values, over the debug samples
    max_abs_error: float

    @property
    def short_name(self) -> str:
        return self.tensor.split(";")[0]

    def to_json(self) -> dict[str, Any]:
        return {"tensor": self.tensor, "op": self.op, "elements": self.elements, "scale": self.scale,
                "zero_point": self.zero_point, "rmse_scale": self.rmse_scale, "cosine": self.cosine,
                "max_abs_error": self.max_abs_error}


def _cosine(float_tensors: list[np.ndarray], quant_tensors: list[np.ndarray], scale: float, zero_point: int) -> float:
    f = np.concatenate([np.asarray(t, dtype=np.float64).ravel() for t in float_tensors])
    q = np.concatenate([(np.asarray(t, dtype=np.float64).ravel() - zero_point) * scale for t in quant_tensors])
    denom = float(np.linalg.norm(f) * np.linalg.norm(q))
    return float(np.dot(f, q) / denom) if denom > 0 else 1.0


def layer_errors(tf: Any, model: Any, calibration: np.ndarray, samples: np.ndarray) -> list[LayerError]:
    """Per quantized tensor of the int8 model, most sensitive first (debugger run on `samples`)."""
    conv = converter(tf, model, calibration, "int8", integer_io=False)

    def dataset() -> Iterator[list[np.ndarray]]:
        for s in samples:
            yield [s[None, ...]]

    options = tf.lite.experimental.QuantizationDebugOptions(layer_direct_compare_metrics={"cosine": _cosine})
    try:
        with quiet_stdout():
            debugger = tf.lite.experimental.QuantizationDebugger(converter=conv, debug_dataset=dataset,
                                                                 debug_options=options)
            debugger.run()
    except (ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"TensorFlow's quantization debugger failed on this model: {first}",
                         hint="leave out --report/--png; the quantized model itself is not affected") from exc
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    return parse_dump(buf.getvalue())


def parse_dump(csv_text: str) -> list[LayerError]:
    """The debugger's CSV dump (one row per NumericVerify op) -> LayerErrors, most sensitive first."""
    import csv

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    layers = []
    for r in rows:
        scale = float(r["scale"])
        rmse = float(np.sqrt(float(r["mean_squared_error"])))
        layers.append(LayerError(tensor=r["tensor_name"], op=r["op_name"], elements=int(float(r["num_elements"])),
                                 scale=scale, zero_point=int(r["zero_point"]),
                                 rmse_scale=rmse / scale if scale > 0 else float("inf"),
                                 cosine=float(r["cosine"]), max_abs_error=float(r["max_abs_error"])))
    return sorted(layers, key=lambda e: e.rmse_scale, reverse=True)


def table(layers: list[LayerError]) -> list[str]:
    """The report as text lines (what goes to stderr)."""
    width = max([len("tensor")] + [min(len(e.short_name), 48) for e in layers])
    lines = [f"{'tensor':<{width}}  {'op':<18} {'RMSE/scale':>10} {'cosine':>9} {'scale':>10}"]
    for e in layers:
        lines.append(f"{e.short_name[:48]:<{width}}  {e.op:<18} {e.rmse_scale:>10.3f} {e.cosine:>9.5f} {e.scale:>10.4g}")
    return lines


def bar_chart_png(layers: list[LayerError], title: str) -> bytes:
    """A horizontal bar chart of RMSE/scale per tensor, most sensitive on top."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError("--png needs matplotlib (part of the `quantize` extra)", hint=EXTRA_HINT) from exc
    names = [f"{e.short_name[:40]} ({e.op})" for e in layers]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.32 * max(len(layers), 1)))
    ax.barh(range(len(layers)), [e.rmse_scale for e in layers], color="#3b528b")
    ax.set_yticks(range(len(layers)), names, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(float(np.sqrt(1 / 12)), color="#5ec962", linestyle="--", linewidth=1, label="rounding noise only")
    ax.set_xlabel("RMSE in units of the tensor's scale (int8, per layer)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return out.getvalue()
