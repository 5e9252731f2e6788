"""verify: metrics, inputs, reports (pure), and the whole loop against real firmware: the HIL app
with tinygen's AOT code for hello_world, compiled for the host board (TCP serial), checked against
the PyPI tflite-micro reference. Faults are injected on the real link."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from tinygen.errors import UsageError
from tinygen.link import Device, Link, LinkConfig
from tinygen.link.local import LocalFirmware, build_host
from tinygen.link.transport import Transport
from tinygen.model import load_model
from tinygen.reference import Reference
from tinygen.verify import OutputStats, compare_outputs, load_inputs, random_inputs, run_cases
from tinygen.verify.report import junit_xml, result_dict, write_reports


def test_metrics() -> None:
    s = OutputStats("y", zero_point=0)
    assert s.add("a", np.array([1, 2, 3]), np.array([1, 2, 3]))
    assert not s.add("b", np.array([1, 2, 5]), np.array([1, 2, 3]))
    assert s.add("c", np.array([1, 2, 5]), np.array([1, 2, 3]), tolerance=2)
    assert (s.count, s.exact, s.max_abs_error, s.mismatched_inputs) == (3, 1, 2, ["b"])
    assert s.rmse == pytest.approx(np.sqrt(8 / 9))
    assert s.top1_rate == 1.0 and 0.9 < s.cosine < 1.0
    t = OutputStats("z", zero_point=-128)
    assert compare_outputs([t], "x", [np.array([-128, -128])], [np.array([-128, -128])])
    assert t.cosine == 1.0  # both all-zero in real terms


def test_random_inputs_are_seeded_and_typed(models_dir: Path) -> None:
    ref = Reference.from_file(models_dir / "micro_speech" / "micro_speech_quantized.tflite")
    a, b = random_inputs(ref.inputs, 3, seed=5), random_inputs(ref.inputs, 3, seed=5)
    assert [c.name for c in a] == ["random-0000", "random-0001", "random-0002"]
    assert all(np.array_equal(x.arrays[0], y.arrays[0]) for x, y in zip(a, b))
    assert a[0].arrays[0].dtype == np.int8 and a[0].arrays[0].shape == (1, 1960)


def test_npz_and_npy_inputs(tmp_path: Path, models_dir: Path) -> None:
    ref = Reference.from_file(models_dir / "hello_world" / "hello_world_int8.tflite")
    np.savez(tmp_path / "cases.npz", b=np.array([[5]], np.int8), a=np.array([1, 2, 3], np.int8))  # a: 3 stacked
    np.save(tmp_path / "z.npy", np.array([0.5], np.float32))   # float: quantized like the model
    cases = load_inputs([tmp_path], ref.inputs)
    assert [c.name for c in cases] == ["cases.npz:a[0]", "cases.npz:a[1]", "cases.npz:a[2]", "cases.npz:b", "z.npy"]
    assert int(cases[4].arrays[0][0, 0]) == int(ref.inputs[0].quantize(np.array([0.5]))[0])
    np.save(tmp_path / "bad.npy", np.zeros(7, np.int8))
    with pytest.raises(UsageError, match="bad.npy: 7 values"):
        load_inputs([tmp_path / "bad.npy"], ref.inputs)
    with pytest.raises(UsageError, match="not found"):
        load_inputs([tmp_path / "missing.npz"], ref.inputs)


@pytest.fixture(scope="module")
def hello_host(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    """HIL firmware for the host board running tinygen's AOT code for hello_world."""
    if shutil.which("cc") is None:
        pytest.skip("no host C compiler")
    from tinygen.convert import convert

    d = tmp_path_factory.mktemp("hello_aot")
    convert(models_dir / "hello_world" / "hello_world_int8.tflite", d / "src", runtime="aot")
    return build_host(d / "hil_host", sorted((d / "src").glob("*.c")), (d / "src",))


@pytest.fixture
def hello(hello_host: Path, models_dir: Path) -> Iterator[tuple[LocalFirmware, Device, Reference, Path]]:
    model = models_dir / "hello_world" / "hello_world_int8.tflite"
    with LocalFirmware(hello_host) as fw:
        assert fw.transport is not None
        dev = Device(Link(fw.transport, LinkConfig(timeout=0.5, invoke_timeout=0.5, retries=1)))
        dev.connect()
        yield fw, dev, Reference.from_file(model), model


def test_verify_bit_exact_with_reports(hello: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    fw, dev, ref, model = hello
    cases = random_inputs(ref.inputs, 20, seed=1)
    r = run_cases(dev, ref, cases, str(model), load_model(model).sha256)
    assert r.ok and r.completed == 20 and r.outputs[0].exact == 20 and r.outputs[0].max_abs_error == 0
    assert r.device["runtime"] == "aot" and r.device["board"] == "host"
    write_reports(r, [c.name for c in cases], tmp_path / "r.json", tmp_path / "r.xml")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["schema"] == "tinygen.verify" and doc["ok"] and len(doc["inputs"]) == 20
    assert doc["performance"]["arena_used"] == dev.info.arena_used
    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert suite.get("tests") == "20" and suite.get("failures") == "0"


def test_device_of_another_model_is_refused(hello: tuple, models_dir: Path) -> None:  # type: ignore[type-arg]
    fw, dev, _, _ = hello
    other = models_dir / "micro_speech" / "micro_speech_quantized.tflite"
    with pytest.raises(UsageError, match="runs another model"):
        run_cases(dev, Reference.from_file(other), [], str(other), load_model(other).sha256)


class KillAfter(Transport):
    """Kills the firmware process when the n-th frame is about to be written."""

    def __init__(self, fw: LocalFirmware, n: int) -> None:
        assert fw.transport is not None
        super().__init__(fw.transport._ser, fw.transport.name)
        self.fw, self.n, self.writes = fw, n, 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes == self.n:
            self.fw.kill()
        super().write(data)


def test_device_dying_mid_run_reports_inputs_done(hello: tuple) -> None:  # type: ignore[type-arg]
    fw, dev, ref, model = hello
    dev.link.transport = KillAfter(fw, 1 + 2 * 7 + 1)  # RESET, 7 inputs x (write, invoke+outputs), then dies
    cases = random_inputs(ref.inputs, 12, seed=2)
    r = run_cases(dev, ref, cases, str(model), load_model(model).sha256)
    assert not r.ok and r.error is not None
    assert [c.name for c in r.cases] == [c.name for c in cases[:7]]
    xml = junit_xml(r, [c.name for c in cases])
    assert xml.count("<error") == 5 and result_dict(r)["completed"] == 7
