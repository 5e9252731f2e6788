"""Board definitions: every bundled file validates, aliases resolve, layers override, bad files fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinygen.boards import all_boards, get_board, load_board_file
from tinygen.cli.main import _register, cli
from tinygen.errors import BoardError
from tinygen.resources import boards_dir


def test_bundled_boards_validate_and_include_the_required_ones() -> None:
    names = {b.name for b in all_boards()}
    assert {"nano33ble", "qemu-m4", "nucleo_l4r5zi", "disco_f746ng", "pico"} <= names
    for b in all_boards():
        assert b.flash_limit > 0 and b.ram_limit > 0
        assert b.source.name == f"{b.name}.json"


@pytest.mark.parametrize("alias,name", [("nano33", "nano33ble"), ("NANO33BLE", "nano33ble"),
                                        ("qemu", "qemu-m4"), ("rp2040", "pico")])
def test_aliases(alias: str, name: str) -> None:
    assert get_board(alias).name == name


def test_nano33_facts() -> None:
    b = get_board("nano33")
    assert (b.core, b.clock_hz, b.flash_bytes, b.ram_bytes) == ("cortex-m4f", 64_000_000, 1 << 20, 256 << 10)
    assert (b.pio_platform, b.pio_board, b.pio_framework) == ("nordicnrf52", "nano33ble", "arduino")
    assert b.microphone == "pdm" and b.flash_limit == 983040


def test_unknown_board_names_the_known_ones() -> None:
    with pytest.raises(BoardError) as err:
        get_board("esp32-nope")
    assert "unknown board 'esp32-nope'" in str(err.value) and "nano33ble" in (err.value.hint or "")


def test_project_layer_overrides_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads((boards_dir() / "qemu-m4.json").read_text())
    doc["ram_bytes"] = 65536
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "qemu-m4.json").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    assert get_board("qemu-m4").ram_bytes == 65536


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.pop("clock_hz"), "missing field 'clock_hz'"),
    (lambda d: d["reserved"].pop("stack_bytes"), "missing field 'reserved.stack_bytes'"),
    (lambda d: d.update(core="z80"), "core 'z80'"),
    (lambda d: d.update(ram_bytes="lots"), "'ram_bytes' must be int"),
])
def test_invalid_board_files(tmp_path: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((boards_dir() / "nano33ble.json").read_text())
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(BoardError, match="bad.json") as err:
        load_board_file(path)
    assert needle in str(err.value)


def test_cli_boards_json_and_table() -> None:
    _register()
    runner = CliRunner()
    res = runner.invoke(cli, ["boards", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["schema"] == "tinygen.boards"
    assert "nano33ble" in [b["name"] for b in doc["boards"]]
    table = runner.invoke(cli, ["boards"])
    assert "qemu-m4" in table.output and "nordicnrf52/nano33ble" in table.output


def test_cli_board_details() -> None:
    _register()
    res = CliRunner().invoke(cli, ["boards", "nano33"])
    assert res.exit_code == 0, res.output
    assert "nano33ble: Arduino Nano 33 BLE Sense" in res.output and "64 MHz" in res.output
    assert "pdm (MP34DT05" in res.output and "platform = nordicnrf52" in res.output
    bad = CliRunner().invoke(cli, ["boards", "nope"])
    assert bad.exit_code == 4
