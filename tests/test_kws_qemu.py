"""The kws firmware on the emulated Cortex-M4F (real PlatformIO build, real QEMU): the streaming
wake-word model okay_nabu (resource variables, 10 ms steps) bit-exact with the host reference over a
stream of clips (2 s by default, 12 s in the slow variant). micro_speech on QEMU is tests/test_demo.py;
the protocol's fault handling is tests/test_kws_link_host.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from tinygen.boards import get_board
from tinygen.emulator import Emulator, qemu_available
from tinygen.kws.config import KwsConfig, config_for_model
from tinygen.kws.device import DeviceTrace, KwsDevice
from tinygen.kws.session import build_firmware, reference_trace
from tinygen.link import Device, Link, LinkConfig, Transport
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
        # liveness bounds, not timings: on a loaded host QEMU's icount mode can hold serial bytes
        # for seconds (a 2 s push deadline failed there with the device alive)
        dev = Device(Link(t, LinkConfig(timeout=5.0, retries=3)))
        dev.connect()
        yield KwsDevice(dev, push_timeout=10.0), t


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
    audio = _clips(models_dir)[:32000]  # yes, no: 2 s (the slow variant streams 12 s)
    trace = dev.stream(audio)
    _assert_bit_exact(models_dir, cfg, audio, trace)
    assert trace.cost_frontend > 0 and trace.cost_classifier > 0
    # A second stream after KWS_RESET starts from the same state: identical again.
    again = dev.stream(audio[:8000])
    assert all(np.array_equal(a, b) for a, b in zip(again.scores, trace.scores))


@pytest.mark.slow
def test_okay_nabu_long_stream_bit_exact(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                         kws: tuple[KwsDevice, FaultyTransport]) -> None:
    audio = _clips(models_dir, repeat=3)  # 12 s, 1198 frames, 399 inferences
    _assert_bit_exact(models_dir, nabu[0], audio, kws[0].stream(audio))


def test_short_clips_one_frame_each_bit_exact(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                              kws: tuple[KwsDevice, FaultyTransport]) -> None:
    """The bundled 30 ms clips: one frame each, from a fresh stream (KWS_RESET) every time."""
    dev, _ = kws
    for name in ("yes_30ms", "no_30ms"):
        audio = scipy.io.wavfile.read(models_dir / "micro_speech/testdata" / f"{name}.wav")[1].astype(np.int16)
        trace = dev.stream(audio)
        ref = reference_trace(nabu[0], models_dir / NABU, audio)
        assert len(trace.features) == len(ref.features) == 1
        assert np.array_equal(trace.features[0], ref.features[0]), name


def test_cli_verify_app_kws_report_and_settings_refusal(models_dir: Path, nabu: tuple[KwsConfig, Path],
                                                        tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from tinygen.cli.main import _register, cli

    _register()
    base = ["verify", "--board", "qemu-m4", "--model", str(models_dir / NABU), "--app", "kws", "--elf", str(nabu[1]),
            "--manifest", str(models_dir / "micro_wake_word/okay_nabu.json"),
            "--audio", str(models_dir / "micro_speech/testdata/yes_1000ms.wav")]
    res = CliRunner().invoke(cli, [*base, "--report", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == "tinygen.verify-kws" and doc["ok"] is True
    assert doc["features"]["equal"] == doc["features"]["of"] == 98 and doc["scores"]["equal"] == 32
    # A firmware built for other settings is refused before anything is compared.
    res = CliRunner().invoke(cli, [*base, "--threshold", "0.5"])
    assert res.exit_code == 2 and "differ from the requested" in res.output
