"""`tinygen verify`: run a model on a device (or QEMU) and compare with the Python reference."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DeviceError, UsageError, VerifyMismatch
from ..link import LinkConfig
from ..mlperf.benchmarks import NAMES as BENCHMARK_NAMES
from ..mlperf.client import ClientConfig
from ..mlperf.verify import MlperfOptions
from ..model import load_model
from ..verify.report import result_dict, write_reports
from ..verify.run import REFERENCES, VerifyOptions, tflm_version_note, verify_model
from .common import emit_json, handle_errors, json_option, make_reporter


@click.command("verify")
@click.option("--board", "-b", required=True, help="Board name (tinygen boards), e.g. qemu-m4.")
@click.option("--model", "-m", "model", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .tflite model the firmware runs.")
@click.option("--port", "-p", default=None, help="Serial port or pyserial URL (default: the one attached board).")
@click.option("--inputs", "-i", "inputs", multiple=True, type=click.Path(exists=False),
              help="Input directory, .npz/.npy/.bin file or .wav files (repeatable; order kept).")
@click.option("--random", "random_n", type=click.IntRange(min=0), default=0, help="Add N random inputs (seeded).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option("--runtime", type=click.Choice(["aot", "tflm"]), default="aot", show_default=True,
              help="Runtime the firmware is built with (emulated board).")
@click.option("--tflm-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Local TFLite Micro tree for --runtime tflm.")
@click.option("--arena-size", type=click.IntRange(min=1), default=None,
              help="TFLM arena bytes (default: what `tinygen arena` computes).")
@click.option("--reference", type=click.Choice(REFERENCES), default="auto", show_default=True,
              help="Expected outputs from: tree = the local TFLM tree the firmware compiles, built for the host "
                   "(auto picks it for --runtime tflm with --tflm-dir or TINYGEN_TFLM_DIR); wheel = the PyPI "
                   "tflite-micro interpreter (auto picks it everywhere else).")
@click.option("--elf", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Use this already-built HIL firmware instead of building one (emulated board).")
@click.option("--tolerance", type=click.IntRange(min=0), default=0, show_default=True,
              help="Largest accepted difference in quantized units (0 = bit-exact).")
@click.option("--timeout", type=click.FloatRange(min=0.01), default=2.0, show_default=True,
              help="Seconds to wait for each reply.")
@click.option("--invoke-timeout", type=click.FloatRange(min=0.01), default=60.0, show_default=True,
              help="Seconds to wait for one inference.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True, help="Resends per request.")
@click.option("--measure-link", is_flag=True, help="Measure the serial link's bytes/s first (LINK_TEST).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON report here.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a JUnit XML report here (one testcase per input).")
@click.option("--app", type=click.Choice(["hil", "kws", "mlperf"]), default="hil", show_default=True,
              help="Firmware app: hil (tensors in, tensors out), kws (audio streamed, see --audio) or mlperf "
                   "(the MLPerf Tiny benchmark protocol, docs/mlperf.md).")
@click.option("--audio", "audio", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="--app kws: WAV files (16 kHz mono), streamed back to back as one stream (repeatable).")
@click.option("--labels", default=None, help="--app kws: class labels, comma-separated or a file (one per line).")
@click.option("--manifest", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="--app kws: microWakeWord manifest (.json): threshold, averaging window, feature step.")
@click.option("--threshold", type=float, default=None, help="--app kws: detection threshold in (0, 1].")
@click.option("--benchmark", type=click.Choice(BENCHMARK_NAMES), default=None,
              help="--app mlperf: kws01, vww01, ic01 or ad01 (default: from the model's input).")
@click.option("--iterations", type=click.IntRange(min=1), default=10, show_default=True,
              help="--app mlperf: inferences in the final timed run (infer N W).")
@click.option("--warmups", type=click.IntRange(min=0), default=1, show_default=True,
              help="--app mlperf: warm-up inferences before the timed run.")
@json_option
@handle_errors
def command(board: str, model: Path, port: str | None, inputs: tuple[str, ...], random_n: int, seed: int,
            runtime: str, tflm_dir: Path | None, arena_size: int | None, reference: str, elf: Path | None,
            tolerance: int, timeout: float, invoke_timeout: float, retries: int, measure_link: bool, report_path: Path | None,
            junit_path: Path | None, app: str, audio: tuple[Path, ...], labels: str | None,
            manifest: Path | None, threshold: float | None, benchmark: str | None, iterations: int, warmups: int,
            as_json: bool) -> None:
    """Check that the device computes exactly what the reference computes.

    Streams every input to the HIL firmware, runs the reference on the same inputs in the same
    order (the PyPI tflite-micro interpreter; for --runtime tflm with a local TFLM tree, that tree
    compiled for the host: --reference), and reports per output: exact-match rate, max abs error, RMSE,
    cosine similarity, top-1 agreement; plus on-device cost, arena, stack and throughput.
    Exit status 0 only when every input ran and matched (8: mismatch, 7: device failure).

    With --app kws the firmware is the keyword-spotting app: the --audio clips are streamed to it and
    features (every frame), scores (every inference) and detections are checked against the host
    pipeline (docs/kws.md).

    With --app mlperf the firmware is the MLPerf Tiny app: each input is sent with db load/db and run
    with `infer 1 0`, then one timed `infer N W`; every m-results line must equal the host reference's
    text (docs/mlperf.md). --inputs takes the runner's dataset directories (y_labels.csv) or .bin files.
    """
    reporter = make_reporter()
    if app != "hil" and reference == "tree":
        raise UsageError(f"--reference tree is for --app hil; --app {app} compares with the PyPI interpreter",
                         hint="leave --reference out")
    if app == "mlperf":
        _verify_mlperf(MlperfOptions(board=board, model=model, benchmark=benchmark, inputs=inputs, random=random_n,
                                     seed=seed, runtime=runtime, tflm_dir=tflm_dir, elf=elf, port=port,
                                     iterations=iterations, warmups=warmups,
                                     client=ClientConfig(line_timeout=max(timeout, 5.0),
                                                         infer_timeout=max(invoke_timeout, 30.0))),
                       as_json, report_path, junit_path)
        return
    if app == "kws":
        _verify_kws(board, model, port, list(audio), runtime, tflm_dir, elf, labels, manifest, threshold,
                    LinkConfig(timeout=timeout, invoke_timeout=invoke_timeout, retries=retries), as_json,
                    report_path)
        return
    opts = VerifyOptions(board=board, model=model, inputs=inputs, random=random_n, seed=seed, runtime=runtime,
                         elf=elf, port=port, tolerance=tolerance, tflm_dir=tflm_dir, arena_size=arena_size,
                         measure_link=measure_link, reference=reference,
                         link=LinkConfig(timeout=timeout, invoke_timeout=invoke_timeout, retries=retries))
    result, names = verify_model(opts, reporter)
    write_reports(result, names, report_path, junit_path)
    doc = result_dict(result)
    if as_json:
        emit_json("verify", doc)
    else:
        _print_summary(doc)
    if result.error is not None:
        raise DeviceError(f"device failed after {result.completed} of {result.planned} inputs: {result.error}",
                          hint="the report lists exactly which inputs ran" if report_path or junit_path
                          else "pass --report out.json to see exactly which inputs ran")
    if not result.ok:
        note = tflm_version_note(opts, load_model(opts.model), result.reference.get("kind", "wheel"))
        raise VerifyMismatch(f"{result.mismatches} of {result.completed} inputs differ from the reference",
                             hint=note or "see the per-output statistics above (--report for the failing input names)")


def _print_summary(doc: dict) -> None:  # type: ignore[type-arg]
    perf = doc["performance"]
    click.echo(f"{Path(doc['model']).name} on {doc['device']['board']} ({doc['device']['runtime']}): "
               f"{doc['completed']}/{doc['planned']} inputs, {doc['completed'] - doc['mismatches']} match "
               f"(tolerance {doc['tolerance']})")
    click.echo(f"  reference: {doc['reference']['label']}")
    for o in doc["outputs"]:
        click.echo(f"  {o['name']}: exact {o['exact']}/{o['inferences']}  max|err| {o['max_abs_error']}  "
                   f"rmse {o['rmse']:.4g}  cosine {o['cosine_similarity']:.6f}  top-1 {o['top1_agreement']:.1%}")
    click.echo(f"  cost {perf['cost_per_inference']:.0f} {perf['cost_unit']}/inference, arena "
               f"{perf['arena_used']}/{perf['arena_size']} B, stack {perf['stack_used']}/{perf['stack_size']} B, "
               f"{perf['inferences_per_second']:.2f} inferences/s")
    click.echo(f"  tensors: {perf['tensor_bytes_per_second']:.0f} B/s overall, "
               f"{perf['transfer_bytes_per_second']:.0f} B/s while transferring")
    rec = doc["device"].get("arena_recommended")
    if rec:
        click.echo(f"  arena reserved {doc['device']['arena_size']} B; `tinygen arena`: {rec['reference']} B "
                   f"(reference kernels), {rec['cmsis-nn']} B (CMSIS-NN); used {doc['device']['arena_used']} B")
    bw = doc["link"].get("bandwidth_bytes_per_second")
    if bw:
        click.echo(f"  link: {bw['host_to_device']:.0f} B/s to device, {bw['device_to_host']:.0f} B/s back; "
                   f"transfers used {perf['link_utilisation']:.0%} of it")


def _verify_kws(board: str, model: Path, port: str | None, audio: list[Path], runtime: str, tflm_dir: Path | None,
                elf: Path | None, labels: str | None, manifest: Path | None, threshold: float | None,
                link: LinkConfig, as_json: bool, report_path: Path | None = None) -> None:
    from ..kws.session import run_kws
    from ..kws.verify import kws_config, verdict
    from .demo import print_result

    config = kws_config(model, labels, manifest, threshold)
    result = run_kws(board, model, audio, config, make_reporter(), elf=elf, port=port, runtime=runtime,
                     tflm_dir=tflm_dir, link=link)
    if report_path is not None:  # the same document as --json, kept in a file
        from ..report import json_document

        report_path.write_text(json_document("verify-kws", result.as_dict()) + "\n")
    if as_json:
        emit_json("verify-kws", result.as_dict())
    else:
        print_result(result)
    verdict(result)


def _verify_mlperf(opts: MlperfOptions, as_json: bool, report_path: Path | None, junit_path: Path | None) -> None:
    from ..mlperf.verify import run_mlperf, write_reports

    result = run_mlperf(opts, make_reporter())
    write_reports(result, report_path, junit_path)
    doc = result.as_dict()
    if as_json:
        emit_json("verify-mlperf", doc)
    else:
        click.echo(f"{Path(result.model).name} as {result.benchmark} on {result.board} ({result.runtime}): "
                   f"{len(result.cases)}/{result.planned} inputs, "
                   f"{sum(c.ok for c in result.cases)} results equal to the reference")
        perf = result.performance
        if perf:
            click.echo(f"  timed run: infer {perf['iterations']} {perf['warmups']}: {perf['us_per_inference']:.1f} "
                       f"us/inference ({perf['inferences_per_second']:.2f} inferences/s, the device's m-lap-us), "
                       f"results {'equal' if perf['ok'] else 'DIFFER'}")
        for c in result.cases:
            if not c.ok:
                click.echo(f"  {c.name}: device {list(c.device)} != reference {list(c.reference)}")
    if result.error is not None:
        raise DeviceError(f"device failed after {len(result.cases)} of {result.planned} inputs: {result.error}",
                          hint="pass --report out.json to see exactly which inputs ran" if not report_path
                          else "the report lists exactly which inputs ran")
    if not result.ok:
        raise VerifyMismatch(f"{result.mismatches} mlperf results differ from the reference",
                             hint="--json shows the device's and the reference's text for every input")
