"""The kws firmware on the emulated Cortex-M4F (real PlatformIO build, real QEMU): the streaming
wake-word model okay_nabu (resource variables, 10 ms steps) bit-exact with the host reference over a
stream of clips, and the KWS commands surviving a lost reply and garbage on the line (a resent
KWS_PUSH must not run twice)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import scipy.io.wavfile

from tinygen.boards import get_board
from tinygen.emulator import Emulator, qemu_available
from tinygen.kws.config import KwsConfig, config_for_model
from tinygen.kws.device import DeviceTrace, KwsDevice
from tinygen.kws.session import build_firmware, reference_trace
from tinygen.link import Device, Link, LinkConfig, ProtocolError, Transport
from tinygen.link.faults import FaultyTransport
from tinygen.model import load_model
from tinygen.report import silent

pytestmark = [pytest.mark.qemu, pytest.mark.build,
              pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]
NABU = "micro_wake_word/okay_nabu.tflite"
ORDER = ("yes", "no", "silence", "noise")


def _clips(models_dir: Path, repeat: int = 1) -> np.ndarray:
    parts = [scipy.io.wavfile.read(models_dir / "micro_speech/testdata" / f"{n}_1000ms.wav")[1] for n in ORDER]
    return np.concatenate(parts * repeat).astype(np.int16)


@pytest.fixture(scope="module")
def nabu(models_dir: Path) -> tuple[KwsConfig, Path]:
    cfg = config_for_model(load_model(models_dir / NABU), manifest=models_dir / "micro_wake_word/okay_nabu.json")
    return cfg, build_firmware(get_board("qemu-m4"), models_dir / NABU, cfg, "aot", silent())


@pytest.fixture()
def kws(nabu: tuple[KwsConfig, Path]) -> Iterator[tuple[KwsDevice, FaultyTransport]]:
    with Emulator(nabu[1]) as emu:
        t = FaultyTransport(Transport(emu.serial, emu.url, on_closed=emu.check))
        dev = Device(Link(t, LinkConfig(timeout=1.0, retries=3)))
        dev.connect()
        yield KwsDevice(dev, push_timeout=2.0), t


def _assert_bit_exact(models_dir: Path, cfg: KwsConfig, audio: np.ndarray, trace: DeviceTrace) -> None:
    ref = reference_trace(cfg, models_dir / NABU, audio)
    assert len(trace.features) == len(ref.features) == 1 + (len(audio) - 480) // 160
    for i, (a, b) in enumerate(zip(ref.features, trace.features)):
        assert np.array_equal(a, b), f"features differ at frame {i}"
    assert len(trace.scores) == len(ref.scores) == len(ref.features) // 3
    for i, (a, b) in enumerate(zip(ref.scores, trace.scores)):
        assert np.array_equal(a, b), f"probability differs at inference {i}"
    assert trace.inference_frames == ref.inference_frames
    assert [(d.index, d.frame) for d in trace.detections] == [(d.index, d.frame) for d in ref.detections]


def test_okay_nabu_streams_bit_exact(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                     kws: tuple[KwsDevice, FaultyTransport]) -> None:
    cfg, _ = nabu
    dev, _ = kws
    assert dev.info.streaming and dev.info.stride_samples == 160 and dev.info.labels == ("Okay Nabu",)
    audio = _clips(models_dir)
    trace = dev.stream(audio)
    _assert_bit_exact(models_dir, cfg, audio, trace)
    assert trace.cost_frontend > 0 and trace.cost_classifier > 0
    # A second stream after KWS_RESET starts from the same state: identical again.
    again = dev.stream(audio[:16000])
    assert all(np.array_equal(a, b) for a, b in zip(again.scores, trace.scores))


@pytest.mark.slow
def test_okay_nabu_long_stream_bit_exact(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                         kws: tuple[KwsDevice, FaultyTransport]) -> None:
    audio = _clips(models_dir, repeat=3)  # 12 s, 1198 frames, 399 inferences
    _assert_bit_exact(models_dir, nabu[0], audio, kws[0].stream(audio))


def test_resent_push_runs_once_and_garbage_is_survived(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                                       kws: tuple[KwsDevice, FaultyTransport]) -> None:
    dev, t = kws
    audio = _clips(models_dir)[:12000]
    base = t.writes
    t.drop_reply_of.add(base + 4)  # the reply to the 3rd push is lost: the host resends the same frame
    t.garbage_before[base + 8] = b"\x00\x13\x37garbage\x00"
    trace = dev.stream(audio)
    assert dev.device.link.counters.resends >= 1
    _assert_bit_exact(models_dir, nabu[0], audio, trace)


def test_bad_push_is_refused(kws: tuple[KwsDevice, FaultyTransport]) -> None:
    dev, _ = kws
    with pytest.raises(ProtocolError, match="at most 512"):
        dev.push(np.zeros(dev.info.max_push_samples + 1, np.int16), DeviceTrace())
    with pytest.raises(ProtocolError, match="BAD_ARGUMENT"):
        dev._request(0x42, b"\x01\x02\x03")  # odd byte count: not int16 samples
