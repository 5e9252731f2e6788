"""Settings: environment variables, then `~/.config/tinygen/config.toml`, then defaults.

    [tinygen]
    tflm_dir = "/opt/tflite-micro"       # local TFLite Micro tree (offline / air-gapped builds)
    pio_core_dir = "~/.tinygen/platformio"
    build_cache_dir = "~/.tinygen/platformio/build-cache"   # objects shared between projects
    cache_dir = "~/.cache/tinygen"       # host libraries, cached HIL/kws firmware builds
    boards_dir = "~/my-boards"           # extra board definitions (*.json)
    pio_packages = "/media/usb/pio-packages"   # PlatformIO packages for air-gapped real-board builds

This module is the only place tinygen reads its environment variables (docs/configuration.md lists
them all): TINYGEN_TFLM_DIR, TINYGEN_PIO_CORE_DIR, TINYGEN_BUILD_CACHE, TINYGEN_CACHE_DIR (the
deprecated TINYGEN_CACHE is read when it is unset), TINYGEN_BOARDS_DIR, TINYGEN_PIO_PACKAGES (a folder of
PlatformIO packages: tinygen.platform.packages), TINYGEN_PIO_REGISTRY
(host:port probed before a build that needs the registry), TINYGEN_ARM_PREFIX (cross-compiler
prefix for the emulated board), TINYGEN_CONFIG (another config file), and the standard CC, CXX and
XDG_CACHE_HOME. They win over the config file; explicit function/CLI arguments win over both.

tinygen runs PlatformIO with its own core directory by default, so a user's ~/.platformio (and its
installed platforms) is never touched; point TINYGEN_PIO_CORE_DIR at ~/.platformio to share it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None  # type: ignore[assignment]

DEFAULT_CONFIG = Path("~/.config/tinygen/config.toml")
DEFAULT_PIO_CORE_DIR = Path("~/.tinygen/platformio")
DEFAULT_BUILD_CACHE = DEFAULT_PIO_CORE_DIR / "build-cache"
DEFAULT_ARM_PREFIX = "arm-none-eabi-"
CACHE_DIR_ENV = "TINYGEN_CACHE_DIR"
DEPRECATED_CACHE_DIR_ENV = "TINYGEN_CACHE"  # the old name, still read when TINYGEN_CACHE_DIR is unset


@dataclass(frozen=True)
class Settings:
    tflm_dir: Path | None
    pio_core_dir: Path
    boards_dir: Path | None
    build_cache_dir: Path = DEFAULT_BUILD_CACHE
    pio_timeout: float = 1800.0        # seconds for one `pio run` before tinygen gives up
    registry_probe_timeout: float = 3.0  # seconds to decide whether the PlatformIO registry answers
    pio_registry: str = "api.registry.platformio.org:443"  # probed before builds that need it
    cache_dir: Path = Path("~/.cache/tinygen")  # hostrun/ libraries, hil/ and kws/ firmware builds
    arm_prefix: str = DEFAULT_ARM_PREFIX  # cross-compiler prefix for the emulated board
    cc: str | None = None  # host C compiler for hostrun ($CC), else cc/gcc/clang on PATH
    cxx: str | None = None  # host C++ compiler for a TFLM tree's host build ($CXX), else c++/g++/clang++
    pio_packages: Path | None = None     # folder of PlatformIO packages for offline real-board builds


def _config_file() -> Path:
    return Path(os.environ.get("TINYGEN_CONFIG", str(DEFAULT_CONFIG))).expanduser()


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file() or tomllib is None:
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}",
                         hint="fix the TOML or set TINYGEN_CONFIG to another file") from exc
    section = data.get("tinygen", {})
    return section if isinstance(section, dict) else {}


def _path(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value not in (None, "") else None


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path("~/.cache").expanduser()) / "tinygen"


def _cache_dir_env() -> str | None:
    value = os.environ.get(CACHE_DIR_ENV)
    if value:
        return value
    old = os.environ.get(DEPRECATED_CACHE_DIR_ENV)
    if old:
        warnings.warn(f"{DEPRECATED_CACHE_DIR_ENV} is deprecated: set {CACHE_DIR_ENV} instead",
                      DeprecationWarning, stacklevel=3)
    return old or None


def load_settings() -> Settings:
    """The effective settings (read each call: cheap, and tests can change the environment)."""
    conf = _read_config(_config_file())

    def pick(env: str, key: str) -> Any:
        return os.environ.get(env) or conf.get(key)

    return Settings(
        tflm_dir=_path(pick("TINYGEN_TFLM_DIR", "tflm_dir")),
        pio_core_dir=_path(pick("TINYGEN_PIO_CORE_DIR", "pio_core_dir")) or DEFAULT_PIO_CORE_DIR.expanduser(),
        boards_dir=_path(pick("TINYGEN_BOARDS_DIR", "boards_dir")),
        build_cache_dir=_path(pick("TINYGEN_BUILD_CACHE", "build_cache_dir")) or DEFAULT_BUILD_CACHE.expanduser(),
        pio_registry=str(pick("TINYGEN_PIO_REGISTRY", "pio_registry") or Settings.pio_registry),
        cache_dir=_path(_cache_dir_env() or conf.get("cache_dir")) or _default_cache_dir(),
        arm_prefix=os.environ.get("TINYGEN_ARM_PREFIX") or DEFAULT_ARM_PREFIX,
        cc=os.environ.get("CC") or None,
        cxx=os.environ.get("CXX") or None,
        pio_packages=_path(pick("TINYGEN_PIO_PACKAGES", "pio_packages")),
    )
