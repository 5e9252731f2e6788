"""PlatformIO development platform shipped inside tinygen: QEMU mps2-an386, no packages to fetch.

The toolchain is the system `arm-none-eabi-*` (Debian gcc-arm-none-eabi); nothing here touches the
PlatformIO registry, so projects for this platform build fully offline.
"""

from platformio.public import PlatformBase


class TinygenqemuPlatform(PlatformBase):
    """No toolchain packages: the builder uses the compiler on PATH (or TINYGEN_ARM_PREFIX)."""
