"""AOT lowering of the TFLM Signal-library ops (audio frontends such as micro_speech's).

Each lowering reads its operator's custom options (a flexbuffer map, parsed here at generation
time so the device never parses anything), checks the tensors, precomputes what the interpreter
computes at init time (FFT twiddles and factors, configs) as const data, and emits one call into
the kernels of `firmware/aot/signal/`, which hold the arithmetic. The only streaming state, the
spectral-subtraction noise estimate, is a `ctx.state` buffer that NAME_reset() zeroes, as the
interpreter's Reset does.
"""

from __future__ import annotations

import math
from typing import Any

from ..context import OpContext
from . import Lowered, register

_SPECTRUM = "signal/tg_sig_spectrum.c"  # also holds the msb helpers the other kernels use


def custom_options(ctx: OpContext) -> dict[str, Any]:
    """The op's flexbuffer options as a dict (empty when the op has none)."""
    raw = ctx.op.custom_options
    if not raw:
        return {}
    from flatbuffers import flexbuffers

    try:
        value = flexbuffers.Loads(raw)
    except (IndexError, ValueError, TypeError, KeyError, UnicodeDecodeError, OverflowError) as exc:
        raise ctx.error(f"unreadable custom options ({type(exc).__name__})") from exc
    if not isinstance(value, dict):
        raise ctx.error("custom options are not a flexbuffer map")
    return value


def _int_option(ctx: OpContext, opts: dict[str, Any], key: str) -> int:
    if key not in opts:
        raise ctx.error(f"custom option '{key}' is missing")
    return int(opts[key])


def _check(ctx: OpContext, n_in: int, n_out: int, types: dict[str, str]) -> None:
    """Arity and element types; `types` maps 'i0'/'o1'-style keys to dtypes."""
    if len(ctx.op.inputs) != n_in or len(ctx.op.outputs) != n_out:
        raise ctx.error(f"expected {n_in} inputs and {n_out} outputs, got {len(ctx.op.inputs)} and {len(ctx.op.outputs)}")
    for key, dtype in types.items():
        t = ctx.input(int(key[1:])) if key[0] == "i" else ctx.output(int(key[1:]))
        if t is None or t.dtype != dtype:
            got = "missing" if t is None else t.dtype
            raise ctx.error(f"{'input' if key[0] == 'i' else 'output'} {key[1:]} is {got}, the AOT kernel needs {dtype}")


def _n(ctx: OpContext, key: str) -> int:
    t = ctx.input(int(key[1:])) if key[0] == "i" else ctx.output(int(key[1:]))
    assert t is not None
    return t.num_elements


@register("SignalWindow")
def window(ctx: OpContext) -> Lowered:
    _check(ctx, 2, 1, {"i0": "int16", "i1": "int16", "o0": "int16"})
    shift = _int_option(ctx, custom_options(ctx), "shift")
    size, wsize = _n(ctx, "i0"), _n(ctx, "i1")
    if wsize <= 0 or size % wsize or _n(ctx, "o0") != size:
        raise ctx.error(f"input size {size} is not a multiple of the window size {wsize}")
    return Lowered(
        f"tg_sig_window({ctx.inp(0)}, {size}, {ctx.inp(1)}, {wsize}, {shift}, {ctx.out(0)});",
        sources=(_SPECTRUM,),
    )


@register("SignalFftAutoScale")
def fft_auto_scale(ctx: OpContext) -> Lowered:
    _check(ctx, 1, 2, {"i0": "int16", "o0": "int16", "o1": "int32"})
    return Lowered(
        f"*{ctx.out(1)} = tg_sig_fft_auto_scale({ctx.inp(0)}, {_n(ctx, 'o0')}, {ctx.out(0)});",
        sources=(_SPECTRUM,),
    )


def fft_factors(n: int) -> list[int]:
    """(radix, remaining length) pairs in the interpreter FFT's order: 4s, then 2s, then odd primes."""
    out: list[int] = []
    p = 4
    limit = math.floor(math.sqrt(n))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > limit:
                p = n
        n //= p
        out += [p, n]
        if n <= 1:
            return out


def _q15_cexp(phase: float) -> tuple[int, int]:
    # floor(0.5 + 32767 * cos/sin) in double precision, exactly as the interpreter's init does
    return int(math.floor(0.5 + 32767 * math.cos(phase))), int(math.floor(0.5 + 32767 * math.sin(phase)))


def rfft_tables(fft_length: int) -> tuple[list[int], list[int], list[int]]:
    """(factors, twiddles, split twiddles) of an int16 real FFT; complex values as re, im pairs."""
    n = fft_length // 2
    pi = 3.141592653589793238462643383279502884197169399375105820974944
    twiddles = [v for i in range(n) for v in _q15_cexp(-2 * pi * i / n)]
    split = [v for i in range(n // 2) for v in _q15_cexp(-3.14159265358979323846264338327 * ((i + 1) / n + 0.5))]
    return fft_factors(n), twiddles, split


@register("SignalRfft")
def rfft(ctx: OpContext) -> Lowered:
    opts = custom_options(ctx)
    fft_length = _int_option(ctx, opts, "fft_length")
    t_in = ctx.input(0)
    if t_in is not None and t_in.dtype != "int16":
        raise ctx.error(f"{t_in.dtype} RFFT is not supported by the AOT runtime (int16 only)")
    _check(ctx, 1, 1, {"i0": "int16", "o0": "int16"})
    if fft_length < 4 or fft_length & (fft_length - 1):
        raise ctx.error(f"fft_length {fft_length} is not a power of two >= 4 (the AOT FFT has radix-2/4 stages only)")
    assert t_in is not None
    t_out = ctx.output(0)
    in_len = t_in.shape[-1] if t_in.shape else 1
    out_len = (t_out.shape[-1] if t_out.shape else 1) // 2
    half = fft_length // 2
    if in_len > fft_length or out_len != half + 1 or t_out.num_elements // (2 * out_len) != t_in.num_elements // in_len:
        raise ctx.error(f"input length {in_len} / output bins {out_len} do not fit fft_length {fft_length}")
    batches = t_in.num_elements // in_len
    factors, twiddles, split = rfft_tables(fft_length)
    plan = ctx.struct(
        "tg_rfft16_plan",
        {
            "half_length": half,
            "factors": ctx.const_array(factors, "int16_t", hint="fft_factors"),
            "twiddles": f"(const tg_cpx16 *){ctx.const_array(twiddles, 'int16_t', hint='fft_twiddles')}",
            "split_twiddles": f"(const tg_cpx16 *){ctx.const_array(split, 'int16_t', hint='fft_split')}",
        },
        hint="rfft_plan",
    )
    scratch = ctx.scratch(2 * half * 4)  # work + tmp, `half` complex int16 each
    call = (
        f"tg_sig_rfft16(&{plan}, {ctx.inp(0)} + b * {in_len}, {in_len}, (tg_cpx16 *){scratch}, "
        f"(tg_cpx16 *){scratch} + {half}, (tg_cpx16 *){ctx.out(0)} + b * {out_len});"
    )
    code = f"{{\n  int32_t b;\n  for (b = 0; b < {batches}; ++b) {{\n    {call}\n  }}\n}}"
    return Lowered(code, sources=("signal/tg_sig_rfft.c",))


@register("SignalEnergy")
def energy(ctx: OpContext) -> Lowered:
    _check(ctx, 1, 1, {"i0": "int16", "o0": "uint32"})
    opts = custom_options(ctx)
    start, end = _int_option(ctx, opts, "start_index"), _int_option(ctx, opts, "end_index")
    n = _n(ctx, "o0")
    if not 0 <= start <= end <= n or 2 * end > _n(ctx, "i0"):
        raise ctx.error(f"energy range [{start}, {end}) does not fit {n} bins")
    return Lowered(
        f"tg_sig_energy((const tg_cpx16 *){ctx.inp(0)}, {start}, {end}, {ctx.out(0)});",
        sources=(_SPECTRUM,),
    )


@register("SignalFilterBank")
def filter_bank(ctx: OpContext) -> Lowered:
    _check(ctx, 6, 1, {"i0": "uint32", "i1": "int16", "i2": "int16", "i3": "int16", "i4": "int16", "i5": "int16", "o0": "uint64"})
    channels = _int_option(ctx, custom_options(ctx), "num_channels")
    tables = []
    for i in range(1, 6):
        t = ctx.input(i)
        assert t is not None
        tables.append([int(v) for v in ctx.array(t).reshape(-1)])
    weights, unweights, starts, wstarts, widths = tables
    n_in = _n(ctx, "i0")
    if min(len(starts), len(wstarts), len(widths)) < channels + 1 or _n(ctx, "o0") != channels:
        raise ctx.error(f"channel tables do not match num_channels {channels}")
    # the kernel trusts these tables: prove every access in range now
    for c in range(channels + 1):
        w = widths[c]
        if w > 0 and (starts[c] < 0 or starts[c] + w > n_in or wstarts[c] < 0
                      or wstarts[c] + w > min(len(weights), len(unweights))):
            raise ctx.error(f"filterbank channel {c} reaches outside its tables")
    cfg = ctx.struct(
        "tg_filter_bank_cfg",
        {
            "num_channels": channels,
            "weights": ctx.inp(1),
            "unweights": ctx.inp(2),
            "frequency_starts": ctx.inp(3),
            "weight_starts": ctx.inp(4),
            "widths": ctx.inp(5),
        },
        hint="filter_bank",
    )
    return Lowered(f"tg_sig_filter_bank(&{cfg}, {ctx.inp(0)}, {ctx.out(0)});", sources=("signal/tg_sig_filterbank.c", _SPECTRUM))


@register("SignalFilterBankSquareRoot")
def filter_bank_square_root(ctx: OpContext) -> Lowered:
    _check(ctx, 2, 1, {"i0": "uint64", "i1": "int32", "o0": "uint32"})
    return Lowered(
        f"tg_sig_filter_bank_sqrt({ctx.inp(0)}, {_n(ctx, 'i0')}, *{ctx.inp(1)}, {ctx.out(0)});",
        sources=("signal/tg_sig_filterbank.c", _SPECTRUM),
    )


@register("SignalFilterBankSpectralSubtraction")
def spectral_subtraction(ctx: OpContext) -> Lowered:
    _check(ctx, 1, 2, {"i0": "uint32", "o0": "uint32", "o1": "uint32"})
    o = custom_options(ctx)
    channels = _int_option(ctx, o, "num_channels")
    if not _n(ctx, "i0") == _n(ctx, "o0") == _n(ctx, "o1") == channels:
        raise ctx.error(f"tensors do not have num_channels={channels} elements")
    keys = ("smoothing", "one_minus_smoothing", "alternate_smoothing", "alternate_one_minus_smoothing",
            "min_signal_remaining", "smoothing_bits", "spectral_subtraction_bits")
    fields: dict[str, Any] = {"num_channels": channels}
    fields.update({k: _int_option(ctx, o, k) for k in keys})
    fields["clamping"] = 1 if o.get("clamping") else 0
    cfg = ctx.struct("tg_spectral_subtraction_cfg", fields, hint="spectral_subtraction")
    noise = ctx.state(4 * channels, hint="noise_estimate")  # zeroed by reset, like TFLM's Reset
    return Lowered(
        f"tg_sig_spectral_subtraction(&{cfg}, {ctx.inp(0)}, (uint32_t *){noise}, {ctx.out(0)}, {ctx.out(1)});",
        sources=("signal/tg_sig_filterbank.c", _SPECTRUM),
    )


@register("SignalPCAN")
def pcan(ctx: OpContext) -> Lowered:
    _check(ctx, 3, 1, {"i0": "uint32", "i1": "uint32", "i2": "int16", "o0": "uint32"})
    snr_shift = _int_option(ctx, custom_options(ctx), "snr_shift")
    if _n(ctx, "i2") < 4 * 32 - 3:  # the largest noise value reads entry 4 * 32 - 6 + 2
        raise ctx.error(f"gain table has {_n(ctx, 'i2')} entries, needs {4 * 32 - 3}")
    return Lowered(
        f"tg_sig_pcan({ctx.inp(0)}, {ctx.inp(1)}, {ctx.inp(2)}, {snr_shift}, {_n(ctx, 'i0')}, {ctx.out(0)});",
        sources=("signal/tg_sig_log_pcan.c", _SPECTRUM),
    )


@register("SignalFilterBankLog")
def filter_bank_log(ctx: OpContext) -> Lowered:
    _check(ctx, 1, 1, {"i0": "uint32", "o0": "int16"})
    o = custom_options(ctx)
    scale, bits = _int_option(ctx, o, "output_scale"), _int_option(ctx, o, "input_correction_bits")
    return Lowered(
        f"tg_sig_filter_bank_log({ctx.inp(0)}, {_n(ctx, 'i0')}, {scale}, {bits}, {ctx.out(0)});",
        sources=("signal/tg_sig_log_pcan.c", _SPECTRUM),
    )
