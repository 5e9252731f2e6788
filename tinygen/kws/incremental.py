"""Incremental inference in the kws firmware: on where it is proven on real audio.

The classifier of a sliding-window keyword model (micro_speech: 49 frames, one new frame per
inference) recomputes most of its first layers' rows every frame. `decide_for_kws` analyses the
model (tinygen/codegen/aot/incremental.py) and proves the plan against TFLM on the features of the
bundled clips, streamed back to back as `tinygen demo` streams them, and on a random stream; the
kws project generates NAME_run() incremental only when every window matched.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..audio.data import clip_path
from ..audio.frontend import features
from ..audio.wav import read_wav
from ..hostrun.incremental import Decision, decide
from ..model import ModelInfo

PROOF_CLIPS = ("yes_1000ms.wav", "no_1000ms.wav", "silence_1000ms.wav", "noise_1000ms.wav")


@lru_cache(maxsize=1)
def clip_features() -> np.ndarray:
    """[frames, 40] int8: the bundled clips back to back through the reference frontend."""
    audio = np.concatenate([read_wav(clip_path(c)) for c in PROOF_CLIPS])
    return features(audio)


def decide_for_kws(model: ModelInfo) -> Decision:
    """The incremental decision for the kws app's classifier (streaming models never need it)."""
    return decide(model, {"clips": clip_features()})
