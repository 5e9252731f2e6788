"""Inputs for `verify`, as an ordered list of named cases (the order matters for streaming models).

Sources: `--random N` (seeded, uniform over each input's integer range); a `.npz` file (one case per
array for single-input models, or keys `NAME` / `NAME:INDEX` ... see docs/verify.md); a directory of
`.npy` / `.npz` / `.bin` / `.wav` files (sorted by name); `.wav` files (through the host audio
frontend into features: one window per clip for micro_speech-like models, consecutive chunks of
frames for streaming models).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import UsageError
from ..reference import IOSpec

FEATURE_CHANNELS = 40


@dataclass(frozen=True)
class InputCase:
    name: str
    arrays: tuple[np.ndarray, ...]


def random_inputs(specs: Sequence[IOSpec], count: int, seed: int = 0) -> list[InputCase]:
    rng = np.random.default_rng(seed)
    return [InputCase(f"random-{i:04d}", tuple(s.random(rng) for s in specs)) for i in range(count)]


def _fit(a: np.ndarray, spec: IOSpec, where: str) -> np.ndarray:
    a = np.asarray(a)
    if a.size != int(np.prod(spec.shape)):
        raise UsageError(f"{where}: {a.size} values, the model input needs {list(spec.shape)}")
    if a.dtype.kind == "f":
        return spec.quantize(a).reshape(spec.shape)   # float files are quantized like the model does
    if a.dtype != spec.dtype:
        info = np.iinfo(spec.dtype)
        if a.min(initial=0) < info.min or a.max(initial=0) > info.max:
            raise UsageError(f"{where}: values outside the {spec.dtype} range of the model input")
    return a.astype(spec.dtype).reshape(spec.shape)


def _from_arrays(name: str, arrays: list[np.ndarray], specs: Sequence[IOSpec]) -> InputCase:
    if len(arrays) != len(specs):
        raise UsageError(f"{name}: {len(arrays)} arrays, the model has {len(specs)} inputs")
    return InputCase(name, tuple(_fit(a, s, name) for a, s in zip(arrays, specs)))


def _npz_cases(path: Path, specs: Sequence[IOSpec]) -> list[InputCase]:
    with np.load(path) as z:
        keys = sorted(z.files)
        data = {k: z[k] for k in keys}
    if len(specs) == 1:
        out = []
        for k in keys:
            a = data[k]
            n = int(np.prod(specs[0].shape))
            if a.size == n:
                out.append(_from_arrays(f"{path.name}:{k}", [a], specs))
            elif a.size % n == 0:  # a stack of inputs: one case per leading row
                rows = a.reshape(-1, n)
                out += [_from_arrays(f"{path.name}:{k}[{i}]", [r], specs) for i, r in enumerate(rows)]
            else:
                raise UsageError(f"{path.name}:{k}: {a.size} values do not divide into inputs of {list(specs[0].shape)}")
        return out
    # several inputs: keys "<case>:<input index>"
    groups: dict[str, dict[int, np.ndarray]] = {}
    for k in keys:
        case, _, idx = k.rpartition(":")
        if not case or not idx.isdigit():
            raise UsageError(f"{path.name}: key {k!r} should be CASE:INPUT_INDEX for a {len(specs)}-input model")
        groups.setdefault(case, {})[int(idx)] = data[k]
    return [_from_arrays(f"{path.name}:{c}", [g.get(i, np.empty(0)) for i in range(len(specs))], specs)
            for c, g in sorted(groups.items())]


def _wav_cases(paths: list[Path], specs: Sequence[IOSpec], streaming: bool) -> list[InputCase]:
    from ..audio.compute import compute_features
    from ..audio.framing import FrameSpec, frame_audio
    from ..audio.wav import read_wav

    if len(specs) != 1:
        raise UsageError("WAV inputs need a model with one input")
    spec = specs[0]
    n = int(np.prod(spec.shape))
    out: list[InputCase] = []
    for p in paths:
        samples = read_wav(p)
        if spec.dtype == np.int16:  # an audio frontend model: one frame of samples per inference
            frames = frame_audio(samples, FrameSpec())
            if frames.shape[1] != n:
                raise UsageError(f"{p.name}: frames of {frames.shape[1]} samples, the model takes {n}")
            out += [InputCase(f"{p.name}#{i}", (f.reshape(spec.shape).astype(np.int16),)) for i, f in enumerate(frames)]
            continue
        if n % FEATURE_CHANNELS:
            raise UsageError(f"WAV inputs need a model taking {FEATURE_CHANNELS}-channel features; "
                             f"this one takes {list(spec.shape)}", hint="pass features as .npy/.npz instead")
        feats = compute_features(samples).features
        k = n // FEATURE_CHANNELS
        if streaming:   # consecutive chunks of k frames, as a wake-word device feeds them
            chunks = [feats[i:i + k] for i in range(0, len(feats) - k + 1, k)]
        else:           # one window of k frames per clip, zero-padded
            window = np.zeros((k, FEATURE_CHANNELS), np.int8)
            window[:min(k, len(feats))] = feats[:k]
            chunks = [window]
        out += [InputCase(f"{p.name}#{i}" if streaming else p.name, (c.reshape(spec.shape).astype(spec.dtype),))
                for i, c in enumerate(chunks)]
    return out


def load_inputs(sources: Sequence[str | Path], specs: Sequence[IOSpec], streaming: bool = False) -> list[InputCase]:
    """Cases from files and directories, in the order given (directories sorted by file name)."""
    files: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.suffix.lower() in (".npy", ".npz", ".bin", ".wav"))
            if not found:
                raise UsageError(f"no .npy/.npz/.bin/.wav files in {src}")
            files += found
        elif src.is_file():
            files.append(src)
        else:
            raise UsageError(f"input not found: {src}")
    cases: list[InputCase] = []
    wavs: list[Path] = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix == ".wav":
            wavs.append(f)
            continue
        if wavs:
            cases += _wav_cases(wavs, specs, streaming)
            wavs = []
        if suffix == ".npz":
            cases += _npz_cases(f, specs)
        elif suffix == ".npy":
            cases.append(_from_arrays(f.name, [np.load(f)], specs))
        elif suffix == ".bin":
            if len(specs) != 1:
                raise UsageError(f"{f.name}: raw .bin inputs need a single-input model")
            cases.append(_from_arrays(f.name, [np.frombuffer(f.read_bytes(), dtype=specs[0].dtype)], specs))
        else:
            raise UsageError(f"unsupported input file {f.name}", hint="use .npy, .npz, .bin or .wav")
    if wavs:
        cases += _wav_cases(wavs, specs, streaming)
    return cases
