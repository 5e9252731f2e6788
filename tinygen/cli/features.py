"""`tinygen features`: the audio frontend's features of a WAV file, as text, JSON and a picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from .common import emit_json, handle_errors, json_option, make_reporter


@click.command("features")
@click.argument("wav", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a spectrogram picture (time left to right, low channels at the bottom).")
@click.option("--stride-ms", type=float, default=None,
              help="Frame stride in ms (default 20; microWakeWord models use 10).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Take the stride from a microWakeWord manifest (.json, micro.feature_step_size).")
@click.option("--frontend", "frontend_model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Audio frontend model (default: the bundled micro_speech audio_preprocessor_int8.tflite).")
@click.option("--runtime", type=click.Choice(["reference", "aot"]), default="reference", show_default=True,
              help="reference: TFLM interpreter; aot: tinygen's generated C compiled for the host, "
                   "checked equal to the interpreter frame by frame.")
@click.option("--resample", is_flag=True, help="Accept 32/48 kHz input and decimate it to 16 kHz.")
@json_option
@handle_errors
def command(wav: Path, png_path: Path | None, stride_ms: float | None, manifest: Path | None,
            frontend_model: Path | None, runtime: str, resample: bool, as_json: bool) -> None:
    """Compute the 40-channel int8 features of a 16 kHz mono WAV file, frame by frame."""
    from ..audio import FrameSpec, read_wav, stride_ms_from_manifest
    from ..audio.compute import compute_features
    from ..errors import UsageError

    if stride_ms is not None and manifest is not None:
        raise UsageError("give --stride-ms or --manifest, not both")
    reporter = make_reporter()
    samples = read_wav(wav, resample=resample)
    stride = stride_ms_from_manifest(manifest) if manifest is not None else (stride_ms or 20.0)
    spec = FrameSpec(stride_ms=stride)
    result = compute_features(samples, spec, frontend_model, runtime, reporter)
    feats = result.features
    if png_path is not None:
        from ..audio.picture import write_spectrogram_png

        write_spectrogram_png(feats, png_path)
        reporter.info(f"wrote {png_path}")
    if as_json:
        emit_json("features", _payload(wav, samples, spec, result))
        return
    _print_human(wav, samples, spec, result)


def _payload(wav: Path, samples: np.ndarray, spec: Any, result: Any) -> dict[str, Any]:
    return {
        "wav": str(wav),
        "samples": int(len(samples)),
        "sample_rate": spec.sample_rate,
        "window_ms": spec.window_ms,
        "stride_ms": spec.stride_ms,
        "frontend": str(result.model),
        "runtime": result.runtime,
        "checked_against_reference": result.checked,
        "frames": int(result.features.shape[0]),
        "channels": int(result.features.shape[1]) if result.features.ndim == 2 else 0,
        "dtype": str(result.features.dtype),
        "features": result.features,
    }



def _print_human(wav: Path, samples: np.ndarray, spec: Any, result: Any) -> None:
    feats = result.features
    echo = click.echo
    echo(f"wav        {wav}  {len(samples)} samples, {1000 * len(samples) / spec.sample_rate:.0f} ms")
    echo(f"frontend   {result.model.name} ({result.runtime}{', equal to the reference' if result.checked else ''})")
    echo(f"frames     {len(feats)} x {feats.shape[1]} {feats.dtype}, {spec.window_ms:g} ms window every {spec.stride_ms:g} ms")
    if len(feats) == 0:
        echo("(the clip is shorter than one frame)")
        return
    echo(f"{'frame':>5} {'t_ms':>6} {'min':>5} {'mean':>7} {'max':>5} {'peak_ch':>7}")
    for i, f in enumerate(feats):
        t = (i * spec.stride_samples + spec.window_samples) * 1000 / spec.sample_rate
        echo(f"{i:5d} {t:6.0f} {int(f.min()):5d} {float(f.mean()):7.1f} {int(f.max()):5d} {int(np.argmax(f)):7d}")
