"""`--app kws` projects: the generated files (frontend AOT model, kws_config.h, link library), the
microphone only where the Arduino core ships the PDM library, a microWakeWord manifest picked up next
to the model, and a nano33 platformio.ini that PlatformIO parses (building it needs the internet)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tinygen.boards import get_board
from tinygen.config import load_settings
from tinygen.kws.project import has_microphone, kws_app_files
from tinygen.model import load_model
from tinygen.project import generate_project, render_project

MS = "micro_speech/micro_speech_quantized.tflite"


def test_nano33_kws_project_captures_from_the_pdm_microphone(models_dir: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("silence\nunknown\nyes\nno\n")
    project = generate_project("nano33", models_dir / MS, tmp_path / "p", app="kws", labels_path=labels,
                               app_files=kws_app_files)
    root = project.path
    config = (root / "src/model/kws_config.h").read_text()
    assert "#define KWS_MIC 1" in config and '"yes", "no"' in config and "#define KWS_STRIDE_SAMPLES 320u" in config
    assert "#include <PDM.h>" in (root / "src/app/kws_mic_arduino.cpp").read_text()
    for f in ("src/model/kws_frontend_model.c", "src/link/tg_hil.c", "src/link/tg_link.c", "include/tg_hil.h",
              "src/app/tg_kws.c", "src/app/kws_app.c"):
        assert (root / f).is_file(), f
    # Exactly one tg_runtime implementation: the classifier's.
    assert [p.name for p in root.rglob("*tg_runtime*.c")] == ["micro_speech_quantized_tg_runtime.c"]
    env = {"PLATFORMIO_CORE_DIR": str(load_settings().pio_core_dir), "PATH": "/usr/bin:/bin",
           "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no"}
    proc = subprocess.run([sys.executable, "-m", "platformio", "project", "config", "-d", str(root)],
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "framework" in proc.stdout and "arduino" in proc.stdout


def test_microphone_only_with_a_pdm_library_and_manifest_next_to_the_model(models_dir: Path) -> None:
    assert has_microphone(get_board("nano33ble"))
    assert not has_microphone(get_board("disco_f746ng"))  # PDM mics, but STM32duino has no PDM library
    assert not has_microphone(get_board("qemu-m4"))
    files, _, _ = render_project(get_board("qemu-m4"), load_model(models_dir / "micro_wake_word/okay_nabu.tflite"),
                                 app="kws", app_files=kws_app_files)
    config = str(files["src/model/kws_config.h"])
    assert "#define KWS_STRIDE_SAMPLES 160u" in config and '{"Okay Nabu"}' in config
    assert "#define KWS_AVERAGE_WINDOW 5u" in config and "#define KWS_MIC 0" in config
    assert "#define KWS_OUTPUT_UNSIGNED 1" in config and "#define KWS_STREAMING 1" in config
