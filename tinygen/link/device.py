"""The HIL commands as Python methods: identify, tensor info, chunked input upload, invoke, chunked
output download, stats, reset, link test. Payload layouts: docs/protocol.md."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import DeviceReset, ProtocolError
from .framing import Frame
from .protocol import Cmd, Link, Pending, Status

DTYPES: dict[int, np.dtype] = {0: np.dtype("<f4"), 2: np.dtype("<i4"), 3: np.dtype("u1"),
                               7: np.dtype("<i2"), 9: np.dtype("i1")}
INVOKE_WITH_OUTPUTS = 0x01  # INVOKE request flag and reply header flag
_HELLO = struct.Struct("<BBHBBHIIIIII")
_INVOKE = struct.Struct("<IIQI")
_STATS = struct.Struct("<IIIII")
_TENSOR = struct.Struct("<BBHIfi")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    bytes: int
    scale: float
    zero_point: int


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    runtime_ok: bool
    max_payload: int
    input_count: int
    output_count: int
    arena_size: int
    arena_used: int
    stack_size: int
    stack_used: int
    invoke_count: int
    init_status: int
    board: str
    runtime: str
    model_sha256: str
    cost_unit: str
    app: str


@dataclass(frozen=True)
class InvokeResult:
    status: int
    invoke_count: int
    cost: int          # in DeviceInfo.cost_unit
    micros: int


@dataclass(frozen=True)
class Stats:
    arena_size: int
    arena_used: int
    stack_size: int
    stack_used: int
    invoke_count: int


def _strings(data: bytes, at: int, count: int) -> list[str]:
    out = []
    for _ in range(count):
        n = data[at] if at < len(data) else 0
        out.append(data[at + 1:at + 1 + n].decode("utf-8", "replace"))
        at += 1 + n
    return out


def parse_hello(payload: bytes) -> DeviceInfo:
    if len(payload) < _HELLO.size:
        raise ProtocolError(f"HELLO reply too short ({len(payload)} bytes)")
    v = _HELLO.unpack_from(payload)
    board, runtime, sha, unit, app = _strings(payload, _HELLO.size, 5)
    return DeviceInfo(protocol_version=v[0], runtime_ok=bool(v[1] & 1), max_payload=v[2], input_count=v[3],
                      output_count=v[4], arena_size=v[6], arena_used=v[7], stack_size=v[8], stack_used=v[9],
                      invoke_count=v[10], init_status=v[11], board=board, runtime=runtime, model_sha256=sha,
                      cost_unit=unit, app=app)


@dataclass
class Device:
    """A connected device speaking the HIL protocol. Call `hello()` first (done by `connect`)."""

    link: Link
    info: DeviceInfo | None = None
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    # seconds spent by `run` so far: uploading, waiting for INVOKE, downloading
    timing: dict[str, float] = field(default_factory=lambda: {"upload": 0.0, "invoke": 0.0, "download": 0.0})

    def _call(self, cmd: Cmd, payload: bytes = b"", timeout: float | None = None, boot_ok: bool = False) -> bytes:
        return self._check(cmd, self.link.request(cmd, payload, timeout, boot_ok))

    def _check(self, cmd: Cmd, reply: Frame) -> bytes:
        if reply.status != Status.OK:
            status = Status(reply.status).name if reply.status in Status._value2member_map_ else reply.status
            detail = f" (runtime status {struct.unpack_from('<I', reply.payload)[0]})" \
                if reply.status == Status.RUNTIME_ERROR and len(reply.payload) >= 4 else ""
            raise ProtocolError(f"device answered {cmd.name} with {status}{detail}")
        return reply.payload

    @property
    def max_payload(self) -> int:
        return self.info.max_payload if self.info else 64

    def connect(self) -> DeviceInfo:
        """Identify the firmware and read every tensor's description. A BOOT frame (the device just
        started, or was reset) may arrive before the answer and is not an error here."""
        self.info = parse_hello(self._call(Cmd.HELLO, timeout=self.link.config.boot_timeout, boot_ok=True))
        if not self.info.runtime_ok:
            raise ProtocolError(f"the runtime on {self.info.board} failed to initialise "
                                f"(tg_status {self.info.init_status})",
                                hint="status 2 = arena too small: rebuild with the size `tinygen arena` recommends")
        self.inputs = [self.tensor_info(0, i) for i in range(self.info.input_count)]
        self.outputs = [self.tensor_info(1, i) for i in range(self.info.output_count)]
        return self.info

    def hello(self) -> DeviceInfo:
        return parse_hello(self._call(Cmd.HELLO))

    def tensor_info(self, kind: int, index: int) -> TensorInfo:
        p = self._call(Cmd.TENSOR_INFO, bytes([kind, index]))
        dtype, ndims, _, nbytes, scale, zp = _TENSOR.unpack_from(p)
        dims = struct.unpack_from(f"<{ndims}i", p, _TENSOR.size)
        (name,) = _strings(p, _TENSOR.size + 4 * ndims, 1)
        if dtype not in DTYPES:
            raise ProtocolError(f"tensor {name} has unsupported type {dtype}")
        return TensorInfo(name, DTYPES[dtype], tuple(dims), nbytes, scale, zp)

    def write_input(self, index: int, data: bytes) -> None:
        """Upload one input tensor in chunks that fit the device's frame buffer, up to
        `LinkConfig.window` chunks in flight (chunks are idempotent: resending one is harmless)."""
        chunk = self.max_payload - 8
        window = max(1, self.link.config.window)
        in_flight: list[Pending] = []
        for off in range(0, max(len(data), 1), chunk):
            payload = struct.pack("<BBHI", index, 0, 0, off) + data[off:off + chunk]
            in_flight.append(self.link.send(Cmd.WRITE_INPUT, payload))
            if len(in_flight) >= window:
                self._check(Cmd.WRITE_INPUT, self.link.wait(in_flight.pop(0)))
        for p in in_flight:
            self._check(Cmd.WRITE_INPUT, self.link.wait(p))

    def read_output(self, index: int, nbytes: int) -> bytes:
        out = bytearray()
        chunk = self.max_payload
        for off in range(0, nbytes, chunk):
            n = min(chunk, nbytes - off)
            part = self._call(Cmd.READ_OUTPUT, struct.pack("<BBHI", index, 0, n, off))
            if len(part) != n:
                raise ProtocolError(f"READ_OUTPUT returned {len(part)} bytes, expected {n}")
            out += part
        return bytes(out)

    def invoke(self) -> InvokeResult:
        return self.finish_invoke(self.start_invoke())

    def start_invoke(self, with_outputs: bool = False) -> Pending:
        """Send INVOKE and return at once; `finish_invoke` waits for the result. `with_outputs`
        asks the device to append all outputs to the reply when they fit in one frame."""
        return self.link.send(Cmd.INVOKE, bytes([INVOKE_WITH_OUTPUTS if with_outputs else 0]),
                              timeout=self.link.config.invoke_timeout)

    def finish_invoke(self, pending: Pending) -> InvokeResult:
        return self._finish_invoke(pending)[0]

    def _finish_invoke(self, pending: Pending) -> tuple[InvokeResult, bytes | None]:
        reply = self.link.wait(pending)
        payload = self._check(Cmd.INVOKE, reply)
        result = InvokeResult(*_INVOKE.unpack_from(payload))
        inline = payload[_INVOKE.size:] if reply.flags & INVOKE_WITH_OUTPUTS else None
        return result, inline

    def stats(self) -> Stats:
        return Stats(*_STATS.unpack_from(self._call(Cmd.STATS)))

    def reset(self) -> None:
        """Reset the model's streaming state (RESET mode 0); the invoke counter restarts at 0."""
        self._call(Cmd.RESET, b"\x00")

    def reboot(self) -> DeviceInfo:
        """Software-reset the board (RESET mode 1), wait for its BOOT frame, identify again."""
        self._call(Cmd.RESET, b"\x01")
        if self.link.wait_boot() is None:
            raise DeviceReset("device did not come back after RESET", hint="power-cycle it")
        return self.connect()

    def link_test(self, send: int, receive: int) -> bytes:
        """Send `send` bytes, get `receive` bytes back (both <= max_payload); measures the link."""
        return self._call(Cmd.LINK_TEST, struct.pack("<H", receive) + bytes(max(0, send - 2)))

    # -- convenience: one whole inference --------------------------------------------------
    def run(self, arrays: list[np.ndarray], meanwhile: Callable[[], object] | None = None
            ) -> tuple[list[np.ndarray], InvokeResult]:
        """Upload all inputs, invoke, download all outputs (as numpy arrays with device shapes).
        `meanwhile` runs on the host while the device computes (verify runs the reference there)."""
        if len(arrays) != len(self.inputs):
            raise ProtocolError(f"model has {len(self.inputs)} inputs, got {len(arrays)} arrays")
        t0 = time.monotonic()
        for i, (a, t) in enumerate(zip(arrays, self.inputs)):
            data = np.ascontiguousarray(a, dtype=t.dtype).tobytes()
            if len(data) != t.bytes:
                raise ProtocolError(f"input {t.name}: {len(data)} bytes, device expects {t.bytes}")
            self.write_input(i, data)
        t1 = time.monotonic()
        pending = self.start_invoke(with_outputs=True)
        if meanwhile is not None:
            meanwhile()
        result, inline = self._finish_invoke(pending)
        t2 = time.monotonic()
        if inline is not None and len(inline) == sum(t.bytes for t in self.outputs):
            blobs, at = [], 0
            for t in self.outputs:
                blobs.append(inline[at:at + t.bytes])
                at += t.bytes
        else:
            blobs = [self.read_output(i, t.bytes) for i, t in enumerate(self.outputs)]
        outs = [np.frombuffer(b, dtype=t.dtype).reshape(t.shape) for b, t in zip(blobs, self.outputs)]
        self.timing["upload"] += t1 - t0
        self.timing["invoke"] += t2 - t1
        self.timing["download"] += time.monotonic() - t2
        return outs, result
