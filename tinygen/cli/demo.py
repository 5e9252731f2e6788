"""`tinygen demo`: the README's main command. Offline, on the emulated Cortex-M4 board: build the
micro_speech keyword firmware, stream the yes/no/silence/noise clips to it, compare every feature
frame and every score with the host reference, show the detections side by side, give a verdict."""

from __future__ import annotations

from pathlib import Path

import click

from ..audio.data import clip_path, preprocessor_model_path
from ..audio.micro_speech import MICRO_SPEECH_LABELS
from ..errors import VerifyMismatch
from ..kws.config import config_for_model
from ..kws.session import KwsRunResult, run_kws
from ..model import load_model
from .common import emit_json, handle_errors, json_option, make_reporter

DEMO_CLIPS = ("yes_1000ms.wav", "no_1000ms.wav", "silence_1000ms.wav", "noise_1000ms.wav")


def demo_model() -> Path:
    """The bundled micro_speech keyword model (TFLM examples, Apache-2.0)."""
    return preprocessor_model_path().parent / "micro_speech_quantized.tflite"


@click.command("demo")
@click.option("--board", "-b", default="qemu-m4", show_default=True,
              help="Board to run on (the emulated qemu-m4 needs nothing but this machine).")
@click.option("--port", "-p", default=None, help="Serial port of a real board running the kws firmware.")
@click.option("--elf", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Use this already-built kws firmware (emulated board) instead of building it.")
@json_option
@handle_errors
def command(board: str, port: str | None, elf: Path | None, as_json: bool) -> None:
    """Keyword spotting end to end on the emulated Cortex-M4, offline.

    Builds the bundled micro_speech model (labels silence, unknown, yes, no) into the kws firmware for
    qemu-m4, streams the clips yes, no, silence, noise back to back over the serial link, and checks
    against the Python reference: features bit-exact on every frame, scores bit-exact on every
    inference, the same detections at the same frames, "yes" and "no" found in their clips and nothing
    in silence or noise. Exit status 0 only if all of that holds (8 otherwise).
    """
    reporter = make_reporter()
    model = demo_model()
    config = config_for_model(load_model(model), labels=list(MICRO_SPEECH_LABELS))
    clips = [clip_path(c) for c in DEMO_CLIPS]
    result = run_kws(board, model, clips, config, reporter, elf=elf, port=port, expect_words=True)
    doc = result.as_dict()
    if as_json:
        emit_json("demo", doc)
    else:
        print_result(result)
    if not result.ok:
        raise VerifyMismatch("demo failed: " + "; ".join(result.failures()))


def print_result(result: KwsRunResult) -> None:
    """The human summary: bit-exactness, detections next to the reference, cost, verdict."""
    echo = click.echo
    echo(f"\n{Path(result.model).name} on {result.board} ({result.runtime} runtime), "
         f"{result.audio_seconds:.1f} s of audio: " + ", ".join(c.name for c in result.clips))
    echo(f"  features: {result.feature_frames_equal}/{result.frames} frames bit-exact")
    echo(f"  scores:   {result.score_inferences_equal}/{result.inferences} inferences bit-exact")
    echo(f"  {'time':>8}  {'clip':<16} {'device':<18} {'reference':<18}")
    ref = {(d.frame, d.label): d for d in result.reference_detections}
    dev = {(d.frame, d.label): d for d in result.device_detections}
    for key in sorted(set(ref) | set(dev)):
        d = dev.get(key) or ref[key]
        show = [f"{x.label} ({x.score:.2f})" if x else "-" for x in (dev.get(key), ref.get(key))]
        echo(f"  {d.time_ms:>6.0f}ms  {d.clip:<16} {show[0]:<18} {show[1]:<18}")
    if not ref and not dev:
        echo("  (no detections)")
    c = result.cost_per_second()
    load = f"{c['real_time_load']:.0%} of this board's {result.clock_hz / 1e6:.0f} MHz"
    if result.target:
        name, hz = result.target
        load += f", {c['real_time_load_' + name]:.0%} of {name} at {hz / 1e6:.0f} MHz"
    echo(f"  cost per second of audio (steady state): frontend {c['frontend'] / 1e6:.2f} M + classifier "
         f"{c['classifier'] / 1e6:.2f} M {result.cost_unit} = {load}"
         + (" (assuming ~1 instruction per cycle)" if result.cost_unit == "instructions" else ""))
    if result.incremental:
        echo(f"  classifier: {result.incremental}")
    problems = result.failures()
    if problems:
        echo("FAIL: " + "; ".join(problems))
    else:
        words = ", ".join(f"'{d.label}' in {d.clip}" for d in result.device_detections)
        echo("PASS: bit-exact features and scores, same detections as the reference "
             + (f"({words}; nothing else)" if words else "(none)"))
