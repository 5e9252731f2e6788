"""The whole kws app (pipeline + KWS commands + link library) compiled for the host board, whose
"serial port" is a TCP socket: the KWS protocol end to end in well under a second of streaming, bit-exact
against the Python reference, and exactly-once under a lost reply and garbage on the line."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from tinygen.kws.config import KwsConfig, config_for_model
from tinygen.kws.device import DeviceTrace, KwsDevice, listen, parse_detection_event
from tinygen.kws.hostrun import build_host_firmware
from tinygen.kws.session import reference_trace
from tinygen.link import Device, Link, LinkConfig, ProtocolError
from tinygen.link.faults import FaultyTransport
from tinygen.link.local import LocalFirmware
from tinygen.model import load_model

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
MS = "micro_speech/micro_speech_quantized.tflite"
LABELS = ["silence", "unknown", "yes", "no"]
FAST = LinkConfig(timeout=0.5, invoke_timeout=2.0, boot_timeout=3.0, retries=2)


@pytest.fixture(scope="module")
def built(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[KwsConfig, Path]:
    cfg = config_for_model(load_model(models_dir / MS), labels=LABELS)
    return cfg, build_host_firmware(cfg, load_model(models_dir / MS), tmp_path_factory.mktemp("kws") / "kws_host")


@pytest.fixture()
def kws(built: tuple[KwsConfig, Path]) -> Iterator[tuple[KwsDevice, FaultyTransport]]:
    with LocalFirmware(built[1]) as fw:
        assert fw.transport is not None
        t = FaultyTransport(fw.transport)
        dev = Device(Link(t, FAST))
        assert dev.connect().app == "kws"
        yield KwsDevice(dev, push_timeout=0.5), t


def _audio(models_dir: Path) -> np.ndarray:
    clips = [scipy.io.wavfile.read(models_dir / "micro_speech/testdata" / f"{n}_1000ms.wav")[1]
             for n in ("yes", "no", "silence", "noise")]
    return np.concatenate(clips).astype(np.int16)


def _assert_matches_reference(models_dir: Path, cfg: KwsConfig, audio: np.ndarray, trace: DeviceTrace) -> None:
    ref = reference_trace(cfg, models_dir / MS, audio)
    assert len(trace.features) == len(ref.features) and len(trace.scores) == len(ref.scores)
    assert all(np.array_equal(a, b) for a, b in zip(ref.features, trace.features))
    assert all(np.array_equal(a, b) for a, b in zip(ref.scores, trace.scores))
    assert trace.inference_frames == ref.inference_frames
    assert [(d.index, d.frame, d.end_ms) for d in trace.detections] == \
        [(d.index, d.frame, int(d.time_ms)) for d in ref.detections]


def test_info_and_stream_bit_exact(models_dir: Path, built: tuple[KwsConfig, Path],
                                   kws: tuple[KwsDevice, FaultyTransport]) -> None:
    dev, _ = kws
    info = dev.info
    assert info.labels == tuple(LABELS) and info.stride_samples == 320 and info.window_frames == 49
    assert info.threshold_sum == 615 and info.zero_point == -128 and info.max_push_samples == 512
    assert not info.streaming and not info.output_unsigned and not info.microphone
    audio = _audio(models_dir)
    trace = dev.stream(audio)
    _assert_matches_reference(models_dir, built[0], audio, trace)
    assert [d.index for d in trace.detections] == [2, 3]  # yes, no
    # The HIL commands still answer on the kws firmware.
    assert dev.device.stats().arena_size > 0


def test_lost_reply_and_garbage_do_not_lose_or_repeat_audio(models_dir: Path, built: tuple[KwsConfig, Path],
                                                            kws: tuple[KwsDevice, FaultyTransport]) -> None:
    dev, t = kws
    audio = _audio(models_dir)[:20000]
    base = t.writes
    t.drop_reply_of.update({base + 3, base + 9})  # replies to two pushes lost: the same frames are resent
    t.garbage_before[base + 6] = b"\x00\x13\x37garbage\x00"
    t.drop_write.add(base + 12)  # a push lost on the way: resent after the timeout
    trace = dev.stream(audio)
    assert dev.device.link.counters.resends >= 3
    _assert_matches_reference(models_dir, built[0], audio, trace)


def test_bad_pushes_are_refused(kws: tuple[KwsDevice, FaultyTransport]) -> None:
    dev, _ = kws
    with pytest.raises(ProtocolError, match="at most 512"):
        dev.push(np.zeros(513, np.int16), DeviceTrace())
    with pytest.raises(ProtocolError, match="BAD_ARGUMENT"):
        dev._request(0x42, b"\x01\x02\x03")  # odd byte count: not int16 samples
    with pytest.raises(ProtocolError, match="UNKNOWN_COMMAND"):
        dev._request(0x4F)


def test_detection_event_layout() -> None:
    """Microphone mode's event (kws_app.c mic_detection): detection, running total, label."""
    payload = bytes([2]) + (700).to_bytes(4, "little", signed=True) + (50).to_bytes(4, "little") + \
        (2).to_bytes(4, "little") + (1030).to_bytes(4, "little") + (1).to_bytes(4, "little") + b"\x03yes"
    ev = parse_detection_event(payload)
    assert (ev.label, ev.detection.index, ev.detection.sum, ev.detection.end_ms, ev.detections_total) == \
        ("yes", 2, 700, 1030, 1)
    with pytest.raises(ProtocolError, match="too short"):
        parse_detection_event(payload[:10])


def test_microphone_mode_announces_detections(models_dir: Path, built: tuple[KwsConfig, Path],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KWS_MIC 1 with a "microphone" that plays the clips: the app pushes them through the pipeline by
    itself and sends KWS_DETECTION events unasked; the words and frames are the reference's."""
    cfg = built[0]
    exe = build_host_firmware(cfg, load_model(models_dir / MS), tmp_path / "kws_mic", file_microphone=True)
    audio = _audio(models_dir)
    (tmp_path / "mic.raw").write_bytes(audio.astype("<i2").tobytes())
    monkeypatch.setenv("TG_KWS_MIC_FILE", str(tmp_path / "mic.raw"))
    ref = reference_trace(cfg, models_dir / MS, audio)
    with LocalFirmware(exe) as fw:
        assert fw.transport is not None
        events = listen(fw.transport, seconds=10.0, stop_after=len(ref.detections))
    assert [(e.label, e.detection.frame, e.detection.end_ms) for e in events] == \
        [(d.label, d.frame, int(d.time_ms)) for d in ref.detections]
    assert [e.detections_total for e in events] == [1, 2]
