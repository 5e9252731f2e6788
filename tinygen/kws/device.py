"""The kws firmware over the HIL link: KWS commands (0x40-0x4F, docs/protocol.md "KWS app") on top of
`tinygen.link`. Audio goes up in KWS_PUSH frames; each reply carries the features of every frame,
the raw classifier output of every inference and every detection the chunk produced."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..link import Device
from ..link.errors import ProtocolError
from ..link.framing import Deframer, Frame, FrameError
from ..link.protocol import Status
from ..link.transport import Transport
from .config import FEATURE_CHANNELS

CMD_INFO = 0x40
CMD_RESET = 0x41
CMD_PUSH = 0x42
EVENT_DETECTION = 0x48
REC_FEATURES, REC_SCORES, REC_DETECTION = 1, 2, 3

_INFO = struct.Struct("<IHHBBBxHHHHiiH")
_COUNTS = struct.Struct("<IIIIQQB3x")  # status, frames, inferences, detections, cost fe, cost cls, flags
_DETECTION = struct.Struct("<BiIII")


@dataclass(frozen=True)
class KwsDeviceInfo:
    sample_rate: int
    window_samples: int
    stride_samples: int
    features: int
    classes: int
    streaming: bool
    output_unsigned: bool
    microphone: bool
    window_frames: int
    new_frames_per_inference: int
    average_window: int
    suppression: int
    threshold_sum: int
    zero_point: int
    max_push_samples: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class DeviceDetection:
    index: int
    sum: int
    frame: int
    inference: int
    end_ms: int


@dataclass
class DeviceTrace:
    """Everything the device reported for one stream (shapes as tinygen.kws.KwsTrace)."""

    features: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    inference_frames: list[int] = field(default_factory=list)
    detections: list[DeviceDetection] = field(default_factory=list)
    samples: int = 0
    cost_frontend: int = 0
    cost_classifier: int = 0


def _strings(payload: bytes, at: int, count: int) -> tuple[str, ...]:
    out = []
    for _ in range(count):
        n = payload[at]
        out.append(payload[at + 1:at + 1 + n].decode("utf-8", "replace"))
        at += 1 + n
    return tuple(out)


class KwsDevice:
    """KWS commands on a connected `tinygen.link.Device` whose firmware reports app "kws"."""

    def __init__(self, device: Device, push_timeout: float | None = None) -> None:
        """`push_timeout`: seconds for one KWS_PUSH reply (the chunk's frames and inferences run before
        it); default max(link timeout, 5 s). A lost reply costs this much before the resend."""
        self.device = device
        self.push_timeout = push_timeout or max(device.link.config.timeout, 5.0)
        if device.info is not None and device.info.app != "kws":
            raise ProtocolError(f"the firmware runs app '{device.info.app}', not 'kws'",
                                hint="build it with --app kws")
        self.info = self._info()
        self._out_dtype = np.dtype(np.uint8 if self.info.output_unsigned else np.int8)

    def _request(self, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        reply = self.device.link.request(cmd, payload, timeout)
        if reply.status != Status.OK:
            name = Status(reply.status).name if reply.status in Status._value2member_map_ else str(reply.status)
            detail = f" (runtime status {struct.unpack_from('<I', reply.payload)[0]})" if len(reply.payload) >= 4 else ""
            raise ProtocolError(f"KWS command 0x{cmd:02x} failed: {name}{detail}")
        return reply.payload

    def _info(self) -> KwsDeviceInfo:
        p = self._request(CMD_INFO)
        v = _INFO.unpack_from(p)
        flags = v[5]
        return KwsDeviceInfo(v[0], v[1], v[2], v[3], v[4], bool(flags & 1), bool(flags & 2), bool(flags & 4),
                             v[6], v[7], v[8], v[9], v[10], v[11], v[12], _strings(p, 32, v[4]))

    def reset(self) -> None:
        """Start a new stream: frontend and classifier state, buffers, counters, smoothing. The
        microphone (if any) is turned off so only the host's audio enters the stream."""
        counts = _COUNTS.unpack_from(self._request(CMD_RESET, b"\x01"))
        if counts[1] or counts[2]:
            raise ProtocolError("KWS_RESET left frames counted on the device")

    def push(self, samples: np.ndarray, trace: DeviceTrace) -> None:
        """Send one chunk (at most info.max_push_samples); append what it produced to `trace`."""
        if len(samples) > self.info.max_push_samples:
            raise ProtocolError(f"{len(samples)} samples in one KWS_PUSH; the device takes at most "
                                f"{self.info.max_push_samples}")
        data = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        p = self._request(CMD_PUSH, data, timeout=self.push_timeout)
        _, frames, inferences, detections, cost_fe, cost_cls, flags = _COUNTS.unpack_from(p)
        if flags & 1:
            raise ProtocolError("KWS_PUSH reply truncated: push smaller chunks")
        at = _COUNTS.size
        n_cls = self.info.classes
        while at < len(p):
            tag = p[at]
            if tag == REC_FEATURES:
                frame = struct.unpack_from("<I", p, at + 1)[0]
                self._expect(frame, len(trace.features), "frame")
                trace.features.append(np.frombuffer(p, np.int8, FEATURE_CHANNELS, at + 5).copy())
                at += 5 + FEATURE_CHANNELS
            elif tag == REC_SCORES:
                inference, frame = struct.unpack_from("<II", p, at + 1)
                self._expect(inference, len(trace.scores), "inference")
                trace.scores.append(np.frombuffer(p, self._out_dtype, n_cls, at + 9).copy())
                trace.inference_frames.append(frame)
                at += 9 + n_cls
            elif tag == REC_DETECTION:
                trace.detections.append(DeviceDetection(*_DETECTION.unpack_from(p, at + 1)))
                at += 1 + _DETECTION.size
            else:
                raise ProtocolError(f"KWS_PUSH reply: unknown record tag {tag} at byte {at}")
        # The device's running totals must equal what we collected: nothing lost or run twice.
        if (frames, inferences, detections) != (len(trace.features), len(trace.scores), len(trace.detections)):
            raise ProtocolError(f"KWS stream out of step: device counted {frames} frames / {inferences} inferences "
                                f"/ {detections} detections, host received {len(trace.features)} / "
                                f"{len(trace.scores)} / {len(trace.detections)}")
        trace.samples += len(samples)
        trace.cost_frontend, trace.cost_classifier = cost_fe, cost_cls

    @staticmethod
    def _expect(got: int, want: int, what: str) -> None:
        if got != want:
            raise ProtocolError(f"KWS_PUSH reply: {what} {got} where {want} was next (lost or repeated audio)")

    def stream(self, audio: np.ndarray, progress: Callable[[int, int], None] | None = None) -> DeviceTrace:
        """Reset, then push `audio` in the largest chunks the device takes. Returns the whole trace."""
        self.reset()
        trace = DeviceTrace()
        step = self.info.max_push_samples
        audio = np.asarray(audio, dtype=np.int16).ravel()
        for i in range(0, len(audio), step):
            self.push(audio[i:i + step], trace)
            if progress is not None:
                progress(min(i + step, len(audio)), len(audio))
        return trace


@dataclass(frozen=True)
class DetectionEvent:
    """A KWS_DETECTION event (microphone mode: the device sends it unasked)."""

    detection: DeviceDetection
    detections_total: int
    label: str


def parse_detection_event(payload: bytes) -> DetectionEvent:
    """Decode the payload of a frame of type EVENT_DETECTION (docs/protocol.md, "KWS app")."""
    if len(payload) < _DETECTION.size + 5:
        raise ProtocolError(f"KWS_DETECTION event of {len(payload)} bytes is too short")
    det = DeviceDetection(*_DETECTION.unpack_from(payload))
    total = struct.unpack_from("<I", payload, _DETECTION.size)[0]
    return DetectionEvent(det, total, _strings(payload, _DETECTION.size + 4, 1)[0])


def listen(transport: Transport, seconds: float, stop_after: int | None = None) -> list[DetectionEvent]:
    """Collect KWS_DETECTION events for `seconds` (or until `stop_after` of them): a board in
    microphone mode announcing what it hears. Other frames (BOOT, replies) are skipped."""
    import time

    deframer = Deframer()
    events: list[DetectionEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (stop_after is None or len(events) < stop_after):
        for item in deframer.feed(transport.read(min(deadline, time.monotonic() + 0.1))):
            if isinstance(item, Frame) and item.type == EVENT_DETECTION:
                events.append(parse_detection_event(item.payload))
            elif isinstance(item, FrameError):
                continue
    return events
