"""Exclusive locks between tinygen processes (fcntl), for folders and cache entries two runs may
build at once: the second waits for the first, then finds its result and reuses it.

    with exclusive(lock_path(out_dir), f"the build in {out_dir}", reporter):
        ...generate and build into out_dir...

The lock is an flock on a small file; the kernel releases it when the process ends, however it
ends, so a killed run never leaves a folder locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .report import Reporter


def lock_path(target: Path) -> Path:
    """The lock file of a folder or file: a hidden file beside it (`.NAME.lock`)."""
    target = Path(target).absolute()
    return target.with_name(f".{target.name}.lock")


@contextmanager
def exclusive(path: Path, what: str, reporter: Reporter | None = None) -> Iterator[None]:
    """Hold the lock file `path` (created when missing); say so when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if reporter is not None:
                reporter.step(f"waiting for another tinygen process working on {what}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
