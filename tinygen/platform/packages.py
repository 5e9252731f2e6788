"""A folder of PlatformIO packages for offline / air-gapped real-board builds.

A user copies the packages a real board needs (development platform, framework, toolchain, tools,
libraries) from a connected machine, or unpacks them from archives, into one folder and points
tinygen at it (`--packages DIR`, `TINYGEN_PIO_PACKAGES`, or `pio_packages` in the config file).
Each package is one sub-directory (or a `.tar.gz` / `.tgz` / `.zip` archive of one), recognised by
its manifest:

    platform.json                     a development platform (its "name", e.g. nordicnrf52)
    package.json                      a tool, toolchain or framework (its "name",
                                      e.g. toolchain-gccarmnoneeabi, framework-arduino-mbed)
    library.json | library.properties a library (its "name", e.g. Arduino_TensorFlowLite)

This module only reads the folder; `tinygen.build.packages` installs it with PlatformIO's own
package manager (`pio pkg install -g ... file://`), and the project pins what it uses:
`platform_packages = NAME@file://...` for the platform's tools (PlatformIO then takes the installed
copy whatever version the platform would ask the registry for) and `lib_deps = NAME=file://...` for
libraries. A package already in `~/.platformio/packages/NAME` on a connected machine is such a
directory: copy it as it is.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

KINDS = ("platform", "tool", "library")
_ARCHIVES = (".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True)
class LocalPackage:
    kind: str        # "platform" | "tool" | "library"
    name: str        # the manifest's name (platform id, package name, library name)
    version: str
    path: Path       # the directory or archive

    @property
    def uri(self) -> str:
        return f"file://{self.path}"


@dataclass(frozen=True)
class PackageFolder:
    root: Path
    packages: tuple[LocalPackage, ...]

    def find(self, kind: str, name: str) -> LocalPackage | None:
        for pkg in self.packages:
            if pkg.kind == kind and pkg.name.lower() == name.lower():
                return pkg
        return None

    def platform(self, name: str) -> LocalPackage | None:
        return self.find("platform", name)

    def platform_tools(self, platform_name: str) -> list[LocalPackage]:
        """The folder's tools that `platform_name` declares in its platform.json (sorted by name)."""
        platform = self.platform(platform_name)
        if platform is None:
            return []
        declared = {n.lower() for n in _platform_package_names(platform.path)}
        return sorted((p for p in self.packages if p.kind == "tool" and p.name.lower() in declared),
                      key=lambda p: p.name)


def library_root(pkg: LocalPackage, cache_root: Path) -> Path:
    """The `lib_extra_dirs` directory for a folder library (the library itself is `<it>/<name>`):
    one per library path, beside the build cache (`tinygen.build.packages.install_folder_library`)."""
    key = hashlib.sha256(str(pkg.path).encode()).hexdigest()[:12]
    return Path(cache_root).parent / "folder-libs" / key


def _read_manifest(path: Path) -> tuple[str, dict[str, object]] | None:
    """(kind, manifest) of a package directory or archive, None when it holds no manifest."""
    names = {"platform.json": "platform", "package.json": "tool", "library.json": "library"}
    if path.is_dir():
        for fname, kind in names.items():
            if (path / fname).is_file():
                return kind, _json(path / fname)
        if (path / "library.properties").is_file():
            return "library", _properties((path / "library.properties").read_text(errors="replace"))
        return None
    for fname, kind in names.items():
        text = _archive_member(path, fname)
        if text is not None:
            return kind, _json_text(text, path / fname)
    text = _archive_member(path, "library.properties")
    return ("library", _properties(text)) if text is not None else None


def _archive_member(path: Path, fname: str) -> str | None:
    """The text of `fname` at the top of an archive (or one directory down, as GitHub archives are)."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    if member == fname or (member.count("/") == 1 and member.endswith("/" + fname)):
                        return zf.read(member).decode("utf-8", "replace")
            return None
        with tarfile.open(path) as tf:
            for info in tf:
                member = info.name.removeprefix("./")
                if info.isfile() and (member == fname or (member.count("/") == 1 and member.endswith("/" + fname))):
                    f = tf.extractfile(info)
                    return f.read().decode("utf-8", "replace") if f else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise UsageError(f"cannot read package archive {path}: {exc}") from exc
    return None


def _json(path: Path) -> dict[str, object]:
    return _json_text(path.read_text(errors="replace"), path)


def _json_text(text: str, where: Path) -> dict[str, object]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}", hint="fix or remove that package") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{where} is not a JSON object", hint="fix or remove that package")
    return doc


def _properties(text: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            out[key.strip()] = value.strip()
    return out


def _platform_package_names(path: Path) -> list[str]:
    kind_doc = _read_manifest(path)
    if kind_doc is None:
        return []
    packages = kind_doc[1].get("packages", {})
    return list(packages) if isinstance(packages, dict) else []


def read_package_folder(root: Path) -> PackageFolder:
    """Every package in `root` (sub-directories and archives with a manifest; others ignored)."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"packages folder {root} does not exist",
                         hint="pass --packages DIR (or TINYGEN_PIO_PACKAGES) naming a folder of PlatformIO "
                              "packages (docs/boards.md, 'Air-gapped real-board builds')")
    found: list[LocalPackage] = []
    for entry in sorted(root.iterdir()):
        if not (entry.is_dir() or entry.name.endswith(_ARCHIVES)):
            continue
        manifest = _read_manifest(entry)
        if manifest is None:
            continue
        kind, doc = manifest
        name = str(doc.get("name") or "").strip()
        if not name:
            raise UsageError(f"package {entry} has a manifest without a name", hint="fix or remove that package")
        found.append(LocalPackage(kind, name, str(doc.get("version") or "0.0.0"), entry))
    names = [(p.kind, p.name.lower()) for p in found]
    dupes = sorted({f"{k} {n}" for k, n in names if names.count((k, n)) > 1})
    if dupes:
        raise UsageError(f"packages folder {root} holds more than one {dupes[0]}",
                         hint="keep one version of each package in the folder")
    return PackageFolder(root, tuple(found))
