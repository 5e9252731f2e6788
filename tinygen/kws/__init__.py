"""Keyword spotting: the streaming pipeline (audio -> features -> classifier -> smoothing -> detections).

`KwsPipeline` here is the host reference; firmware/apps/kws implements the same steps in C with the
same integer arithmetic, so detections match frame for frame (docs/kws.md).
"""

from .config import KwsConfig
from .pipeline import Detection, KwsPipeline, KwsTrace

__all__ = ["Detection", "KwsConfig", "KwsPipeline", "KwsTrace"]
