"""The official MLPerf Tiny runner (mlcommons/tiny benchmark/runner, not part of tinygen) against the
kws01 firmware in QEMU through bench/mlperf/run_runner.py, accuracy mode: the runner completes and
every result it records equals the host reference. Slow (about a minute) and needs the runner:
TINYGEN_MLPERF_RUNNER=/path/to/tiny/benchmark/runner plus its Python deps (pyusb, scikit-learn,
matplotlib, pyyaml); docs/mlperf.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygen.build import build_project
from tinygen.emulator import qemu_available
from tinygen.mlperf.firmware import APP, mlperf_files_for

pytestmark = [pytest.mark.slow, pytest.mark.qemu, pytest.mark.build,
              pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm missing")]
WRAPPER = Path(__file__).resolve().parents[1] / "bench" / "mlperf" / "run_runner.py"


def test_official_runner_completes_accuracy_mode_with_reference_results(models_dir: Path, tmp_path: Path) -> None:
    runner = os.environ.get("TINYGEN_MLPERF_RUNNER")
    if not runner or not (Path(runner) / "main.py").is_file():
        pytest.skip("set TINYGEN_MLPERF_RUNNER to mlcommons/tiny's benchmark/runner directory")
    for module in ("usb", "sklearn", "matplotlib", "yaml"):
        pytest.importorskip(module, reason=f"the runner needs {module}")
    model = models_dir / "mlperf_tiny" / "kws_ref_model.tflite"
    build_project("qemu-m4", model, tmp_path / "fw", app=APP, app_files=mlperf_files_for(None))
    subprocess.run([sys.executable, str(WRAPPER), "dataset", "--model", str(model), "--out", str(tmp_path / "ds")],
                   check=True)
    res = subprocess.run([sys.executable, str(WRAPPER), "run", "--runner", runner, "--project", str(tmp_path / "fw"),
                          "--model", str(model), "--dataset", str(tmp_path / "ds"), "--mode", "a",
                          "--out", str(tmp_path / "sessions")], capture_output=True, text=True, timeout=600,
                         check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "Top 1% =" in res.stdout and "24 results" in res.stdout and "24 equal to the host reference" in res.stdout
