"""`tinygen features`: text summary, JSON, spectrogram PNG, refusals, and the AOT cross-check."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import wavfile

from tinygen.audio import clip_path
from tinygen.cli.main import _register, cli

_register()
YES = str(clip_path("yes_1000ms.wav"))


def _run(*args: str) -> "object":
    return CliRunner().invoke(cli, ["features", *args])


def test_text_summary() -> None:
    r = _run(YES)
    assert r.exit_code == 0, r.output
    assert "49 x 40 int8" in r.output and "every 20 ms" in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()[:1].isdigit()]) == 49


def test_json_and_png(tmp_path: Path) -> None:
    png = tmp_path / "yes.png"
    r = _run(YES, "--json", "--png", str(png))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema"] == "tinygen.features" and doc["frames"] == 49 and doc["channels"] == 40
    feats = np.array(doc["features"])
    assert feats.shape == (49, 40) and feats.min() >= -128 and feats.max() <= 127
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (49 * 6, 40 * 6)
    # the IDAT payload inflates to exactly one filter byte + RGB row per line
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41:41 + idat_len])
    assert len(raw) == h * (1 + 3 * w)


def test_stride_from_manifest(models_dir: Path) -> None:
    r = _run(YES, "--json", "--manifest", str(models_dir / "micro_wake_word" / "okay_nabu.json"))
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["stride_ms"] == 10.0 and doc["frames"] == 98


def test_bad_wav_is_refused_without_output(tmp_path: Path) -> None:
    bad = tmp_path / "8k.wav"
    wavfile.write(bad, 8000, np.zeros(8000, np.int16))
    png = tmp_path / "out.png"
    r = _run(str(bad), "--png", str(png))
    assert r.exit_code == 2
    assert "8000 Hz" in r.output and "Traceback" not in r.output
    assert not png.exists()
    assert _run(str(tmp_path / "missing.wav")).exit_code == 2


def test_runtime_aot_matches_reference() -> None:
    pytest.importorskip("tinygen.codegen.aot.generator", reason="the AOT code generator is not in this tree")
    r = _run(str(clip_path("no_1000ms.wav")), "--runtime", "aot", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["runtime"] == "aot" and doc["checked_against_reference"] is True and doc["frames"] == 49
