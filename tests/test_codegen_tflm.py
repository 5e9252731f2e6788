"""TFLM backend codegen: C arrays round-trip to identical bytes, compile with -Werror, deterministic."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tinygen.codegen import tflm
from tinygen.codegen.output import write_files
from tinygen.model import load_model
from tinygen.platform.tflm import find_tflm_tree

from .conftest import INT8_MODELS

DUMP_MAIN = r"""
#include <stdio.h>
#include "NAME_model_data.h"
int main(int argc, char **argv) {
  (void)argc;
  FILE *f = fopen(argv[1], "wb");
  if (!f) return 2;
  if ((((unsigned long)NAME_model_data) & 15u) != 0) return 3;  /* 16-byte alignment */
  fwrite(NAME_model_data, 1, UPNAME_MODEL_DATA_LEN, f);
  fclose(f);
  printf("%d %d\n", UPNAME_INPUT0_BYTES, UPNAME_OUTPUT0_BYTES);
  return 0;
}
"""


def _render(model_path: Path, name: str, labels: list[str] | None = None) -> dict[str, str]:
    model = load_model(model_path)
    files = tflm.model_data_files(model, name, labels)
    files[f"{name}_op_resolver.h"] = tflm.op_resolver_file(model, name)
    files[f"{name}_arena.h"] = tflm.arena_file(model, name, tflm.ArenaSizes(1024, 1040))
    return files


@pytest.mark.parametrize("rel", INT8_MODELS)
def test_model_array_round_trips_and_compiles(models_dir: Path, tmp_path: Path, rel: str) -> None:
    name = "m"
    write_files(tmp_path, _render(models_dir / rel, name, labels=["a", 'b"quoted"']))
    (tmp_path / "dump.cc").write_text(DUMP_MAIN.replace("UPNAME", name.upper()).replace("NAME", name))
    exe = tmp_path / "dump"
    subprocess.run(
        ["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
         str(tmp_path / "dump.cc"), str(tmp_path / f"{name}_model_data.cc")],
        check=True, capture_output=True,
    )
    out = subprocess.run([str(exe), str(tmp_path / "copy.tflite")], check=True, capture_output=True, text=True)
    assert (tmp_path / "copy.tflite").read_bytes() == (models_dir / rel).read_bytes()
    model = load_model(models_dir / rel)
    assert out.stdout.split() == [str(model.inputs[0].nbytes), str(model.outputs[0].nbytes)]


@pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None, reason="arm-none-eabi-g++ not installed")
def test_model_array_compiles_for_cortex_m4(models_dir: Path, tmp_path: Path) -> None:
    write_files(tmp_path, _render(models_dir / "micro_speech/micro_speech_quantized.tflite", "kws"))
    obj = tmp_path / "kws.o"
    subprocess.run(
        ["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
         "-std=c++17", "-Wall", "-Wextra", "-Werror", "-c", "-o", str(obj), str(tmp_path / "kws_model_data.cc")],
        check=True, capture_output=True,
    )
    # The array must land in read-only data (flash), not .data (RAM).
    sections = subprocess.run(["arm-none-eabi-objdump", "-h", str(obj)], check=True, capture_output=True, text=True).stdout
    rodata = [line for line in sections.splitlines() if ".rodata" in line]
    assert rodata and int(rodata[0].split()[2], 16) >= 18800
    data = [line for line in sections.splitlines() if " .data " in line]
    assert not data or int(data[0].split()[2], 16) == 0


def test_output_is_deterministic(models_dir: Path) -> None:
    a = _render(models_dir / "mlperf_tiny/kws_ref_model.tflite", "kws")
    b = _render(models_dir / "mlperf_tiny/kws_ref_model.tflite", "kws")
    assert a == b


def test_op_resolver_lists_exactly_the_models_ops(models_dir: Path) -> None:
    text = tflm.op_resolver_file(load_model(models_dir / "micro_speech/audio_preprocessor_int8.tflite"), "pre")
    assert "MicroMutableOpResolver<18>" in text
    for method in ("AddWindow", "AddRfft", "AddFilterBankSpectralSubtraction", "AddPCAN", "AddCast", "AddDiv"):
        assert f"resolver.{method}()" in text
    assert "AddConv2D" not in text


@pytest.mark.tflm
def test_op_resolver_compiles_against_tflm(models_dir: Path, tmp_path: Path) -> None:
    tflm_dir = os.environ.get("TINYGEN_TFLM_DIR")
    if not tflm_dir:
        pytest.skip("no TFLite Micro source tree configured (set TINYGEN_TFLM_DIR)")
    # the include path tinygen's own TFLM builds use: the tree plus flatbuffers, gemmlowp, ruy, kissfft,
    # as system headers (TFLM's are not -Wextra clean; the generated files must be)
    includes = [arg for d in find_tflm_tree(Path(tflm_dir)).include_dirs for arg in ("-isystem", str(d))]
    for rel in ("micro_speech/micro_speech_quantized.tflite", "micro_wake_word/okay_nabu.tflite"):
        files = _render(models_dir / rel, "m")
        write_files(tmp_path, files)
        (tmp_path / "use.cc").write_text('#include "m_op_resolver.h"\nint f() { MOpResolver r; return m_register_ops(r); }\n')
        subprocess.run(
            ["arm-none-eabi-g++", "-mcpu=cortex-m4", "-mthumb", "-std=c++17", "-Wall", "-Wextra", "-Werror",
             "-fno-rtti", "-fno-exceptions", "-DTF_LITE_STATIC_MEMORY",
             *includes, "-c", "-o", str(tmp_path / "use.o"), str(tmp_path / "use.cc")],
            check=True, capture_output=True,
        )
