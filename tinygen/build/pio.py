"""Running PlatformIO: preflight checks that fail fast, the `pio run` process, its log.

PlatformIO retries an unreachable registry for about a minute before failing; tinygen decides
beforehand whether a build would need the registry (a platform or library not installed yet) and,
when the registry does not answer within a few seconds, stops with one line saying what is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board
from ..config import Settings
from ..errors import BuildError, ToolMissingError
from ..platform.packages import PackageFolder
from ..report import Reporter
from .packages import ensure_scons, install_local_packages

ARM_GCC = "arm-none-eabi-gcc"
_OVERFLOW = re.compile(r"region [`']?(\w+)'? overflowed by (\d+) bytes")
_COMPILING = re.compile(r"^(Compiling|Archiving|Linking|Building|Retrieved) ")


@dataclass(frozen=True)
class PioRun:
    returncode: int
    log: Path
    seconds: float


def pio_environment(settings: Settings) -> dict[str, str]:
    """Environment for PlatformIO: tinygen's core dir, no telemetry, no update checks, no colour."""
    env = dict(os.environ)
    env.update({
        "PLATFORMIO_CORE_DIR": str(settings.pio_core_dir),
        "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
        "PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL": "3650",
        "PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD": "0",
        "PLATFORMIO_DISABLE_COLOR": "true",
        "PYTHONUNBUFFERED": "1",
        "TINYGEN_ARM_PREFIX": settings.arm_prefix,  # read by the QEMU platform's builder (platform/qemu)
    })
    return env


def registry_reachable(address: str, timeout: float) -> bool:
    """True when the PlatformIO registry (`host:port`) accepts a TCP connection within `timeout` s."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def preflight(board: Board, project_dir: Path, settings: Settings, uses_remote_libs: bool,
              reporter: Reporter, packages: PackageFolder | None = None) -> None:
    """Everything checkable before PlatformIO starts; raises with a hint instead of a slow failure.
    With a packages folder, its platform and tools are installed first (never the registry)."""
    core = settings.pio_core_dir
    if board.emulated:
        prefix = settings.arm_prefix
        if shutil.which(prefix + "gcc") is None:
            raise ToolMissingError(f"{prefix}gcc not found on PATH (needed to build for {board.name})",
                                   hint="install it: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                                        "libstdc++-arm-none-eabi-newlib")
    if ensure_scons(core):
        reporter.step(f"installed PlatformIO's tool-scons from the scons Python package into {core}")
    if packages is not None and not board.emulated:
        install_local_packages(packages, board.pio_platform, core, pio_environment(settings), reporter)
    missing: list[str] = []
    if not board.emulated:
        platform_dir = core / "platforms" / board.pio_platform
        if not platform_dir.is_dir():
            missing.append(f"PlatformIO platform '{board.pio_platform}'")
        else:
            missing += [f"PlatformIO package '{p}'" for p in _missing_packages(platform_dir, core)]
    if uses_remote_libs and not (project_dir / ".pio" / "libdeps" / board.name).is_dir():
        missing.append("the TFLM library (lib_deps)")
    if missing and packages is not None:
        raise ToolMissingError(f"{' and '.join(missing)} not installed and not in the packages folder {packages.root}",
                               hint="copy it into the folder (docs/boards.md, 'Air-gapped real-board builds')")
    if missing and not registry_reachable(settings.pio_registry, settings.registry_probe_timeout):
        tflm = ", use --tflm-dir for a local TFLM tree" if uses_remote_libs else ""
        raise ToolMissingError(f"{' and '.join(missing)} not installed and the PlatformIO registry is unreachable",
                               hint=f"connect once to let PlatformIO install it (core dir {core}), or bring the "
                                    f"packages on disk with --packages DIR / TINYGEN_PIO_PACKAGES (docs/boards.md){tflm}, "
                                    "or build for qemu-m4, which needs nothing online")


def _missing_packages(platform_dir: Path, core: Path) -> list[str]:
    """Packages an installed platform always needs (non-optional) that are not installed yet.
    Optional ones (frameworks, chosen per board by the platform's code) are PlatformIO's business."""
    try:
        packages = json.loads((platform_dir / "platform.json").read_text()).get("packages", {})
    except (OSError, ValueError):
        return []
    return sorted(name for name, spec in packages.items()
                  if not spec.get("optional", False) and not (core / "packages" / name).is_dir())


def run_pio(project_dir: Path, env_name: str, settings: Settings, reporter: Reporter,
            targets: tuple[str, ...] = (), verbose: bool = False, upload_port: str | None = None) -> PioRun:
    """`pio run` in `project_dir`; the whole output goes to .pio/tinygen-build.log."""
    log_path = project_dir / ".pio" / "tinygen-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "platformio", "run", "-d", str(project_dir), "-e", env_name]
    for t in targets:
        cmd += ["-t", t]
    if upload_port is not None:
        cmd += ["--upload-port", upload_port]
    t0 = time.monotonic()
    compiled = 0
    last_note = t0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=pio_environment(settings), stdin=subprocess.DEVNULL, bufsize=1)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                log.write(line)
                if verbose:
                    reporter.info(line.rstrip())
                if _COMPILING.match(line):
                    compiled += 1
                    now = time.monotonic()
                    if line.startswith("Linking") or now - last_note > 5.0:
                        reporter.step(f"PlatformIO: {compiled} steps done, now {line.split()[0].lower()} "
                                      f"{Path(line.split()[-1]).name}")
                        last_note = now
                if time.monotonic() - t0 > settings.pio_timeout:
                    proc.kill()
                    raise BuildError(f"PlatformIO did not finish within {settings.pio_timeout:.0f} s",
                                     hint=f"full log: {log_path}")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return PioRun(proc.returncode, log_path, time.monotonic() - t0)


def failure_summary(log_path: Path, max_lines: int = 12) -> tuple[str, str | None]:
    """(one-line message, overflowing region or None) from a failed build's log."""
    text = log_path.read_text(errors="replace")
    m = _OVERFLOW.search(text)
    if m:
        return f"region {m.group(1)} overflowed by {m.group(2)} bytes", m.group(1)
    errors = [ln.strip() for ln in text.splitlines() if re.search(r"\berror\b|Error:|\*\*\*", ln)]
    return (errors[0] if errors else text.strip().splitlines()[-1] if text.strip() else "no output"), None
