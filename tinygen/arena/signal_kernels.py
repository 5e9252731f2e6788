"""Arena requests of TFLM's Signal-library custom ops (signal/micro/kernels at 90b983c).

Their Init reads a flexbuffer map of options (`custom_options`) and may size state buffers from
it: the FFT keeps a kissfft plan, the filter bank a uint64 work area, spectral subtraction its
noise estimate. Prepare only looks at tensors, except RFFT which asks for a scratch buffer of
one FFT frame.
"""

from __future__ import annotations

from typing import Any

from flatbuffers import flexbuffers

from ..model import OperatorInfo
from .abi import Field, sizeof
from .kernels import Kernel, KernelContext, _init_struct, _temps

# tflm_signal::FilterbankConfig + uint64_t* work_area
FILTER_BANK_PARAMS = (("i32", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32"), "ptr")
# tflm_signal::SpectralSubtractionConfig + noise_estimate pointer + size
SPECTRAL_SUBTRACTION_PARAMS = (("i32",) + ("u32",) * 7 + ("bool",), "ptr", "size_t")
# TfLiteAudioFrontendRfftParams<T>
RFFT_PARAMS = ("i32", "i32", "i32", "i32", "enum", "ptr", "int", "ptr")
KISS_MAXFACTORS = 32
# schema TensorType -> bytes of one kissfft scalar (FFT element type T)
_FFT_SCALAR = {7: 2, 2: 4, 0: 4}  # INT16, INT32, FLOAT32


def _options(op: OperatorInfo) -> dict[str, Any]:
    if not op.custom_options:
        return {}
    value = flexbuffers.Loads(op.custom_options)
    return value if isinstance(value, dict) else {}


def _kiss_fftr_bytes(ctx: KernelContext, fft_length: int, scalar: int) -> int:
    """kiss_fftr_alloc's memneeded for a real FFT of fft_length points (kissfft v130)."""
    cpx = 2 * scalar
    nfft = fft_length // 2
    # struct kiss_fft_state {int nfft; int inverse; int factors[64]; kiss_fft_cpx twiddles[1];}
    state: Field = ("int", "int", ("arr", "int", 2 * KISS_MAXFACTORS), ("arr", "i16" if scalar == 2 else "i32", 2))
    sub = sizeof(state, ctx.abi) + cpx * (nfft - 1)
    fftr_state = ("ptr", "ptr", "ptr")  # substate, tmpbuf, super_twiddles
    return sizeof(fftr_state, ctx.abi) + sub + cpx * (nfft * 3 // 2)


def _rfft_init(ctx: KernelContext, op: OperatorInfo) -> None:
    opts = _options(op)
    scalar = _FFT_SCALAR.get(int(opts.get("T", 7)), 2)
    ctx.persistent(sizeof(RFFT_PARAMS, ctx.abi))
    ctx.persistent(_kiss_fftr_bytes(ctx, int(opts.get("fft_length", 0)), scalar))


def _rfft_prepare(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.temp_input(op, 0)
    ctx.temp_output(op, 0)
    opts = _options(op)
    ctx.scratch(int(opts.get("fft_length", 0)) * _FFT_SCALAR.get(int(opts.get("T", 7)), 2))


def _filter_bank_init(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.persistent(sizeof(FILTER_BANK_PARAMS, ctx.abi))
    ctx.persistent((int(_options(op).get("num_channels", 0)) + 1) * 8)


def _spectral_subtraction_init(ctx: KernelContext, op: OperatorInfo) -> None:
    ctx.persistent(sizeof(SPECTRAL_SUBTRACTION_PARAMS, ctx.abi))
    ctx.persistent(int(_options(op).get("num_channels", 0)) * 4)


SIGNAL: dict[str, Kernel] = {
    "SignalWindow": Kernel(_init_struct(("i32", "i32")), _temps("i0", "i1", "o0")),
    "SignalFftAutoScale": Kernel(None, _temps("i0", "o0", "o1")),
    "SignalRfft": Kernel(_rfft_init, _rfft_prepare),
    "SignalEnergy": Kernel(_init_struct(("i32", "i32")), _temps("i0", "o0")),
    "SignalFilterBank": Kernel(_filter_bank_init, _temps("i0", "i1", "i2", "i3", "i4", "i5", "o0")),
    "SignalFilterBankSquareRoot": Kernel(None, _temps("i0", "i1", "o0")),
    "SignalFilterBankSpectralSubtraction": Kernel(_spectral_subtraction_init, _temps("i0", "o0", "o1")),
    "SignalPCAN": Kernel(_init_struct(("int",)), _temps("i0", "i1", "i2", "o0")),
    "SignalFilterBankLog": Kernel(_init_struct(("int", "int")), _temps("i0", "o0")),
}
