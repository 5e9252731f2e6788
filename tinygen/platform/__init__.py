"""What tinygen hands to PlatformIO besides the project: its own development platform for QEMU
(`qemu/`: platform.json, platform.py, builder/main.py, a board manifest) and the description of a
local TFLite Micro tree as a PlatformIO library (`tflm`).

The QEMU platform needs no packages from the PlatformIO registry: it compiles with the system
`arm-none-eabi-gcc`, so `tinygen build --board qemu-m4` works fully offline.
"""

from __future__ import annotations

from pathlib import Path

QEMU_PLATFORM_DIR = Path(__file__).resolve().parent / "qemu"


def qemu_platform_uri() -> str:
    """`platform =` value for platformio.ini: a symlink to the platform shipped in tinygen."""
    return f"symlink://{QEMU_PLATFORM_DIR}"
