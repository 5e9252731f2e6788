"""Progress and result output.

People-text goes to stderr through a `Reporter` passed down explicitly (never a global), so `--json`
can print exactly one document on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

JSON_SCHEMA_PREFIX = "tinygen"


@dataclass
class Reporter:
    """Writes progress lines for people. `quiet` silences everything but warnings."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    _t0: float = field(default_factory=time.monotonic)

    def step(self, message: str) -> None:
        """A long step starts."""
        if not self.quiet:
            print(f"[{time.monotonic() - self._t0:6.1f}s] {message}", file=self.stream, flush=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.stream, flush=True)


def silent() -> Reporter:
    """A reporter for library callers and tests that want no output."""
    return Reporter(quiet=True)


def json_document(kind: str, payload: dict[str, Any], version: int = 1) -> str:
    """One JSON document with a schema name and version, for `--json` outputs."""
    doc = {"schema": f"{JSON_SCHEMA_PREFIX}.{kind}", "schema_version": version}
    doc.update(payload)
    return json.dumps(doc, indent=2, sort_keys=False, default=_json_default)


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
