"""Board definitions: one JSON file per board, validated, looked up in layers, with aliases.

Layers, first match wins: `./boards/` of the current project, the user's boards directory
(TINYGEN_BOARDS_DIR or `boards_dir` in the config), then the boards bundled with tinygen. A board
is found by its name or any of its aliases ("nano33" -> "nano33ble").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .config import load_settings
from .errors import BoardError
from .resources import boards_dir as bundled_boards_dir

CORES = ("cortex-m0plus", "cortex-m4", "cortex-m4f", "cortex-m7f", "cortex-m33f", "cortex-m55")
FAMILIES = ("arduino", "qemu")
COST_UNITS = ("cycles", "instructions")

# field -> type; nested objects are checked one level down
_SCHEMA: dict[str, Any] = {
    "name": str, "aliases": list, "title": str, "vendor": str, "url": str, "family": str, "mcu": str,
    "core": str, "clock_hz": int, "flash_bytes": int, "ram_bytes": int, "cost_unit": str,
    "reserved": {"flash_bytes": int, "ram_bytes": int, "stack_bytes": int, "note": str},
    "serial": {"baud": int, "kind": str, "note": str},
    "microphone": {"kind": str, "part": str, "sample_rate": int},
    "upload": {"method": str, "note": str},
    "platformio": {"platform": str, "board": str, "framework": str, "upload_protocol": str,
                   "maximum_size": int, "maximum_ram_size": int},
}


@dataclass(frozen=True)
class Board:
    """One board, as its definition file says. `raw` keeps the whole document for `--json`."""

    name: str
    aliases: tuple[str, ...]
    title: str
    family: str
    mcu: str
    core: str
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    reserved_flash: int
    reserved_ram: int
    stack_bytes: int
    serial_baud: int
    microphone: str
    upload_method: str
    cost_unit: str
    pio_platform: str
    pio_board: str
    pio_framework: str
    pio_upload_protocol: str
    source: Path
    raw: dict[str, Any]
    # serial port: USB VID:PID of the board's port (auto-detection), whether the host must assert
    # DTR (USB CDC firmware waits for it: `while (!Serial)`), whether opening the port resets it
    usb_ids: tuple[tuple[int, int], ...] = ()
    serial_dtr: bool = True
    reset_on_open: bool = False

    @property
    def emulated(self) -> bool:
        return self.family == "qemu"

    @property
    def flash_limit(self) -> int:
        """Bytes of flash the firmware may use."""
        return min(self.flash_bytes - self.reserved_flash, int(self.raw["platformio"]["maximum_size"]))

    @property
    def ram_limit(self) -> int:
        """Bytes of RAM the linked image may use (.data + .bss + stack): RAM minus what the
        framework takes at run time outside the image (heap, OS)."""
        return self.ram_bytes - self.reserved_ram

    @property
    def has_fpu(self) -> bool:
        return self.core.endswith("f")


def _check(doc: dict[str, Any], schema: dict[str, Any], where: str, path: Path) -> None:
    for key, typ in schema.items():
        if key not in doc:
            raise BoardError(f"board file {path}: missing field '{where}{key}'",
                             hint="see docs/boards.md for the board schema")
        value = doc[key]
        if isinstance(typ, dict):
            if not isinstance(value, dict):
                raise BoardError(f"board file {path}: '{where}{key}' must be an object")
            _check(value, typ, f"{where}{key}.", path)
        elif not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise BoardError(f"board file {path}: '{where}{key}' must be {typ.__name__}")


def _usb_ids(serial: dict[str, Any], source: Path) -> tuple[tuple[int, int], ...]:
    """`serial.usb_ids`: ["2341:805a", ...] (hex vendor:product), optional."""
    listed = serial.get("usb_ids", [])
    ids: list[tuple[int, int]] = []
    for item in listed if isinstance(listed, list) else [listed]:
        vid, sep, pid = str(item).partition(":")
        try:
            if not sep or len(vid) != 4 or len(pid) != 4:
                raise ValueError(item)
            ids.append((int(vid, 16), int(pid, 16)))
        except ValueError:
            raise BoardError(f"board file {source}: serial.usb_ids entry {item!r} is not 'vvvv:pppp' (hex)") from None
    for key in ("dtr", "reset_on_open"):
        if key in serial and not isinstance(serial[key], bool):
            raise BoardError(f"board file {source}: 'serial.{key}' must be true or false")
    return tuple(ids)


def parse_board(doc: dict[str, Any], source: Path) -> Board:
    """Validate one board document."""
    _check(doc, _SCHEMA, "", source)
    for field_name, allowed in (("core", CORES), ("family", FAMILIES), ("cost_unit", COST_UNITS)):
        if doc[field_name] not in allowed:
            raise BoardError(f"board file {source}: {field_name} '{doc[field_name]}' is not one of {', '.join(allowed)}")
    if doc["flash_bytes"] <= 0 or doc["ram_bytes"] <= 0:
        raise BoardError(f"board file {source}: flash_bytes and ram_bytes must be positive")
    res, pio = doc["reserved"], doc["platformio"]
    return Board(
        name=doc["name"], aliases=tuple(doc["aliases"]), title=doc["title"], family=doc["family"],
        mcu=doc["mcu"], core=doc["core"], clock_hz=doc["clock_hz"], flash_bytes=doc["flash_bytes"],
        ram_bytes=doc["ram_bytes"], reserved_flash=res["flash_bytes"], reserved_ram=res["ram_bytes"],
        stack_bytes=res["stack_bytes"], serial_baud=doc["serial"]["baud"],
        microphone=doc["microphone"]["kind"], upload_method=doc["upload"]["method"],
        cost_unit=doc["cost_unit"], pio_platform=pio["platform"], pio_board=pio["board"],
        pio_framework=pio["framework"], pio_upload_protocol=pio["upload_protocol"], source=source, raw=doc,
        usb_ids=_usb_ids(doc["serial"], source), serial_dtr=bool(doc["serial"].get("dtr", True)),
        reset_on_open=bool(doc["serial"].get("reset_on_open", False)),
    )


def load_board_file(path: Path) -> Board:
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise BoardError(f"cannot read board file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise BoardError(f"board file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(doc, dict):
        raise BoardError(f"board file {path} must hold a JSON object")
    return parse_board(doc, Path(path))


def search_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Directories searched for board files, highest priority first."""
    dirs = [Path(p) for p in extra] + [Path.cwd() / "boards"]
    user = load_settings().boards_dir
    if user is not None:
        dirs.append(user)
    dirs.append(bundled_boards_dir())
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return seen


def all_boards(extra_dirs: Iterable[Path] = ()) -> list[Board]:
    """Every board, a higher layer hiding a lower one of the same name; sorted by name."""
    found: dict[str, Board] = {}
    for d in search_dirs(extra_dirs):
        for path in sorted(d.glob("*.json")):
            board = load_board_file(path)
            found.setdefault(board.name, board)
    return sorted(found.values(), key=lambda b: b.name)


def get_board(name: str, extra_dirs: Iterable[Path] = ()) -> Board:
    """The board called `name` (or aliased so)."""
    boards = all_boards(extra_dirs)
    key = name.strip().lower()
    for board in boards:
        if key == board.name.lower() or key in (a.lower() for a in board.aliases):
            return board
    known = ", ".join(b.name for b in boards)
    raise BoardError(f"unknown board '{name}'", hint=f"known boards: {known} (tinygen boards lists them)")


# Platforms whose Arduino core ships the PDM microphone library (ArduinoCore-mbed: libraries/PDM).
PDM_LIBRARY_PLATFORMS = ("nordicnrf52",)


def has_pdm_microphone(board: Board) -> bool:
    """True when firmware can capture from the board's PDM microphone with the core's PDM library."""
    return (board.microphone == "pdm" and board.pio_framework == "arduino"
            and board.pio_platform in PDM_LIBRARY_PLATFORMS)
