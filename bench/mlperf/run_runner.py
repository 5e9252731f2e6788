"""Run the official MLPerf Tiny runner (mlcommons/tiny benchmark/runner, unmodified, from wherever it
is checked out) against tinygen's mlperf firmware in QEMU, then check every result it recorded
against the host reference. docs/mlperf.md explains the whole procedure.

The runner finds its DUT by USB vendor/product id (pyserial's list_ports) and opens it with
serial.Serial(port). This wrapper is the thin layer between the two, and nothing else:
  * a pty whose far end is QEMU's TCP UART (`tinygen flash --board qemu-m4 -p PORT`), connected
    while the runner holds the pty open and disconnected when it closes it, as a USB serial device
    comes and goes with the port (so the firmware's UART sees the runner's two sessions as two
    TCP connections);
  * a list_ports shim that reports that pty with the USB ids of devices_qemu.yaml (1209:0001, the
    pid.codes test id: no real device has it).

    python bench/mlperf/run_runner.py dataset --model M --out DATASETS
    python bench/mlperf/run_runner.py run --runner RUNNER --project BUILD_DIR --model M \
        --dataset DATASETS --mode p|a [--test-script YAML] [--out SESSIONS_DIR]

`dataset` writes the runner's dataset layout (DATASETS/<benchmark>/y_labels.csv + .bin files) with
seeded inputs of the model's shape. `run` exits 0 only when the runner completed and every result in
its results.json equals the host reference's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np

from tinygen.mlperf.benchmarks import (
    Plan,
    model_input,
    plan_for,
    random_input,
    result_text,
)
from tinygen.model import load_model
from tinygen.reference import Reference

HERE = Path(__file__).resolve().parent
USB_VID, USB_PID = 0x1209, 0x0001
FILES = {"kws01": 24, "ic01": 20, "vww01": 10, "ad01": 6}   # enough that every class occurs (AUC needs it)
AD_SEGMENTS = 3                                              # ad01 windows per file, 128 floats apart


# ---- datasets ----------------------------------------------------------------------------------

def write_dataset(model: Path, out: Path, seed: int = 0) -> Path:
    """DATASETS/<benchmark>/: y_labels.csv (file, classes, class, bytes_to_send, stride) and inputs."""
    plan = plan_for(load_model(model))
    name = plan.benchmark.name
    root = out / name
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    classes = 2 if name == "ad01" else plan.output_elements
    stride = plan.db_bytes // 5 if name == "ad01" else plan.db_bytes   # ad01: one 128-float frame
    rows = []
    for i in range(FILES[name]):
        data = b"".join(random_input(plan, rng) for _ in range(AD_SEGMENTS if name == "ad01" else 1))
        if name == "ad01":
            data = data[:plan.db_bytes + (AD_SEGMENTS - 1) * stride]
        fname = f"{name}_{i:03d}.bin"
        (root / fname).write_bytes(data)
        rows.append([fname, classes, i % classes, plan.db_bytes, stride])
    with open(root / "y_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return root


# ---- the pty bridge ----------------------------------------------------------------------------

class PtyBridge(threading.Thread):
    """A pty for the runner; its traffic goes to 127.0.0.1:`port` while someone has the pty open."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.master, slave = os.openpty()
        tty.setraw(slave)   # no echo, no line editing: bytes pass unchanged
        self.device = os.ttyname(slave)
        os.close(slave)     # from now on POLLHUP on the master means "nobody has the pty open"
        self.connections = 0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(2)

    def _slave_open(self) -> bool:
        p = select.poll()
        p.register(self.master, select.POLLHUP)
        return not p.poll(0)

    def run(self) -> None:
        sock: socket.socket | None = None
        while not self._halt.is_set():
            if not self._slave_open():
                if sock is not None:
                    sock.close()
                    sock = None
                time.sleep(0.01)
                continue
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", self.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connections += 1
            ready, _, _ = select.select([self.master, sock.fileno()], [], [], 0.02)
            try:
                if self.master in ready:
                    sock.sendall(os.read(self.master, 4096))
                if sock.fileno() in ready:
                    data = sock.recv(4096)
                    if not data:
                        raise ConnectionError("QEMU closed the serial port")
                    os.write(self.master, data)
            except OSError:   # the runner closed the pty mid-transfer: drop the connection
                sock.close()
                sock = None
        if sock is not None:
            sock.close()


def install_list_ports_shim(device: str) -> None:
    """pyserial's comports() also lists the bridge's pty, with the USB ids devices_qemu.yaml names."""
    from serial.tools import list_ports  # type: ignore[import-untyped]
    from serial.tools.list_ports_common import ListPortInfo  # type: ignore[import-untyped]

    real = list_ports.comports

    def comports(include_links: bool = False) -> list[ListPortInfo]:
        info = ListPortInfo(device)
        info.vid, info.pid = USB_VID, USB_PID
        info.serial_number = "tinygen-qemu"
        info.description = "tinygen qemu-m4 UART (pty bridge to QEMU's TCP port)"
        info.hwid = f"USB VID:PID={USB_VID:04X}:{USB_PID:04X} SER=tinygen-qemu"
        return list(real(include_links)) + [info]

    list_ports.comports = comports


# ---- QEMU --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_firmware(project: Path, port: int) -> subprocess.Popen[bytes]:
    """`tinygen flash --board qemu-m4 -p PORT`, then one connection that reads the start-up banner up
    to m-ready (the firmware is up) and disconnects, as a board booted before the host opens it."""
    proc = subprocess.Popen([sys.executable, "-m", "tinygen.cli.main", "flash", "--board", "qemu-m4", "-d",
                             str(project), "-p", str(port)], stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"tinygen flash did not serve port {port}")
            time.sleep(0.1)
    banner = b""
    while b"m-ready" not in banner:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the firmware closed the connection before m-ready")
        banner += chunk
    sock.close()
    print(f"[run_runner] firmware up on 127.0.0.1:{port}: {banner.decode().split()}", flush=True)
    return proc


# ---- the runner --------------------------------------------------------------------------------

def run_official_runner(runner: Path, argv: list[str]) -> BaseException | None:
    """main.py of the runner as `python main.py ARGV` in the current directory; returns what it
    raised, if anything. Its script.py redirects stdout/stderr to its log: both are restored."""
    saved = sys.stdout, sys.stderr, sys.argv[:], sys.path[:]
    sys.path.insert(0, str(runner))
    sys.argv = [str(runner / "main.py")] + argv
    try:
        runpy.run_path(str(runner / "main.py"), run_name="__main__")
        return None
    except SystemExit as exc:
        return None if exc.code in (None, 0) else exc
    except (RuntimeError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return exc   # the runner's own failures (RuntimeError: No response to command ...)
    finally:
        sys.stdout, sys.stderr, sys.argv, sys.path[:] = saved[0], saved[1], saved[2], saved[3]


def check_results(results_json: Path, dataset: Path, model: Path, plan: Plan) -> tuple[int, list[str]]:
    """Every result the runner recorded vs the host reference: (results checked, problems)."""
    reference = Reference.from_file(model)
    shape = reference.inputs[0].shape
    with open(dataset / "y_labels.csv", newline="") as f:
        rows = {r[0]: r for r in csv.reader(f) if r}
    seen: dict[str, int] = {}
    checked, problems = 0, []
    for r in json.loads(results_json.read_text()):
        if "infer" not in r or "file" not in r:
            continue
        name = r["file"]
        data = (dataset / name).read_bytes()
        seg = seen.get(name, 0)
        seen[name] = seg + 1
        if plan.benchmark.name == "ad01":
            size, stride = int(rows[name][3]), int(rows[name][4])
            data = data[seg * stride: seg * stride + size]
        want = result_text(plan, reference.run(model_input(plan, data).reshape(shape))[0], data)
        got = r["infer"].get("results", [])
        checked += 1
        if [float(v) for v in want] != [float(v) for v in got]:
            problems.append(f"{name} segment {seg}: runner recorded {got}, reference {want}")
    return checked, problems


def cmd_run(args: argparse.Namespace) -> int:
    model, project = Path(args.model).resolve(), Path(args.project).resolve()
    plan = plan_for(load_model(model))
    manifest = json.loads((project / "tinygen.json").read_text())
    if manifest.get("app") != "mlperf" or manifest.get("model_sha256") != load_model(model).sha256:
        raise SystemExit(f"{project} is not the mlperf firmware of {model.name} (tinygen build --app mlperf)")
    dataset = Path(args.dataset).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    test_script = Path(args.test_script).resolve() if args.test_script else (
        Path(args.runner).resolve() / ("tests_performance.yaml" if args.mode == "p" else "tests_accuracy.yaml"))
    port = free_port()
    flash = start_firmware(project, port)
    bridge = PtyBridge(port)
    bridge.start()
    install_list_ports_shim(bridge.device)
    print(f"[run_runner] runner DUT port: {bridge.device} (USB {USB_VID:04x}:{USB_PID:04x}); sessions in {out}",
          flush=True)
    before = set(out.glob("sessions/*"))
    os.chdir(out)
    t0 = time.monotonic()
    try:
        failure = run_official_runner(Path(args.runner).resolve(), [
            "--device_list", str(Path(args.device_list).resolve()), "--test_script", str(test_script),
            "--dataset_path", str(dataset.parent if dataset.name == plan.benchmark.name else dataset),
            "--mode", args.mode])
    finally:
        bridge.stop()
        flash.send_signal(signal.SIGINT)   # Ctrl-C: tinygen flash stops its QEMU (SIGTERM would orphan it)
        flash.wait()
    seconds = time.monotonic() - t0
    sessions = sorted(set(out.glob("sessions/*")) - before)
    print(f"[run_runner] runner finished in {seconds:.1f} s; QEMU's UART saw {bridge.connections} connections")
    if failure is not None or not sessions or not (sessions[-1] / "results.json").is_file():
        print(f"[run_runner] FAILED: the runner did not complete ({failure!r})")
        return 1
    bench_dir = dataset if dataset.name == plan.benchmark.name else dataset / plan.benchmark.name
    checked, problems = check_results(sessions[-1] / "results.json", bench_dir, model, plan)
    for p in problems:
        print(f"[run_runner] MISMATCH {p}")
    print(f"[run_runner] {checked} results in {sessions[-1] / 'results.json'}: "
          f"{checked - len(problems)} equal to the host reference")
    return 0 if checked and not problems else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dataset", help="write a dataset of seeded inputs of the model's shape")
    d.add_argument("--model", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run", help="run the official runner against the firmware in QEMU")
    r.add_argument("--runner", required=True, help="mlcommons/tiny benchmark/runner directory")
    r.add_argument("--project", required=True, help="the project of tinygen build --board qemu-m4 --app mlperf")
    r.add_argument("--model", required=True, help="the model the firmware was built from (for the reference)")
    r.add_argument("--dataset", required=True, help="dataset root (or its <benchmark> directory)")
    r.add_argument("--mode", choices=["p", "a"], required=True)
    r.add_argument("--test-script", default=None, help="default: the runner's tests_performance/accuracy.yaml")
    r.add_argument("--device-list", default=str(HERE / "devices_qemu.yaml"))
    r.add_argument("--out", default="mlperf-sessions", help="where the runner writes sessions/")
    args = ap.parse_args()
    if args.cmd == "dataset":
        print(write_dataset(Path(args.model), Path(args.out), args.seed))
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
