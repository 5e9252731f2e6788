"""Framing is pure: COBS round trips, CRC and length checks, resynchronisation after garbage."""

from __future__ import annotations

import random

import pytest

from tinygen.link import framing
from tinygen.link.framing import Deframer, Frame, FrameError


@pytest.mark.parametrize("n", [0, 1, 2, 253, 254, 255, 508, 1000, 3000])
def test_cobs_round_trip_has_no_zeros(n: int) -> None:
    rng = random.Random(n)
    for zeros in (0.0, 0.1, 1.0):
        data = bytes(0 if rng.random() < zeros else rng.randrange(1, 256) for _ in range(n))
        enc = framing.cobs_encode(data)
        assert 0 not in enc
        assert len(enc) <= n + n // 254 + 1
        assert framing.cobs_decode(enc) == data


def test_cobs_known_vectors() -> None:  # from the COBS paper / Wikipedia
    assert framing.cobs_encode(b"\x00") == b"\x01\x01"
    assert framing.cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert framing.cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255))
    assert framing.cobs_encode(bytes(range(1, 256))) == b"\xff" + bytes(range(1, 255)) + b"\x02\xff"


def test_frame_round_trip_and_crc() -> None:
    f = Frame(0x03, 513, bytes(range(256)) * 3, status=4)
    wire = framing.encode(f)
    assert wire.endswith(b"\x00") and wire.count(0) == 1
    assert framing.decode(wire[:-1]) == f
    body = bytearray(framing.cobs_decode(wire[:-1]))
    body[10] ^= 0x40  # flip one payload bit
    with pytest.raises(FrameError, match="CRC"):
        framing.decode(framing.cobs_encode(bytes(body)))


def test_deframer_resynchronises_after_garbage() -> None:
    frames = [Frame(0x84, i, bytes([i]) * i) for i in range(1, 6)]
    rng = random.Random(7)
    stream = bytearray()
    for f in frames:
        stream += bytes(rng.randrange(256) for _ in range(40))  # garbage, zeros included
        stream += b"\x00" + framing.encode(f)
    d = Deframer()
    got: list[Frame | FrameError] = []
    for i in range(0, len(stream), 7):  # arbitrary split points
        got += d.feed(bytes(stream[i:i + 7]))
    good = [g for g in got if isinstance(g, Frame)]
    assert good == frames
    assert d.garbage_bytes > 0


def test_truncated_and_short_frames_are_errors() -> None:
    with pytest.raises(FrameError):
        framing.decode(b"\x05\x01\x02")
    with pytest.raises(FrameError, match="short"):
        framing.decode(framing.cobs_encode(b"\x01\x02\x03"))


def test_printed_text_is_kept_for_error_messages() -> None:
    d = Deframer()
    d.feed(framing.encode(Frame(0x81, 1)) + b"\r\ntinygen: PANIC: HardFault\r\n")
    assert d.printed_text() == "tinygen: PANIC: HardFault"
    d2 = Deframer()
    d2.feed(bytes(range(1, 200)))
    assert d2.printed_text() == ""
