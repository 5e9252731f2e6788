"""A keyword-spotting run on a device against the host reference: clips streamed back to back, features
compared frame by frame, classifier outputs inference by inference, detections word by word; plus the
on-device cost per second of audio. Used by `tinygen verify --app kws` and `tinygen demo`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..boards import Board, get_board
from ..config import load_settings
from ..errors import BoardError, UsageError
from ..link import LinkConfig
from ..model import load_model
from ..reference import Reference
from ..report import Reporter
from .config import SAMPLE_RATE, WINDOW_SAMPLES, KwsConfig
from .device import DeviceTrace, KwsDevice
from .pipeline import KwsPipeline, KwsTrace


@dataclass(frozen=True)
class Clip:
    name: str
    start: int  # first sample in the stream
    samples: int


@dataclass(frozen=True)
class WordEvent:
    """A detection, attributed to the clip holding most of the classifier's window."""

    label: str
    frame: int
    time_ms: float
    score: float
    clip: str

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "frame": self.frame, "time_ms": self.time_ms, "score": round(self.score, 4),
                "clip": self.clip}


@dataclass
class KwsRunResult:
    board: str
    model: str
    runtime: str
    clips: list[Clip]
    frames: int
    inferences: int
    feature_frames_equal: int
    first_feature_mismatch: int | None
    score_inferences_equal: int
    first_score_mismatch: int | None
    reference_detections: list[WordEvent]
    device_detections: list[WordEvent]
    cost_unit: str
    cost_frontend: int
    cost_classifier: int
    audio_seconds: float
    clock_hz: int
    wall_seconds: float
    expected: list[str] = field(default_factory=list)  # problems with the expected words (demo)
    # The emulated board's 25 MHz is QEMU's, not a product's: also state the load on a real M4 board.
    target: tuple[str, int] | None = None  # (board name, clock Hz)
    stride_samples: int = 320
    new_frames_per_inference: int = 1
    incremental: str = ""  # what the firmware's classifier reuses between windows (tinygen/kws/incremental.py)

    @property
    def bit_exact(self) -> bool:
        return self.first_feature_mismatch is None and self.first_score_mismatch is None

    @property
    def same_detections(self) -> bool:
        key = [(d.label, d.frame) for d in self.reference_detections]
        return key == [(d.label, d.frame) for d in self.device_detections]

    @property
    def ok(self) -> bool:
        return not self.failures()

    def failures(self) -> list[str]:
        """Every reason this run is not a pass (empty: pass)."""
        out = []
        if self.first_feature_mismatch is not None:
            out.append(f"features differ from frame {self.first_feature_mismatch}")
        if self.first_score_mismatch is not None:
            out.append(f"scores differ from inference {self.first_score_mismatch}")
        if not self.same_detections:
            out.append("detections differ from the reference")
        return out + self.expected

    def cost_per_second(self) -> dict[str, float]:
        """Steady state: cost per frame x frames per second + cost per inference x inferences per
        second (a stream's plain average would count its first window, which has no inferences)."""
        frames_per_s = SAMPLE_RATE / self.stride_samples
        fe = self.cost_frontend / max(self.frames, 1) * frames_per_s
        cls = self.cost_classifier / max(self.inferences, 1) * frames_per_s / self.new_frames_per_inference
        out = {"frontend": fe, "classifier": cls, "total": fe + cls,
               "frontend_per_frame": self.cost_frontend / max(self.frames, 1),
               "classifier_per_inference": self.cost_classifier / max(self.inferences, 1),
               "real_time_load": (fe + cls) / self.clock_hz if self.clock_hz else 0.0}
        if self.target:
            out[f"real_time_load_{self.target[0]}"] = (fe + cls) / self.target[1]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board, "model": self.model, "runtime": self.runtime, "ok": self.ok,
            "clips": [{"name": c.name, "start_ms": 1000 * c.start / SAMPLE_RATE, "ms": 1000 * c.samples / SAMPLE_RATE}
                      for c in self.clips],
            "frames": self.frames, "inferences": self.inferences,
            "features": {"equal": self.feature_frames_equal, "of": self.frames,
                         "first_mismatch": self.first_feature_mismatch},
            "scores": {"equal": self.score_inferences_equal, "of": self.inferences,
                       "first_mismatch": self.first_score_mismatch},
            "detections": {"reference": [d.as_dict() for d in self.reference_detections],
                           "device": [d.as_dict() for d in self.device_detections], "same": self.same_detections},
            "expected_problems": self.expected,
            "cost": {"unit": self.cost_unit, "frontend": self.cost_frontend, "classifier": self.cost_classifier,
                     "audio_seconds": self.audio_seconds, "clock_hz": self.clock_hz,
                     "per_second_of_audio": self.cost_per_second(),
                     "assumption": "qemu-m4 counts instructions (-icount shift=0); real-time load assumes about "
                                   "1 instruction per cycle on a Cortex-M4 at the board's clock"
                                   if self.cost_unit == "instructions" else "cycles measured with DWT->CYCCNT"},
            "incremental": self.incremental,
            "wall_seconds": round(self.wall_seconds, 1),
        }


def read_clips(paths: list[Path]) -> tuple[np.ndarray, list[Clip]]:
    from ..audio.wav import read_wav

    if not paths:
        raise UsageError("no audio given", hint="pass one or more 16 kHz mono WAV files with --audio")
    parts, clips, at = [], [], 0
    for p in paths:
        x = read_wav(p)
        clips.append(Clip(Path(p).stem, at, len(x)))
        parts.append(x)
        at += len(x)
    return np.concatenate(parts).astype(np.int16), clips


def attribute(clips: list[Clip], end_sample: int, config: KwsConfig) -> str:
    """The clip holding most of the classifier's window (for a streaming model: its last second)."""
    span = (config.window_frames - 1) * config.stride_samples + WINDOW_SAMPLES
    if config.streaming:
        span = SAMPLE_RATE
    mid = end_sample - span // 2
    for c in clips:
        if c.start <= mid < c.start + c.samples:
            return c.name
    return clips[0].name if mid < 0 else clips[-1].name


def reference_trace(config: KwsConfig, model: Path, audio: np.ndarray, frontend: Path | None = None) -> KwsTrace:
    from ..audio.data import preprocessor_model_path

    pipe = KwsPipeline(config, Reference.from_file(frontend or preprocessor_model_path()), Reference.from_file(model))
    pipe.push(audio)
    return pipe.trace


def _first_mismatch(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[int, int | None]:
    equal = 0
    first = None
    for i in range(max(len(a), len(b))):
        if i < len(a) and i < len(b) and np.array_equal(a[i].astype(np.int32), b[i].astype(np.int32)):
            equal += 1
        elif first is None:
            first = i
    return equal, first


def cache_dir() -> Path:
    return load_settings().cache_dir / "kws"


def build_firmware(board: Board, model: Path, config: KwsConfig, runtime: str, reporter: Reporter,
                   tflm_dir: Path | None = None) -> Path:
    """Build (incrementally, in a per-board/model/runtime cache dir) and return the ELF."""
    from .project import build_kws_firmware

    out = project_dir(board, model, config, runtime)
    elf = Path(build_kws_firmware(board, model, out, config, runtime, tflm_dir, reporter).elf)
    if runtime == "aot":
        reporter.info(incremental_summary(out))
    return elf


def project_dir(board: Board, model: Path, config: KwsConfig, runtime: str) -> Path:
    """Where `build_firmware` keeps the project (per board, runtime, model and stride)."""
    sha = load_model(model).sha256[:12]
    return cache_dir() / f"{board.name}-{runtime}-{sha}-s{config.stride_samples}"


def incremental_summary(project: Path) -> str:
    """What the kws project's manifest says about incremental inference (tinygen/kws/incremental.py)."""
    from ..project import read_manifest

    doc = (read_manifest(project) or {}).get("incremental")
    return str(doc["summary"]) if isinstance(doc, dict) else "incremental inference off"


def run_kws(board: str | Board, model: Path, audio_paths: list[Path], config: KwsConfig, reporter: Reporter,
            elf: Path | None = None, port: str | None = None, runtime: str = "aot", tflm_dir: Path | None = None,
            link: LinkConfig | None = None, expect_words: bool = False) -> KwsRunResult:
    """Stream the clips (back to back, one stream) to the kws firmware and compare with the reference."""
    from ..verify.session import open_device

    board = get_board(board) if isinstance(board, str) else board
    t0 = time.monotonic()
    audio, clips = read_clips(audio_paths)
    reporter.step(f"host reference: {len(audio) / SAMPLE_RATE:.1f} s of audio ({', '.join(c.name for c in clips)})")
    ref = reference_trace(config, model, audio)
    incremental = ""
    if board.emulated and elf is None:
        elf = build_firmware(board, model, config, runtime, reporter, tflm_dir)
        incremental = incremental_summary(project_dir(board, model, config, runtime)) if runtime == "aot" else "no (TFLM runtime)"
    link = link or LinkConfig(baudrate=board.serial_baud)
    with open_device(board, elf=elf, port=port, config=link) as conn:
        info = conn.device.info
        kws = KwsDevice(conn.device)
        _check_device_config(kws, config, model)
        reporter.step(f"streaming to {info.board if info else board.name} ({info.runtime if info else runtime} runtime): "
                      f"{kws.info.max_push_samples} samples per frame")
        last = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 3.0 or done == total:
                last[0] = time.monotonic()
                reporter.step(f"  {done / SAMPLE_RATE:.1f} of {total / SAMPLE_RATE:.1f} s of audio streamed")

        dev = kws.stream(audio, progress)
        unit = info.cost_unit if info else "cycles"
    result = _result(board, model, runtime, clips, config, ref, dev, unit, audio, time.monotonic() - t0, expect_words)
    result.incremental = incremental
    return result


def _check_device_config(kws: KwsDevice, config: KwsConfig, model: Path) -> None:
    from .firmware import output_quantization, threshold_sum

    i = kws.info
    _, scale, _ = output_quantization(load_model(model))
    want = (config.stride_samples, config.window_frames, config.new_frames_per_inference, config.average_window,
            config.suppression, threshold_sum(config, scale), config.labels)
    got = (i.stride_samples, i.window_frames, i.new_frames_per_inference, i.average_window, i.suppression,
           i.threshold_sum, i.labels)
    if want != got:
        raise UsageError(f"the firmware's KWS settings {got} differ from the requested {want}",
                         hint="rebuild the firmware with these settings (or drop --elf)")


def _events(trace: Any, device: bool, clips: list[Clip], config: KwsConfig, scale: float) -> list[WordEvent]:
    out = []
    for d in trace.detections:
        if device:
            end = d.frame * config.stride_samples + WINDOW_SAMPLES
            out.append(WordEvent(config.labels[d.index], d.frame, 1000.0 * end / SAMPLE_RATE,
                                 d.sum / config.average_window * scale, attribute(clips, end, config)))
        else:
            end = d.frame * config.stride_samples + WINDOW_SAMPLES
            out.append(WordEvent(d.label, d.frame, d.time_ms, d.score, attribute(clips, end, config)))
    return out


def _result(board: Board, model: Path, runtime: str, clips: list[Clip], config: KwsConfig, ref: KwsTrace,
            dev: DeviceTrace, unit: str, audio: np.ndarray, wall: float, expect_words: bool) -> KwsRunResult:
    from .firmware import output_quantization

    _, scale, _ = output_quantization(load_model(model))
    feq, ffirst = _first_mismatch(ref.features, dev.features)
    seq, sfirst = _first_mismatch(ref.scores, dev.scores)
    if sfirst is None and ref.inference_frames != dev.inference_frames:
        sfirst = next(i for i, (a, b) in enumerate(zip(ref.inference_frames, dev.inference_frames)) if a != b)
    result = KwsRunResult(
        board=board.name, model=str(model), runtime=runtime, clips=clips, frames=len(ref.features),
        inferences=len(ref.scores), feature_frames_equal=feq, first_feature_mismatch=ffirst,
        score_inferences_equal=seq, first_score_mismatch=sfirst,
        reference_detections=_events(ref, False, clips, config, scale),
        device_detections=_events(dev, True, clips, config, scale), cost_unit=unit,
        cost_frontend=dev.cost_frontend, cost_classifier=dev.cost_classifier,
        audio_seconds=len(audio) / SAMPLE_RATE, clock_hz=board.clock_hz, wall_seconds=wall,
        target=_real_board(board), stride_samples=config.stride_samples,
        new_frames_per_inference=config.new_frames_per_inference)
    if expect_words:
        result.expected = expected_word_problems(result, config)
    return result


def _real_board(board: Board) -> tuple[str, int] | None:
    if not board.emulated:
        return None
    try:
        real = get_board("nano33ble")
    except BoardError:  # a trimmed board set: no comparison line
        return None
    return real.name, real.clock_hz


def expected_word_problems(result: KwsRunResult, config: KwsConfig) -> list[str]:
    """Each clip named after a keyword must be detected as that word exactly once; other clips never."""
    problems = []
    keywords = [lab for i, lab in enumerate(config.labels) if not config.label_index_ignored(i)]
    for clip in result.clips:
        found = [d.label for d in result.device_detections if d.clip == clip.name]
        word = clip.name.split("_")[0]  # yes_1000ms.wav says "yes"
        want = [word] if word in keywords else []
        if found != want:
            problems.append(f"clip '{clip.name}': detected {found or 'nothing'}, expected {want or 'nothing'}")
    return problems
