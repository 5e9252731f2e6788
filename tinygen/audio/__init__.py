"""Audio on the host: WAV reading, framing, and the reference feature frontend.

    from tinygen.audio import read_wav, features
    feats = features(read_wav("yes.wav"))          # [frames, 40] int8, TFLM interpreter

The default frontend is TFLM's micro_speech audio preprocessor model (bundled in tinygen/data/),
run frame by frame through one interpreter so its noise/PCAN state carries over, as on a device.
"""

from __future__ import annotations

from .data import TEST_CLIPS, clip_path, preprocessor_model_path
from .framing import FrameSpec, frame_audio, stride_ms_from_manifest
from .frontend import ReferenceFrontend, features
from .micro_speech import MICRO_SPEECH_LABELS, micro_speech_input
from .wav import AudioError, read_wav

__all__ = [
    "AudioError", "FrameSpec", "MICRO_SPEECH_LABELS", "ReferenceFrontend", "TEST_CLIPS", "features",
    "frame_audio", "micro_speech_input", "preprocessor_model_path", "read_wav",
    "stride_ms_from_manifest", "clip_path",
]
