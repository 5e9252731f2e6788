"""Data for `tinygen quantize`: calibration samples and labelled sets, checked against the model.

No TensorFlow here: arrays are read with numpy and checked against the shapes the Keras model
declares, so bad data fails in one line before any conversion or training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True)
class Labelled:
    """`x` float32 [N, ...] and integer class labels `y` [N] from an .npz file."""

    path: Path
    x: np.ndarray
    y: np.ndarray


def load_calibration(path: Path) -> np.ndarray:
    """Calibration samples as float32 [N, ...]: a .npy file, an .npz with `x`, or a directory of .npy samples."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"calibration data {path}: no such file or directory",
                         hint="pass representative inputs: .npy [N, ...], .npz with x, or a directory of .npy files")
    try:
        if path.is_dir():
            files = sorted(path.glob("*.npy"))
            if not files:
                raise UsageError(f"calibration directory {path} holds no .npy files", hint="one .npy per sample")
            data = np.stack([np.load(f) for f in files])
        elif path.suffix == ".npz":
            data = _npz_arrays(path, ("x",))["x"]
        else:
            data = np.load(path)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot read calibration data {path}: {exc}", hint="write it with numpy.save") from exc
    if not isinstance(data, np.ndarray) or data.ndim < 2 or len(data) == 0:
        shape = getattr(data, "shape", "not an array")
        raise UsageError(f"calibration data {path} must be [N, ...] with N >= 1 samples, got shape {shape}",
                         hint="stack the samples along a first (batch) axis")
    return data.astype(np.float32)


def _npz_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [n for n in names if n not in npz.files]
            if missing:
                raise UsageError(f"{path}: no array {', '.join(repr(n) for n in missing)} (has {sorted(npz.files)})",
                                 hint="save it with numpy.savez(PATH, x=inputs, y=integer_labels)")
            return {n: npz[n] for n in names}
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint="expected an .npz written by numpy.savez") from exc


def load_labelled(path: Path, what: str) -> Labelled:
    """An .npz with `x` [N, ...] and integer labels `y` [N] (`what` names it in errors: "--train")."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{what} {path}: no such file", hint="an .npz with arrays x and y (numpy.savez)")
    arrays = _npz_arrays(path, ("x", "y"))
    x, y = arrays["x"], arrays["y"]
    if x.ndim < 2 or len(x) == 0:
        raise UsageError(f"{what} {path}: x must be [N, ...] with N >= 1 samples, got shape {x.shape}",
                         hint="stack the samples along a first (batch) axis")
    if y.ndim != 1 or len(y) != len(x):
        raise UsageError(f"{what} {path}: y must be one label per sample, shape [{len(x)}], got {y.shape}",
                         hint="y holds integer class indices, one per row of x")
    integral = np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating) and bool(np.all(np.isfinite(y))) and bool(np.all(y == np.round(y))))
    if not integral:
        raise UsageError(f"{what} {path}: y must hold integer class indices, got dtype {y.dtype}",
                         hint="for one-hot labels pass y=labels.argmax(axis=1)")
    return Labelled(path, x.astype(np.float32), y.astype(np.int64))


def check_shape(data: np.ndarray, model_shape: tuple[int | None, ...], what: str) -> None:
    """`data` [N, ...] must match the model input (batch dimension and unknown dimensions aside)."""
    want = tuple(model_shape[1:])
    got = tuple(data.shape[1:])
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        shown = "[N, " + ", ".join("?" if w is None else str(w) for w in want) + "]"
        raise UsageError(f"{what}: samples have shape {list(data.shape)}, the model's input is {shown}",
                         hint="reshape the data to the model's input (channels last, batch first)")


def check_labels(y: np.ndarray, classes: int, what: str) -> None:
    """Labels must index the model's output classes."""
    bad = (y < 0) | (y >= classes)
    if np.any(bad):
        first = int(y[np.argmax(bad)])
        raise UsageError(f"{what}: label {first} is outside the model's {classes} output classes (0..{classes - 1})",
                         hint="labels are class indices into the model's last output dimension")
