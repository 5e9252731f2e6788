"""Frame encoding, pure functions (no I/O): COBS byte stuffing, CRC-32, header packing.

A frame on the wire is `COBS(body) 0x00`; body = header (8 bytes) + payload + CRC-32 (IEEE, as
`zlib.crc32`) of header + payload, little-endian. Senders also put a 0x00 *before* each frame so
garbage already on the line ends there instead of corrupting the frame. See docs/protocol.md.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

VERSION = 1
HEADER = struct.Struct("<BBHBBH")  # version, type, seq, status, flags, length
CRC_SIZE = 4
SEQ_NONE = 0xFFFF
DELIMITER = b"\x00"


class FrameError(ValueError):
    """A frame failed COBS decoding, its CRC or its length check."""


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""
    status: int = 0
    flags: int = 0
    version: int = VERSION


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result contains no 0x00 (+1 byte per 254)."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        end = data.find(0, i, i + 254)
        block_end = end if end >= 0 else min(i + 254, n)
        out.append(block_end - i + 1)
        out += data[i:block_end]
        if end >= 0:
            i = end + 1              # the zero is implied by a short block
        elif block_end - i == 254:
            i = block_end
            if i >= n:
                break                # a full block at the very end needs no trailer
        else:
            break                    # last (short) block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("zero byte inside a COBS frame")
        end = i + code
        if end > n:
            raise FrameError("truncated COBS block")
        out += data[i + 1:end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode(frame: Frame) -> bytes:
    """The bytes to send: COBS(body) + 0x00 (the caller may prefix a 0x00 delimiter)."""
    body = HEADER.pack(frame.version, frame.type, frame.seq, frame.status, frame.flags, len(frame.payload))
    body += frame.payload
    body += struct.pack("<I", crc32(body))
    return cobs_encode(body) + DELIMITER


def decode(encoded: bytes) -> Frame:
    """One frame from its COBS bytes (without the 0x00 delimiter)."""
    body = cobs_decode(encoded)
    if len(body) < HEADER.size + CRC_SIZE:
        raise FrameError(f"frame too short ({len(body)} bytes)")
    (crc,) = struct.unpack_from("<I", body, len(body) - CRC_SIZE)
    if crc32(body[:-CRC_SIZE]) != crc:
        raise FrameError("CRC mismatch")
    version, type_, seq, status, flags, length = HEADER.unpack_from(body)
    if HEADER.size + length + CRC_SIZE != len(body):
        raise FrameError(f"length field {length} does not match frame size {len(body)}")
    return Frame(type_, seq, bytes(body[HEADER.size:-CRC_SIZE]), status, flags, version)


class Deframer:
    """Splits a byte stream at 0x00 into frames. `feed` returns Frame or FrameError items in order;
    a partial frame is kept until more bytes arrive. Empty frames (0x00 0x00) are skipped."""

    def __init__(self, max_frame: int = 1 << 17) -> None:
        self._buf = bytearray()
        self._max = max_frame
        self.garbage_bytes = 0
        self._noise = b""

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        self._buf += data
        items: list[Frame | FrameError] = []
        while True:
            end = self._buf.find(0)
            if end < 0:
                if len(self._buf) > self._max:  # runaway garbage without a delimiter
                    self.garbage_bytes += len(self._buf)
                    self._buf.clear()
                return items
            chunk = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if not chunk:
                continue
            try:
                items.append(decode(chunk))
            except FrameError as exc:
                self.garbage_bytes += len(chunk) + 1
                self._noise = (self._noise + chunk)[-256:]
                items.append(exc)

    def clear(self) -> None:
        self._buf.clear()

    def printed_text(self) -> str:
        """The readable tail of what arrived outside valid frames (a panic message, a boot banner
        of other firmware), or "" when it is not text."""
        raw = (self._noise + bytes(self._buf))[-160:]
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
        if len(raw) < 4 or printable < 0.8 * len(raw):
            return ""
        return " ".join(raw.decode("ascii", "replace").split())
