"""A features spectrogram as a PNG, written with numpy + zlib (no plotting library needed).

Time runs left to right (one column block per frame), channels bottom (low) to top (high); the
int8 feature value picks a colour from a viridis-like ramp.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import TinygenError

# anchor colours of a perceptually ordered ramp, dark blue -> green -> yellow
_RAMP = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)


def colorize(values: np.ndarray, lo: float = -128.0, hi: float = 127.0) -> np.ndarray:
    """[...] numbers -> [..., 3] uint8 RGB on the ramp, `lo`..`hi` mapped to its ends."""
    t = np.clip((np.asarray(values, dtype=np.float64) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    pos = t * (len(_RAMP) - 1)
    i = np.minimum(pos.astype(int), len(_RAMP) - 2)
    frac = (pos - i)[..., None]
    rgb: np.ndarray = np.round(_RAMP[i] * (1 - frac) + _RAMP[i + 1] * frac).astype(np.uint8)
    return rgb


def spectrogram_image(feats: np.ndarray, scale: int = 6) -> np.ndarray:
    """[frames, channels] -> [channels * scale, frames * scale, 3] uint8, low channels at the bottom."""
    feats = np.asarray(feats)
    if feats.ndim != 2 or feats.size == 0:
        raise TinygenError(f"no features to draw (shape {list(feats.shape)})")
    rgb = colorize(feats.T[::-1])  # rows = channels, highest first
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an [height, width, 3] uint8 array (deterministic bytes)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def write_spectrogram_png(feats: np.ndarray, path: str | Path, scale: int = 6) -> Path:
    """Draw `feats` and write the PNG atomically (no half-written file on failure)."""
    from ..codegen.output import write_files

    path = Path(path)
    write_files(path.parent if str(path.parent) else Path("."), {path.name: png_bytes(spectrogram_image(feats, scale))})
    return path
