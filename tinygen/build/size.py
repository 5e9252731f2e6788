"""Memory report of a linked firmware: flash and RAM per region against the board's limits.

Read from the ELF with pyelftools (a PlatformIO dependency). Sections give the totals (flash: code,
constants and the initial values of .data; RAM: .data, .bss and the stack section); symbols split
them into regions: the model (objects named after the model, `NAME_*`), the tensor arena (RAM
objects with "arena" in their name), the stack, and everything else (code, libraries, app data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ..boards import Board
from ..errors import BuildError


@dataclass(frozen=True)
class Region:
    """One memory (flash or RAM): used bytes split into parts, and the board's limit."""

    name: str
    parts: dict[str, int]
    limit: int

    @property
    def used(self) -> int:
        return sum(self.parts.values())

    @property
    def free(self) -> int:
        return self.limit - self.used

    @property
    def fits(self) -> bool:
        return self.used <= self.limit

    def to_json(self) -> dict[str, Any]:
        return {"used": self.used, "limit": self.limit, "free": self.free, "fits": self.fits, "parts": self.parts}


@dataclass(frozen=True)
class MemoryReport:
    board: str
    flash: Region
    ram: Region

    @property
    def fits(self) -> bool:
        return self.flash.fits and self.ram.fits

    def to_json(self) -> dict[str, Any]:
        return {"board": self.board, "flash": self.flash.to_json(), "ram": self.ram.to_json(), "fits": self.fits}

    def lines(self) -> list[str]:
        """The report for people, one region per block."""
        out = [f"memory report for {self.board}"]
        for region in (self.flash, self.ram):
            pct = 100.0 * region.used / region.limit if region.limit else 0.0
            mark = "" if region.fits else f"   DOES NOT FIT: {region.used - region.limit} bytes over"
            out.append(f"  {region.name:5s} {region.used:9d} of {region.limit:9d} bytes ({pct:5.1f}%){mark}")
            for part, size in region.parts.items():
                out.append(f"    {part:14s} {size:9d}")
        return out

    def check(self) -> None:
        """Raise FirmwareTooBig when a region exceeds the board's limit."""
        for region in (self.flash, self.ram):
            if not region.fits:
                raise FirmwareTooBig(
                    f"firmware does not fit {self.board}: {region.name} needs {region.used} bytes, "
                    f"the board has {region.limit} ({region.used - region.limit} bytes over)",
                    hint="use a smaller model, or a board with more memory (tinygen boards)")


# RAM objects that are the stack setup()/loop() run on: Mbed OS's main-thread stack (ArduinoCore-mbed)
STACK_OBJECTS = frozenset({"_main_stack"})


class FirmwareTooBig(BuildError):
    """The image exceeds the board's flash or RAM."""


def memory_report(elf_path: Path, board: Board, model_prefix: str) -> MemoryReport:
    """Split the image into regions. `model_prefix` is the model's C name (its symbols start with it)."""
    with open(elf_path, "rb") as fh:
        elf = ELFFile(fh)
        flash_total = ram_data = ram_bss = stack = 0
        ranges: list[tuple[int, int, str]] = []  # (start, end, kind) of allocated sections
        for sec in elf.iter_sections():
            flags, size = sec["sh_flags"], sec["sh_size"]
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            nobits = sec["sh_type"] == "SHT_NOBITS"
            writable = bool(flags & SH_FLAGS.SHF_WRITE)
            if sec.name == ".stack":
                stack += size
                kind = "stack"
            elif nobits:
                ram_bss += size
                kind = "ram"
            elif writable:
                ram_data += size
                flash_total += size  # initial values live in flash
                kind = "ram"
            else:
                flash_total += size
                kind = "flash"
            ranges.append((sec["sh_addr"], sec["sh_addr"] + size, kind))
        model_flash = arena = model_ram = stack_object = 0
        symtab = elf.get_section_by_name(".symtab")
        symbols = symtab.iter_symbols() if isinstance(symtab, SymbolTableSection) else iter(())
        for sym in symbols:
            if sym["st_info"]["type"] != "STT_OBJECT" or sym["st_size"] == 0:
                continue
            where = _kind_at(ranges, sym["st_value"])
            name = sym.name
            if where == "flash" and name.startswith(model_prefix):
                model_flash += sym["st_size"]
            elif where == "ram" and "arena" in name.lower():
                arena += sym["st_size"]
            elif where == "ram" and name.startswith(model_prefix):
                model_ram += sym["st_size"]
            elif where == "ram" and name in STACK_OBJECTS:
                stack_object += sym["st_size"]
    if stack == 0 and stack_object:  # the app's stack is an object of the image (Mbed OS: _main_stack)
        stack, ram_bss = stack_object, ram_bss - stack_object
    elif stack == 0 and not board.emulated:
        stack = board.stack_bytes  # the framework reserves it outside the image
    flash = Region("flash", {"model": model_flash, "code+const": flash_total - model_flash}, board.flash_limit)
    ram = Region("RAM", {"arena": arena, "model state": model_ram, "stack": stack,
                         "static data": ram_data + ram_bss - arena - model_ram}, board.ram_limit)
    return MemoryReport(board.name, flash, ram)


def _kind_at(ranges: list[tuple[int, int, str]], addr: int) -> str | None:
    for start, end, kind in ranges:
        if start <= addr < end:
            return kind
    return None
