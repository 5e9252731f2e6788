"""Accuracy and agreement of a quantized model, run through TFLM's interpreter (what the device runs).

The float model's outputs come from Keras; the quantized model's from `tinygen.reference` (PyPI
tflite-micro): inputs quantized with the model's input scale, outputs dequantized with each output's
scale. Agreement is per output tensor; accuracy compares the first output's argmax with labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..reference import Reference


@dataclass(frozen=True)
class OutputAgreement:
    index: int
    top1_agreement: float | None  # argmax equal to the float model's (last dim > 1 only)
    max_abs_error: float
    rmse: float
    cosine: float

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "top1_agreement": self.top1_agreement,
                "max_abs_error": self.max_abs_error, "rmse": self.rmse, "cosine": self.cosine}


@dataclass(frozen=True)
class Evaluation:
    samples: int
    accuracy: float | None                 # None without labels
    outputs: tuple[OutputAgreement, ...]   # quantized vs float, per output

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "accuracy": self.accuracy,
                "outputs": [o.to_json() for o in self.outputs]}


def run_tflm(flatbuffer: bytes, x: np.ndarray) -> list[np.ndarray]:
    """Every output of the quantized model, dequantized, stacked over the samples of `x`."""
    ref = Reference.from_bytes(flatbuffer)
    rows: list[list[np.ndarray]] = []
    for sample in x:
        got = ref.run(ref.inputs[0].quantize(sample[None, ...]))
        rows.append([spec.dequantize(g).reshape(-1) for spec, g in zip(ref.outputs, got)])
    return [np.stack([r[i] for r in rows]) for i in range(len(ref.outputs))]


def accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(scores.reshape(len(y), -1).argmax(axis=1) == y))


def agreement(index: int, quant: np.ndarray, flt: np.ndarray) -> OutputAgreement:
    q, f = quant.reshape(len(quant), -1).astype(np.float64), flt.reshape(len(flt), -1).astype(np.float64)
    err = q - f
    cos = float(np.dot(q.ravel(), f.ravel()) / (np.linalg.norm(q) * np.linalg.norm(f) + 1e-12))
    top1 = float(np.mean(q.argmax(axis=1) == f.argmax(axis=1))) if q.shape[1] > 1 else None
    return OutputAgreement(index, top1, float(np.abs(err).max()), float(np.sqrt(np.mean(err**2))), cos)


def evaluate(flatbuffer: bytes, x: np.ndarray, float_outputs: list[np.ndarray], y: np.ndarray | None) -> Evaluation:
    """Quantized model on `x` through TFLM vs the float model's outputs (and the labels `y`)."""
    quant = run_tflm(flatbuffer, x)
    outs = tuple(agreement(i, q, f) for i, (q, f) in enumerate(zip(quant, float_outputs)))
    return Evaluation(len(x), None if y is None else accuracy(quant[0], y), outs)
