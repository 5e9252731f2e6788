"""WAV reading: 16 kHz mono int16, or a clear refusal saying how to convert the file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import UsageError

SAMPLE_RATE = 16000
_CONVERT_HINT = "convert it first, e.g. `sox in.wav -r 16000 -c 1 -b 16 out.wav` or `ffmpeg -i in.wav -ar 16000 -ac 1 -sample_fmt s16 out.wav`"


class AudioError(UsageError):
    """An audio file tinygen cannot use as it is."""


def read_wav(path: str | Path, resample: bool = False) -> np.ndarray:
    """Samples of a 16 kHz mono 16-bit PCM WAV file as int16 [n].

    With `resample=True`, a mono int16 file at an integer multiple of 16 kHz (32, 48 kHz) is
    decimated with a polyphase low-pass filter; anything else is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # odd chunks (LIST/INFO) are fine
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError) as exc:
        raise AudioError(f"{path}: not a readable WAV file ({exc})", hint=_CONVERT_HINT) from exc
    if data.ndim != 1:
        if data.ndim == 2 and data.shape[1] == 1:
            data = data[:, 0]
        else:
            raise AudioError(f"{path}: {data.shape[1]} channels, tinygen needs mono audio", hint=_CONVERT_HINT)
    if data.dtype != np.int16:
        raise AudioError(f"{path}: {data.dtype} samples, tinygen needs 16-bit PCM (int16)", hint=_CONVERT_HINT)
    if rate != SAMPLE_RATE:
        if resample and rate > SAMPLE_RATE and rate % SAMPLE_RATE == 0:
            return _decimate(data, rate // SAMPLE_RATE)
        extra = " (pass resample=True / --resample for 32 or 48 kHz)" if rate % SAMPLE_RATE == 0 and rate > SAMPLE_RATE else ""
        raise AudioError(f"{path}: sample rate {rate} Hz, tinygen needs {SAMPLE_RATE} Hz{extra}", hint=_CONVERT_HINT)
    return np.ascontiguousarray(data)


def _decimate(data: np.ndarray, factor: int) -> np.ndarray:
    from scipy.signal import resample_poly

    y = resample_poly(data.astype(np.float64), 1, factor)
    out: np.ndarray = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    return out
