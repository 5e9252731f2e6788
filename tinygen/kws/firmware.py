"""Sources the kws firmware app needs beyond the classifier: the frontend as AOT C and kws_config.h.

The frontend (audio_preprocessor_int8.tflite) always runs as tinygen AOT code named `kws_frontend`
(so its symbols, `kws_frontend_*`, coexist with the classifier's), whichever runtime the classifier
uses. Only the classifier provides the tg_runtime glue: the frontend's is dropped here.
"""

from __future__ import annotations

import math

from .. import __version__
from ..codegen.cnames import c_string
from ..codegen.output import banner
from ..errors import UsageError
from ..model import ModelInfo, load_model
from .config import FEATURE_CHANNELS, SAMPLE_RATE, WINDOW_SAMPLES, KwsConfig

FRONTEND_NAME = "kws_frontend"
# The AOT generator's copy of the runtime interface and its glue: the classifier owns both.
_DROP = ("tg_runtime.h", f"{FRONTEND_NAME}_tg_runtime.c")


def output_quantization(classifier: ModelInfo) -> tuple[str, float, int]:
    """(dtype, scale, zero_point) of the classifier's score output."""
    out = classifier.outputs[0]
    if out.dtype not in ("int8", "uint8"):
        raise UsageError(f"{classifier.path.name}: scores are {out.dtype}; keyword spotting needs int8 or uint8 output")
    q = out.quantization
    scale = float(q.scale[0]) if q and q.scale and q.scale[0] else 1.0
    zero_point = int(q.zero_point[0]) if q and q.zero_point else 0
    return out.dtype, scale, zero_point


def threshold_sum(config: KwsConfig, scale: float) -> int:
    """The integer the moving sum of (q - zero_point) must reach (docs/kws.md step 4)."""
    return config.threshold_q(scale) * config.average_window


def config_header(config: KwsConfig, classifier: ModelInfo, microphone: bool = False) -> str:
    """kws_config.h: every setting that decides features, scores and detections, as C macros."""
    inp = classifier.inputs[0]
    if inp.dtype != "int8" or inp.num_elements != config.window_frames * FEATURE_CHANNELS:
        raise UsageError(f"{classifier.path.name}: input {inp.dtype} {list(inp.shape)} is not "
                         f"{config.window_frames} int8 frames of {FEATURE_CHANNELS} features")
    if not 1 <= config.stride_samples <= WINDOW_SAMPLES:
        raise UsageError(f"stride of {config.stride_samples} samples: must be 1..{WINDOW_SAMPLES}")
    if config.window_frames % config.new_frames_per_inference and config.streaming:
        raise UsageError("a streaming model's window must be a whole number of new-frame groups")
    dtype, scale, zero_point = output_quantization(classifier)
    n = len(config.labels)
    labels = ", ".join(c_string(label) for label in config.labels)
    ignored = ", ".join("1" if config.label_index_ignored(i) else "0" for i in range(n))
    lines = [
        banner(__version__, classifier.path.name, classifier.sha256, "/*").rstrip(),
        "/* Keyword-spotting settings (tinygen/kws/config.py KwsConfig; semantics in docs/kws.md). */",
        "#ifndef TINYGEN_KWS_CONFIG_H_",
        "#define TINYGEN_KWS_CONFIG_H_",
        "",
        f"#define KWS_SAMPLE_RATE {SAMPLE_RATE}u",
        f"#define KWS_WINDOW_SAMPLES {WINDOW_SAMPLES}u   /* one 30 ms frame into the frontend */",
        f"#define KWS_STRIDE_SAMPLES {config.stride_samples}u   /* {config.stride_ms:g} ms between frames */",
        f"#define KWS_FEATURES {FEATURE_CHANNELS}u",
        f"#define KWS_WINDOW_FRAMES {config.window_frames}u",
        f"#define KWS_NEW_FRAMES_PER_INFERENCE {config.new_frames_per_inference}u",
        f"#define KWS_STREAMING {int(config.streaming)}",
        f"#define KWS_NUM_CLASSES {n}u",
        f"#define KWS_LABELS {{{labels}}}",
        f"#define KWS_IGNORED {{{ignored}}}",
        f"#define KWS_OUTPUT_UNSIGNED {int(dtype == 'uint8')}",
        f"#define KWS_OUTPUT_ZERO_POINT ({zero_point})",
        f"#define KWS_OUTPUT_SCALE {scale!r}f",
        f"#define KWS_AVERAGE_WINDOW {config.average_window}u",
        f"/* threshold {config.threshold:g} = {config.threshold_q(scale)} output steps, summed over the window */",
        f"#define KWS_THRESHOLD_SUM {threshold_sum(config, scale)}",
        f"#define KWS_SUPPRESSION {config.suppression}u",
        f"#define KWS_MIC {int(microphone)}   /* 1: audio from the board's PDM microphone too */",
        "",
        "#endif /* TINYGEN_KWS_CONFIG_H_ */",
        "",
    ]
    if n > 255 or n < 1:
        raise UsageError(f"{n} classes: keyword spotting supports 1..255")
    if math.prod(classifier.outputs[0].shape) != n:
        raise UsageError(f"{len(config.labels)} labels for a model with {math.prod(classifier.outputs[0].shape)} outputs")
    return "\n".join(lines)


def frontend_sources(frontend_path: str | None = None) -> dict[str, str | bytes]:
    """The frontend model as AOT C (kws_frontend_model.c/.h + the kernels it uses), without glue."""
    from ..audio.data import preprocessor_model_path
    from ..codegen import aot

    model = load_model(frontend_path or preprocessor_model_path())
    files = aot.generate(model, FRONTEND_NAME, None)
    return {name: content for name, content in files.items() if name not in _DROP}


def kws_sources(config: KwsConfig, classifier: ModelInfo, microphone: bool = False,
                frontend_path: str | None = None) -> dict[str, str | bytes]:
    """Every generated file the kws app adds: kws_config.h + the frontend, flat names."""
    files = frontend_sources(frontend_path)
    files["kws_config.h"] = config_header(config, classifier, microphone)
    return files
