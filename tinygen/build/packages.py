"""PlatformIO packages tinygen provides itself, so builds need no registry.

Two kinds: `tool-scons` (below), and a user's folder of packages for real boards
(`install_local_packages`, see tinygen.platform.packages).

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
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from ..errors import BuildError, ToolMissingError
from ..platform.packages import LocalPackage, PackageFolder, library_root
from ..report import Reporter

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


# --- a folder of PlatformIO packages (offline / air-gapped real boards) -----------------------------

_PIO_KIND_OPTION = {"platform": "--platform", "tool": "--tool", "library": "--library"}


def _installed_uri(meta: Path) -> str | None:
    try:
        doc = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    uri = spec.get("uri") if isinstance(spec, dict) else None
    return uri if isinstance(uri, str) else None


def installed_from(core_dir: Path, pkg: LocalPackage) -> bool:
    """True when `pkg` is installed in `core_dir` from exactly its file:// URI (PlatformIO's .piopm)."""
    base = Path(core_dir) / ("platforms" if pkg.kind == "platform" else "packages")
    return _installed_uri(base / pkg.name / ".piopm") == pkg.uri


def install_local_packages(folder: PackageFolder, platform_name: str, core_dir: Path, env: dict[str, str],
                           reporter: Reporter) -> list[LocalPackage]:
    """Install the platform `platform_name` and its tools from `folder` into `core_dir` with
    PlatformIO's package manager (`pio pkg install -g --skip-dependencies ... file://`), skipping
    those already installed from the same place. Libraries: `install_folder_library`. Returns what
    it installed."""
    platform = folder.platform(platform_name)
    if platform is None:
        raise ToolMissingError(
            f"the packages folder {folder.root} has no PlatformIO platform '{platform_name}'",
            hint=f"copy the '{platform_name}' platform into it (from ~/.platformio/platforms/{platform_name} "
                 "of a connected machine, or its release archive); docs/boards.md")
    todo = [p for p in [platform, *folder.platform_tools(platform_name)] if not installed_from(core_dir, p)]
    for pkg in todo:
        reporter.step(f"installing {pkg.kind} {pkg.name} {pkg.version} from {pkg.path} into {core_dir}")
        cmd = [sys.executable, "-m", "platformio", "pkg", "install", "-g", "--skip-dependencies",
               _PIO_KIND_OPTION[pkg.kind], pkg.uri]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0 or not installed_from(core_dir, pkg):
            last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
            raise BuildError(f"PlatformIO could not install {pkg.name} from {pkg.path}: {last}",
                             hint="check that the directory is a complete PlatformIO package (docs/boards.md)")
    return todo


def install_folder_library(pkg: LocalPackage, cache_root: Path) -> Path:
    """Make the folder library `pkg` visible to PlatformIO's library finder as
    `library_root(pkg)/<name>`: a symlink to a directory, an archive unpacked once (its single
    top-level directory, as GitHub archives have, taken as the library). Returns the library root."""
    root = library_root(pkg, cache_root)
    target = root / pkg.name
    if pkg.path.is_dir():
        if target.is_symlink() and target.resolve() == pkg.path.resolve():
            return root
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{pkg.name}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(pkg.path.resolve(), target_is_directory=True)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        tmp.replace(target)
        return root
    if target.is_dir():
        return root
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
    try:
        try:
            if pkg.path.name.endswith(".zip"):
                with zipfile.ZipFile(pkg.path) as zf:
                    zf.extractall(staging)
            else:
                with tarfile.open(pkg.path) as tf:
                    if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: no paths outside
                        tf.extractall(staging, filter="data")
                    else:
                        tf.extractall(staging)
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise BuildError(f"cannot unpack library archive {pkg.path}: {exc}",
                             hint="replace it with a good copy, or unpack it into the packages folder") from exc
        entries = list(staging.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        top.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
