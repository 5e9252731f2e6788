"""Settings: one module reads the environment, every variable it reads is documented, and the one
cache-dir variable (TINYGEN_CACHE_DIR) keeps its deprecated alias (TINYGEN_CACHE) working."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from tinygen.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
# Reading the environment; copying it for a subprocess (dict(os.environ)) and setdefault are fine.
_READS = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[|environ\.get\(")
# The QEMU platform's builder runs inside PlatformIO's SCons, not in tinygen: it gets the prefix
# from the environment tinygen's build/pio.py passes it.
_OUTSIDE_TINYGEN = {ROOT / "tinygen/platform/qemu/builder/main.py"}


def test_only_config_reads_the_environment() -> None:
    readers = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "tinygen").rglob("*.py"))
               if p.name != "config.py" and p not in _OUTSIDE_TINYGEN
               for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if _READS.search(line)]
    assert not readers, f"environment read outside tinygen/config.py: {readers}"


def test_every_variable_config_reads_is_documented() -> None:
    source = (ROOT / "tinygen/config.py").read_text(encoding="utf-8")
    doc = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    read = set(re.findall(r'"(TINYGEN_[A-Z_]+|CC|CXX|XDG_CACHE_HOME)"', source))
    assert {"TINYGEN_CACHE_DIR", "TINYGEN_CACHE", "TINYGEN_ARM_PREFIX", "CC", "CXX"} <= read
    missing = sorted(v for v in read if f"| `{v}` |" not in doc)
    assert not missing, f"variables read in config.py but not in docs/configuration.md: {missing}"


def test_cache_dir_variable_and_its_deprecated_alias(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TINYGEN_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TINYGEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("TINYGEN_CACHE", raising=False)
    assert load_settings().cache_dir == tmp_path / "xdg" / "tinygen"
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "old"))
    with pytest.warns(DeprecationWarning, match="TINYGEN_CACHE_DIR"):
        assert load_settings().cache_dir == tmp_path / "old"
    monkeypatch.setenv("TINYGEN_CACHE_DIR", str(tmp_path / "new"))  # both set (as old scripts do): the new wins
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_settings().cache_dir == tmp_path / "new"


def test_the_stages_use_the_one_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tinygen.hostrun.compile import cache_dir as hostrun_cache
    from tinygen.kws.session import cache_dir as kws_cache
    from tinygen.verify.firmware import cache_dir as hil_cache

    monkeypatch.setenv("TINYGEN_CACHE_DIR", str(tmp_path))
    assert (hostrun_cache(), hil_cache(), kws_cache()) == (tmp_path / "hostrun", tmp_path / "hil", tmp_path / "kws")
