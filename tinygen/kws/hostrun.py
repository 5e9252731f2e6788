"""The device's keyword-spotting C (firmware/apps/kws/tg_kws.c) compiled for the host and driven with
ctypes: the same sources the firmware links (frontend + classifier as AOT C), so the host test checks
the C pipeline itself against the Python reference before any board is involved."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codegen import aot
from ..hostrun.compile import compile_sources
from ..model import ModelInfo
from ..resources import firmware_dir
from .config import FEATURE_CHANNELS, KwsConfig
from .firmware import config_header, kws_sources

# Test glue only: a cost counter that counts nothing, and a flat API that records every callback.
_DRIVER = r"""
#include <string.h>
#include "tg_board.h"
#include "tg_kws.h"
void tg_cost_start(void) {}
uint64_t tg_cost_read(void) { return 0; }
typedef struct { int8_t *f; uint32_t nf, cf; uint8_t *s; uint32_t *sf; uint32_t ns, cs;
                 int32_t *d; uint32_t nd, cd; } rec;
static void on_f(void *c, uint32_t frame, const int8_t *x) {
  rec *r = (rec *)c; (void)frame;
  if (r->nf < r->cf) memcpy(r->f + (size_t)r->nf * KWS_FEATURES, x, KWS_FEATURES);
  r->nf++;
}
static void on_s(void *c, uint32_t inf, uint32_t frame, const uint8_t *x) {
  rec *r = (rec *)c; (void)inf;
  if (r->ns < r->cs) { memcpy(r->s + (size_t)r->ns * KWS_NUM_CLASSES, x, KWS_NUM_CLASSES); r->sf[r->ns] = frame; }
  r->ns++;
}
static void on_d(void *c, const tg_kws_detection *d) {
  rec *r = (rec *)c;
  if (r->nd < r->cd) { int32_t *o = r->d + 5 * r->nd; o[0] = d->index; o[1] = d->sum; o[2] = (int32_t)d->frame;
                       o[3] = (int32_t)d->inference; o[4] = (int32_t)d->end_ms; }
  r->nd++;
}
int kws_host_init(void) { return tg_kws_init(); }
int kws_host_reset(void) { return tg_kws_reset(); }
/* counts[0..2]: frames, inferences, detections recorded by this call */
int kws_host_push(const int16_t *x, uint32_t n, int8_t *f, uint32_t cf, uint8_t *s, uint32_t *sf, uint32_t cs,
                  int32_t *d, uint32_t cd, uint32_t *counts) {
  rec r = {f, 0, cf, s, sf, 0, cs, d, 0, cd};
  tg_kws_sink sink = {on_f, on_s, on_d, &r};
  int st = tg_kws_push(x, n, &sink);
  counts[0] = r.nf; counts[1] = r.ns; counts[2] = r.nd;
  return st;
}
"""


@dataclass
class HostTrace:
    """What the C pipeline reported, in the shapes of tinygen.kws.KwsTrace."""

    features: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    inference_frames: list[int] = field(default_factory=list)
    detections: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # class, sum, frame, inf, ms


def app_sources(config: KwsConfig, classifier: ModelInfo) -> dict[str, str]:
    """tg_kws.c/.h + kws_config.h + frontend + classifier (AOT, with its tg_runtime glue), flat."""
    files: dict[str, str | bytes] = dict(aot.generate(classifier, "kws_classifier", list(config.labels)))
    files.update(kws_sources(config, classifier))
    app = firmware_dir() / "apps" / "kws"
    for name in ("tg_kws.c", "tg_kws.h"):
        files[name] = (app / name).read_text()
    files["tg_board.h"] = (firmware_dir() / "include" / "tg_board.h").read_text()
    return {k: v if isinstance(v, str) else v.decode() for k, v in files.items()}


class HostKws:
    """The C pipeline in a shared library: `push(samples)` appends to `trace`."""

    def __init__(self, config: KwsConfig, classifier: ModelInfo, cc: str | None = None) -> None:
        files = app_sources(config, classifier)
        files["kws_host_driver.c"] = _DRIVER
        self.library: Path = compile_sources(files, cc=cc).library
        self._lib = ctypes.CDLL(str(self.library))
        self.config = config
        status = self._lib.kws_host_init()
        if status != 0:
            raise RuntimeError(f"tg_kws_init failed with status {status}")
        self.trace = HostTrace()

    def reset(self) -> None:
        self._lib.kws_host_reset()
        self.trace = HostTrace()

    def push(self, samples: np.ndarray) -> None:
        x = np.ascontiguousarray(samples, dtype=np.int16)
        cfg = self.config
        cap = len(x) // cfg.stride_samples + 2
        n_cls = len(cfg.labels)
        f = np.zeros((cap, FEATURE_CHANNELS), np.int8)
        s = np.zeros((cap, n_cls), np.uint8)
        sf = np.zeros(cap, np.uint32)
        d = np.zeros((cap, 5), np.int32)
        counts = np.zeros(3, np.uint32)
        p = ctypes.c_void_p
        st = self._lib.kws_host_push(p(x.ctypes.data), ctypes.c_uint32(len(x)), p(f.ctypes.data), ctypes.c_uint32(cap),
                                     p(s.ctypes.data), p(sf.ctypes.data), ctypes.c_uint32(cap), p(d.ctypes.data),
                                     ctypes.c_uint32(cap), p(counts.ctypes.data))
        if st != 0:
            raise RuntimeError(f"tg_kws_push failed with status {st}")
        nf, ns, nd = (int(c) for c in counts)
        self.trace.features.extend(f[:nf].copy())
        self.trace.scores.extend(s[:ns].copy())
        self.trace.inference_frames.extend(int(v) for v in sf[:ns])
        self.trace.detections.extend(tuple(int(v) for v in row) for row in d[:nd])  # type: ignore[misc]


# Test glue for microphone mode on the host: the "microphone" plays a raw int16 file named by
# $TG_KWS_MIC_FILE, as fast as the app reads it.
_FILE_MIC = r"""
#include <stdio.h>
#include <stdlib.h>
#include "kws_mic.h"
static FILE *mic;
void kws_mic_start(void) { const char *p = getenv("TG_KWS_MIC_FILE"); mic = p ? fopen(p, "rb") : NULL; }
uint32_t kws_mic_read(int16_t *out, uint32_t max) {
  size_t n = mic ? fread(out, sizeof *out, max, mic) : 0;
  if (mic && n == 0) { fclose(mic); mic = NULL; }
  return (uint32_t)n;
}
uint32_t kws_mic_overruns(void) { return 0; }
"""


def build_host_firmware(config: KwsConfig, classifier: ModelInfo, out: Path, cc: str = "cc",
                        file_microphone: bool = False) -> Path:
    """The whole kws app (pipeline + serial protocol + link library) on the host board
    (firmware/boards/host: the "serial port" is a TCP socket): the protocol end to end without QEMU.
    Run it with tinygen.link.local.LocalFirmware. `file_microphone`: build in microphone mode with a
    microphone that plays $TG_KWS_MIC_FILE (raw int16) once."""
    import subprocess
    import tempfile

    from ..errors import BuildError

    fw = firmware_dir()
    files = app_sources(config, classifier)
    if file_microphone:
        files["kws_config.h"] = config_header(config, classifier, microphone=True)
        files["kws_mic_file.c"] = _FILE_MIC
    with tempfile.TemporaryDirectory(prefix="tinygen-kws-host-") as tmp:
        src = Path(tmp)
        for name, text in files.items():
            (src / name).write_text(text)
        sources = [src / n for n in files if n.endswith(".c")]
        sources += [fw / "apps/kws/kws_app.c", fw / "boards/host/tg_board_host.c", *sorted((fw / "link").glob("*.c"))]
        incs = [src, fw / "include", fw / "boards", fw / "link", fw / "apps/kws"]
        cmd = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", *[f"-I{p}" for p in incs],
               *map(str, sources), "-o", str(out), "-lm"]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        raise BuildError(f"host build of the kws app failed: {first}")
    return out
