"""PlatformIO packages tinygen provides itself, so builds need no registry.

PlatformIO runs SCons from its `tool-scons` core package and installs it from the registry on first
use. tinygen installs it from the `scons` Python package instead (a dependency of tinygen, from
PyPI): the SCons library is copied into `<core_dir>/packages/tool-scons/` with a `scons.py` launcher,
a package.json, and the `.piopm` metadata PlatformIO's ToolPackageManager looks for (owner
`platformio`, name `tool-scons`, a version matching the spec in platformio.dependencies).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ToolMissingError

SCONS_PACKAGE = "tool-scons"
_LAUNCHER = '''"""SCons launcher installed by tinygen (SCons {real} from PyPI)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "scons-local"))
from SCons.Script import main  # noqa: E402

if __name__ == "__main__":
    main()
'''


def required_scons_version() -> str:
    """The tool-scons version this PlatformIO asks for ("~4.41101.0" -> "4.41101.0")."""
    from platformio.dependencies import get_core_dependencies

    return str(get_core_dependencies()[SCONS_PACKAGE]).lstrip("~^=<> ")


def _scons_source() -> tuple[Path, str]:
    try:
        import SCons
    except ImportError as exc:
        raise ToolMissingError("the Python package 'scons' is not installed (tinygen needs it to build offline)",
                               hint="pip install scons") from exc
    return Path(SCons.__file__).resolve().parent, str(getattr(SCons, "__version__", "unknown"))


def scons_package_dir(core_dir: Path) -> Path:
    return Path(core_dir) / "packages" / SCONS_PACKAGE


def scons_installed(core_dir: Path) -> bool:
    meta = scons_package_dir(core_dir) / ".piopm"
    try:
        doc = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return doc.get("version") == required_scons_version() and (scons_package_dir(core_dir) / "scons.py").is_file()


def ensure_scons(core_dir: Path) -> bool:
    """Install tool-scons into `core_dir` unless present. Returns True when it installed it."""
    if scons_installed(core_dir):
        return False
    source, real_version = _scons_source()
    version = required_scons_version()
    packages = Path(core_dir) / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tinygen-scons-", dir=packages))
    try:
        shutil.copytree(source, staging / "scons-local" / "SCons",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (staging / "scons.py").write_text(_LAUNCHER.format(real=real_version))
        (staging / "package.json").write_text(json.dumps({
            "name": SCONS_PACKAGE, "version": version,
            "description": f"SCons {real_version} from PyPI, packaged by tinygen for offline PlatformIO builds",
            "license": "MIT"}, indent=2))
        (staging / ".piopm").write_text(json.dumps({
            "type": "tool", "name": SCONS_PACKAGE, "version": version,
            "spec": {"owner": "platformio", "id": None, "name": SCONS_PACKAGE, "requirements": None, "uri": None}}))
        target = scons_package_dir(core_dir)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return True
