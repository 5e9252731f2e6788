"""Settings: environment variables, then `~/.config/tinygen/config.toml`, then defaults.

    [tinygen]
    tflm_dir = "/opt/tflite-micro"       # local TFLite Micro tree (offline / air-gapped builds)
    pio_core_dir = "~/.tinygen/platformio"
    build_cache_dir = "~/.tinygen/platformio/build-cache"   # objects shared between projects
    boards_dir = "~/my-boards"           # extra board definitions (*.json)
    pio_packages = "/media/usb/pio-packages"   # PlatformIO packages for air-gapped real-board builds

Environment variables win: TINYGEN_TFLM_DIR, TINYGEN_PIO_CORE_DIR, TINYGEN_BUILD_CACHE, TINYGEN_BOARDS_DIR,
TINYGEN_PIO_PACKAGES (a folder of PlatformIO packages: tinygen.platform.packages),
TINYGEN_PIO_REGISTRY (host:port probed before a build that needs the registry), TINYGEN_CONFIG
(another config file). Explicit function/CLI arguments win over both.

tinygen runs PlatformIO with its own core directory by default, so a user's ~/.platformio (and its
installed platforms) is never touched; point TINYGEN_PIO_CORE_DIR at ~/.platformio to share it.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Settings:
    tflm_dir: Path | None
    pio_core_dir: Path
    boards_dir: Path | None
    build_cache_dir: Path = DEFAULT_BUILD_CACHE
    pio_timeout: float = 1800.0        # seconds for one `pio run` before tinygen gives up
    registry_probe_timeout: float = 3.0  # seconds to decide whether the PlatformIO registry answers
    pio_registry: str = "api.registry.platformio.org:443"  # probed before builds that need it
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
        pio_packages=_path(pick("TINYGEN_PIO_PACKAGES", "pio_packages")),
    )
