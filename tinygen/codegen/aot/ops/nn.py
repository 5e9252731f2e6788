"""Weighted and pooling ops on int8 tensors: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pools."""

from __future__ import annotations

import numpy as np

from ..context import OpContext
from ..quant import activation_range, compute_padding, f32, fc_multiplier, quantize_multiplier, wrap_i32
from . import Lowered, register


def _int8(ctx: OpContext) -> bool:
    t = ctx.input(0)
    return t is not None and t.dtype == "int8" and ctx.output(0).dtype == "int8"


def _qparams(ctx: OpContext, i: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    t = ctx.input(i) if i >= 0 else ctx.output(0)
    if t is None or t.quantization is None:
        raise ctx.error(f"tensor {'output' if i < 0 else f'input {i}'} is not quantized")
    return t.quantization.scale, t.quantization.zero_point


def _out_size(in_size: int, k: int, stride: int, dil: int, same: bool) -> int:
    eff = (k - 1) * dil + 1
    return (in_size + stride - 1) // stride if same else (in_size + stride - eff) // stride


def _multipliers(ctx: OpContext, channels: int) -> tuple[list[int], list[int]]:
    """Q31 multipliers and shifts per output channel: input_scale * filter_scale / output_scale."""
    in_s = _qparams(ctx, 0)[0][0]
    f_s = _qparams(ctx, 1)[0]
    out_s = _qparams(ctx, -1)[0][0]
    mults, shifts = [], []
    for c in range(channels):
        s = f_s[c] if len(f_s) > 1 else f_s[0]
        m, sh = quantize_multiplier(f32(in_s) * f32(s) / f32(out_s))
        mults.append(m)
        shifts.append(sh)
    return mults, shifts


def _per_channel(ctx: OpContext, channels: int) -> tuple[str, str]:
    mults, shifts = _multipliers(ctx, channels)
    return (ctx.const_array(np.array(mults, np.int32), "int32_t", "mult"),
            ctx.const_array(np.array(shifts, np.int32), "int32_t", "shift"))


def rq_table(ctx: OpContext, mults: list[int], shifts: list[int], off: int = 0) -> str:
    """The tg_rq_ch table (see tg_aot.h): one-step requantization constants per channel (one row
    when every channel has the same multiplier and shift). `off` (see `fold_offset`) is added to
    every result by the table itself."""
    if len(set(zip(mults, shifts))) == 1:
        mults, shifts = mults[:1], shifts[:1]
    rows = [_rq_row(m, sh, off) for m, sh in zip(mults, shifts)]
    return ctx.struct_array("tg_rq_ch", rows, "rq", row_bytes=32)


def _rq_row(m: int, sh: int, off: int = 0) -> dict[str, int]:
    e = -sh
    rnd = (1 << 30) + (1 << (30 + e)) if e >= 1 else 0
    if off:
        # ((y + off * 2^(32 + shr)) >> 32) >> shr == ((y >> 32) >> shr) + off, exactly
        rnd += off << (32 + e - 1)
    return {"round": rnd, "round_neg": rnd - (1 << 31) if e >= 1 else 0, "mult": m, "shift": sh,
            "neg_below": -((1 << 30) // m) if m > 0 else -(2**31), "shr": e - 1 if e >= 1 else 0}


def fold_offset(shifts: list[int], out_zp: int) -> int:
    """The output zero point to fold into the rounding constants (0: none). Only when every channel
    takes the one-step path and the constants stay far inside int64 (shr <= 20), so kernels add
    nothing after the shift."""
    return out_zp if all(sh < 0 and -sh - 1 <= 20 for sh in shifts) else 0


def all_fast(shifts: list[int]) -> int:
    """1 when every channel takes tg_rq_fast (a right shift)."""
    return int(all(sh < 0 for sh in shifts))


def _bias(ctx: OpContext, channels: int) -> np.ndarray:
    b = ctx.input(2)
    if b is None:
        return np.zeros(channels, np.int64)
    if b.dtype != "int32":
        raise ctx.error(f"{b.dtype} bias is not supported (int32 only)")
    return ctx.array(b).astype(np.int64).reshape(-1)


def _folded(bias: np.ndarray, w: np.ndarray, in_offset: int) -> np.ndarray:
    """bias + in_offset * sum(weights) per channel, wrapped to int32 like the device accumulator."""
    sums = w.reshape(w.shape[0], -1).astype(np.int64).sum(axis=1)
    return np.array([wrap_i32(int(b) + in_offset * int(s)) for b, s in zip(bias, sums)], np.int32)


def _rq(ctx: OpContext, mults: list[int], shifts: list[int], bias: np.ndarray, out_zp: int,
        act: tuple[int, int], k: int = 0, per_channel_mh: bool = False) -> str:
    """A nested tg_requant_ch initialiser: constants table (output zero point folded in when
    possible), folded bias, output range. k > 0 (products of k int8 terms by tg_mm_wide_s8 /
    tg_mm_q8_s8): the SMMULR constants `mh` instead of the table (12 bytes a channel, not 32) when every
    shift is a right one and |2 * acc| < 2^31."""
    folded = fold_offset(shifts, out_zp)
    per_channel = int(len(set(zip(mults, shifts))) > 1 or per_channel_mh)
    mh, table = "NULL", "NULL"
    # the kernels' SMMULR variants: per channel, or one multiplier with the whole int8 range
    rows = mh_rows(mults, shifts, bias, out_zp, act, k) if k else None
    if rows is not None and (per_channel or (act == (-128, 127) and out_zp == folded)):
        mh = ctx.const_array(np.array(rows if per_channel else rows[:1], np.int64).reshape(-1).astype(np.int32),
                             "int32_t", "mh")
    else:
        table = rq_table(ctx, mults, shifts, folded)
    return (f"{{ .ch = {table}, .bias = {ctx.const_array(bias, 'int32_t', 'biasf')}, "
            f".per_channel = {per_channel}, .out_offset = {out_zp - folded}, .act_min = {act[0]}, "
            f".act_max = {act[1]}, .fast = {all_fast(shifts)}, .mh = {mh} }}")


def mh_rows(mults: list[int], shifts: list[int], bias: np.ndarray, out_zp: int, act: tuple[int, int],
            k: int) -> list[list[int]] | None:
    """Per channel the SMMULR constants (Q31 multiplier, right shift e, 2^(e-1) + folded zero point * 2^e), or
    None when a shift is a left one or |2 * acc| may reach 2^31 (k products of int8 terms plus the bias)."""
    if not (all_fast(shifts) and int(np.abs(bias.astype(np.int64)).max(initial=0)) + k * 128 * 128 < 1 << 30):
        return None
    folded = fold_offset(shifts, out_zp)
    return [[m, -s, (1 << (-s - 1)) + (folded << -s)] for m, s in zip(mults, shifts)]


def pw8_streams(w: np.ndarray, bias: np.ndarray, rows: list[list[int]]) -> np.ndarray:
    """[n, 8] int8 weights of a pointwise convolution as tg_pw8_s8 reads them (tg_aot_wide.c): per output
    channel 8 int32 words, the folded bias, (w0 | w2 << 16), (w1 | w3 << 16), (w4 | w6 << 16), (w5 | w7 << 16)
    and the SMMULR constants: one LDM brings a channel's sum start and weights, another its constants."""
    g = w.astype(np.int64).reshape(-1, 2, 4)
    even = (g[..., 0] & 0xFFFF) | (g[..., 2] << 16)
    odd = (g[..., 1] & 0xFFFF) | (g[..., 3] << 16)
    words = np.stack([even, odd], axis=-1).reshape(-1, 4)
    out = np.concatenate([bias.astype(np.int64).reshape(-1, 1), words, np.array(rows, np.int64)], axis=1)
    return (out.reshape(-1) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


# 3x3 convolutions of three input channels (a network's first layer on RGB): the patch order tg_conv_s8's
# wide 5 path gathers, per filter row its first eight bytes (two words straight from the image), then the
# three rows' ninth bytes in one word; k 27 -> 28 (one zero weight).
RGB3X3_ORDER = [*range(0, 8), *range(9, 17), *range(18, 26), 8, 17, 26]


def _rgb3x3(ctx: OpContext, w: np.ndarray, wide: int, mh: list[list[int]] | None, act: tuple[int, int],
            shifts: list[int], out_zp: int) -> bool:
    """Whether a convolution takes tg_conv_s8's wide 5 path (tg_conv_wp_s8): 3x3 over three channels, weights
    widened by channel pairs, at most 64 of them, SMMULR constants per channel onto the whole int8 range."""
    o = ctx.options
    oc, kh, kw, fic = w.shape
    return (wide == 3 and kh == kw == 3 and fic == ctx.arg(0).shape[3] == 3 and o.dilationWFactor == 1
            and oc <= 64 and mh is not None and act == (-128, 127) and fold_offset(shifts, out_zp) == out_zp)


def interleave_pairs(w: np.ndarray) -> np.ndarray:
    """[n, k] int8 weights in the order tg_mm_s8 reads them (tg_aot_matmul.c): per channel pair,
    4 bytes of each in turn, then each channel's k % 4 tail; an odd last channel stays plain."""
    n, k = w.shape
    k4 = k - k % 4
    parts = []
    for c in range(0, n - 1, 2):
        a, b = w[c], w[c + 1]
        parts.append(np.stack([a[:k4].reshape(-1, 4), b[:k4].reshape(-1, 4)], axis=1).reshape(-1))
        parts += [a[k4:], b[k4:]]
    if n % 2:
        parts.append(w[-1])
    return np.concatenate(parts).astype(np.int8) if parts else w.reshape(-1)


def interleave_quads(w: np.ndarray) -> np.ndarray:
    """[n, k] int8 weights in the order tg_mv_s8 reads them: per four channels, 4 bytes of each in
    turn, then each channel's k % 4 tail; the last n % 4 channels stay plain."""
    n, k = w.shape
    k4 = k - k % 4
    parts = []
    for c in range(0, n - n % 4, 4):
        q = w[c: c + 4]
        parts.append(np.stack([r[:k4].reshape(-1, 4) for r in q], axis=1).reshape(-1))
        parts += [r[k4:] for r in q]
    parts += [w[c] for c in range(n - n % 4, n)]
    return np.concatenate(parts).astype(np.int8) if parts else w.reshape(-1)


def widen_quads(w: np.ndarray) -> np.ndarray:
    """[n, k] int8 weights as tg_mm_wide_s8 reads them (tg_aot_wide.c), int32 words: per four
    channels and four k, each channel's (w0 | w2 << 16) and (w1 | w3 << 16); then the quad's k % 4
    tail, one word per weight, [tail][channel]; the last n % 4 channels: word pairs, then tail words."""
    n, k = w.shape
    k4 = k - k % 4
    w32 = w.astype(np.int32)

    def pairs(rows: np.ndarray) -> np.ndarray:   # [m, k4] -> [k4/4, m, 2] words
        g = rows[:, :k4].reshape(rows.shape[0], -1, 4)
        even = (g[..., 0] & 0xFFFF) | (g[..., 2] << 16)
        odd = (g[..., 1] & 0xFFFF) | (g[..., 3] << 16)
        return np.stack([even, odd], axis=-1).transpose(1, 0, 2)

    parts = []
    for c in range(0, n - n % 4, 4):
        q = w32[c: c + 4]
        parts += [pairs(q).reshape(-1), q[:, k4:].T.reshape(-1)]
    for c in range(n - n % 4, n):
        parts += [pairs(w32[c: c + 1]).reshape(-1), w32[c, k4:]]
    return np.concatenate(parts).astype(np.int64).astype(np.uint32).view(np.int32) if parts else w32.reshape(-1)


def widen_pairs(w: np.ndarray) -> np.ndarray:
    """[n, k] int8 weights (n % 2 == 0, k % 4 == 0) as tg_mm_wp_s8 reads them (tg_aot_wide.c), int32 words: per
    two channels and four k, the first channel's (w0 | w2 << 16), (w1 | w3 << 16), then the second's."""
    n, k = w.shape
    g = w.astype(np.int32).reshape(n // 2, 2, k // 4, 4)
    even = (g[..., 0] & 0xFFFF) | (g[..., 2] << 16)
    odd = (g[..., 1] & 0xFFFF) | (g[..., 3] << 16)
    words = np.stack([even, odd], axis=-1).transpose(0, 2, 1, 3)   # [pair, k/4, channel, 2]
    return words.reshape(-1).astype(np.int64).astype(np.uint32).view(np.int32)


# Widened weights cost one more flash byte per weight; they are given to the layers that reuse each
# weight most (rows of the matrix product), at least WIDE_MIN_ROWS times, within a budget of
# max(WIDE_BUDGET_MIN bytes, a quarter of all weight bytes).
WIDE_MIN_ROWS = 8
WIDE_BUDGET_MIN = 32 * 1024


def _matmul_shape(ctx: OpContext) -> tuple[int, int, int] | None:
    """(rows, n, k) of the matrix product an int8 CONV_2D / FULLY_CONNECTED / one-channel depthwise
    lowers to, or None when it does not go through tg_conv_s8 / tg_fc_s8's product."""
    wt, xt = ctx.input(1), ctx.input(0)
    if not _int8(ctx) or wt is None or xt is None or not wt.is_constant:
        return None
    w = wt.shape
    out = ctx.output(0).shape
    if ctx.op.op == "FULLY_CONNECTED":
        return ctx.output(0).num_elements // w[0], w[0], w[-1]
    if ctx.op.op == "CONV_2D" and w[3] == xt.shape[3]:
        return out[0] * out[1] * out[2], w[0], _k_pad(ctx, w[1] * w[2] * w[3]) or w[1] * w[2] * w[3]
    if ctx.op.op == "DEPTHWISE_CONV_2D" and xt.shape[3] == 1 and not _dw_inplace(ctx):
        return out[0] * out[1] * out[2], w[3], w[1] * w[2]
    return None


def _k_pad(ctx: OpContext, k: int) -> int:
    """Patch length an im2col convolution pads k to (0: none): a multiple of 8 from 16 up, so the
    product has no k % 8 tail (the pad bytes meet zero weights)."""
    return (k + 7) // 8 * 8 if k % 8 and k >= 16 and not _pointwise(ctx) else 0


def _wide_plan(ctx: OpContext) -> frozenset[tuple[int, int]]:
    shapes = []
    for sg in ctx.model.subgraphs:
        for op in sg.operators:
            if op.op in ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"):
                shape = _matmul_shape(ctx.other(sg, op))
                if shape is not None:
                    shapes.append(((sg.index, op.index), shape))
    budget = max(WIDE_BUDGET_MIN, sum(n * k for _, (_, n, k) in shapes) // 4)
    chosen, spent = set(), 0
    for key, (rows, n, k) in sorted(shapes, key=lambda s: -s[1][0]):
        if rows >= WIDE_MIN_ROWS and spent + n * k <= budget:
            chosen.add(key)
            spent += n * k
    return frozenset(chosen)


def widened(ctx: OpContext) -> bool:
    """Whether this layer's weights are stored widened (tg_mm_wide_s8)."""
    return (ctx.subgraph.index, ctx.op.index) in ctx.plan("wide_weights", _wide_plan)


def widen_dw(w: np.ndarray) -> np.ndarray:
    """[taps, oc] depthwise weights (oc % 4 == 0) as tg_dwconv_s8's wide path reads them, int32
    words: per four channels and tap, (w_c0 | w_c2 << 16) and (w_c1 | w_c3 << 16)."""
    taps, oc = w.shape
    g = w.astype(np.int32).reshape(taps, oc // 4, 4).transpose(1, 0, 2)   # [group, tap, 4]
    even = (g[..., 0] & 0xFFFF) | (g[..., 2] << 16)
    odd = (g[..., 1] & 0xFFFF) | (g[..., 3] << 16)
    return np.stack([even, odd], axis=-1).reshape(-1).astype(np.int64).astype(np.uint32).view(np.int32)


def dw_row_weights(w: np.ndarray) -> np.ndarray:
    """[oc, 3, 3] depthwise weights as tg_dwconv_rows_s8 reads them: per channel and filter row one word of bytes
    (w0, w2, w1, 0), so SXTB16 gives the pairs (w0, w1) and (w2, 0)."""
    padded = np.zeros((w.shape[0], 3, 4), np.int8)
    padded[:, :, :3] = w
    return np.ascontiguousarray(padded[..., [0, 2, 1, 3]]).reshape(-1)


DWROW_MAX_RING = 32  # TG_DWROW_MAX_RING (tg_aot.h)
DWROW_MIN_OW = 8


def _dw_rows(ctx: OpContext, w: np.ndarray, pads: tuple[int, int], folded: np.ndarray, mults: list[int],
             shifts: list[int], out_zp: int, act: tuple[int, int]) -> Lowered | None:
    """tg_dwconv_rows_s8 for 3x3, multiplier 1, dilation 1, batch 1, right shifts and accumulators inside +-2^30,
    stride 1 along rows of at least DWROW_MIN_OW outputs (per channel and band of rows it pays a fixed cost, ring
    rows, calls and setup, that shorter rows do not repay: they stay with tg_dwconv_s8), not as a row-pipeline stage (rows.py runs
    tg_dwconv_s8's parameters row by row), or None. Its rows run along the image axis with
    more outputs, along H only when in place cannot be asked for or input and output have one shape (then each
    output pixel overwrites only its own input pixel, which the ring already holds)."""
    o = ctx.options
    n, ih, iw, ic = ctx.arg(0).shape
    _, kh, kw, oc = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    if (ctx.row_stage or n != 1 or oc != ic or (kh, kw) != (3, 3) or o.dilationHFactor != 1 or o.dilationWFactor != 1
            or any(sh >= 0 for sh in shifts)):
        return None
    # |2 * (sum of products + bias)| < 2^31, so SMMULR of the doubled sum is TFLM's doubling high multiply
    if int(np.abs(folded.astype(np.int64)).max()) + 9 * 128 * 128 >= 1 << 30:
        return None
    wk = np.ascontiguousarray(w.reshape(kh, kw, oc).transpose(2, 0, 1))   # [oc, kh, kw]
    sh, sw, ph, pw = o.strideH, o.strideW, pads[0], pads[1]
    steps = (ic, iw * ic, oc, ow * oc)
    if oh > ow and o.strideH == 1 and ((ih, iw) == (oh, ow) or not dw_cache_rows(ctx)):
        steps = (iw * ic, ic, ow * oc, oc)
        ih, iw, oh, ow, sh, sw, ph, pw = iw, ih, ow, oh, sw, sh, pw, ph
        wk = np.ascontiguousarray(wk.transpose(0, 2, 1))
    if sw != 1 or ow < DWROW_MIN_OW:
        return None
    # the output zero point goes into the rounding constant when it stays well inside int32
    fold = all(abs(out_zp) * (1 << -s) + (1 << (-s - 1)) < (1 << 30) for s in shifts)
    ch = [[m, -s, (1 << (-s - 1)) + (out_zp << -s if fold else 0), wrap_i32(2 * int(b))]
          for m, s, b in zip(mults, shifts, folded)]
    row_len = max(int(pw) + iw, ow + 3)
    row_len += row_len % 2
    # output rows per kernel call: enough for ~128 outputs (the per-call setup is then a few instructions an
    # output), the ring they read within TG_DWROW_MAX_RING rows
    band = max(1, min(oh, -(-128 // ow), (DWROW_MAX_RING - 3) // sh + 1))
    ring = (band - 1) * sh + 3
    params = ctx.struct("tg_dwrow_params", {
        "in_h": ih, "in_w": iw, "c": oc, "out_h": oh, "out_w": ow, "stride_h": sh,
        "pad_h": ph, "pad_w": pw, "band": band,
        "in_zero_point": _qparams(ctx, 0)[1][0], "row_len": row_len,
        "in_step": steps[0], "in_row_step": steps[1], "out_step": steps[2], "out_row_step": steps[3],
        "w": ctx.const_array(dw_row_weights(wk), "int8_t", "w"),
        "ch": ctx.const_array(np.array(ch, np.int64).reshape(-1).astype(np.int32), "int32_t", "dwch"),
        "out_offset": 0 if fold else out_zp, "act_min": act[0], "act_max": act[1],
    }, "dwrow")
    scratch = ctx.scratch(2 * (ring + 1) * row_len + 4 * band * ow)
    return Lowered(f"tg_dwconv_rows_s8(&{params}, {ctx.inp(0)}, {ctx.out(0)}, (int16_t *){scratch});",
                   ("tg_aot_dwrow.c",))


def group_channels(w: np.ndarray) -> np.ndarray:
    """[taps, oc] depthwise weights as tg_dwconv_s8 reads them: [oc/4][tap][4], then [tap][rest]."""
    taps, oc = w.shape
    g = oc // 4
    head = w[:, : 4 * g].reshape(taps, g, 4).transpose(1, 0, 2).reshape(-1)
    return np.concatenate([head, w[:, 4 * g:].reshape(-1)]).astype(np.int8)


def _check_filter(ctx: OpContext) -> np.ndarray:
    w = ctx.arg(1)
    if w is None or w.dtype != "int8" or not w.is_constant:
        raise ctx.error("weights must be constant int8")
    if any(z != 0 for z in _qparams(ctx, 1)[1]):
        raise ctx.error("weights with a non-zero zero point are not supported")
    return ctx.array(w)


def _pointwise(ctx: OpContext) -> bool:
    o, w = ctx.options, ctx.arg(1)
    ih, iw, ic = ctx.arg(0).shape[1:]
    oh, ow = ctx.output(0).shape[1:3]
    return (w is not None and w.shape[1] == w.shape[2] == 1 and w.shape[3] == ic and o.strideH == o.strideW == 1
            and (oh, ow) == (ih, iw))


def _conv_inplace(ctx: OpContext) -> tuple[tuple[int, int], ...]:
    """A pointwise convolution can overwrite its input (tg_conv_s8 copies two pixels ahead)."""
    return ((0, 0),) if _pointwise(ctx) and ctx.arg(0).shape[0] == 1 else ()


@register("CONV_2D", when=_int8, inplace=_conv_inplace)
def conv_2d(ctx: OpContext) -> Lowered:
    return _lower_conv(ctx, _check_filter(ctx), inplace_ok=bool(_conv_inplace(ctx)))


def _inplace_rows(ic: int, rows: int) -> int:
    """Pixels an in-place pointwise convolution copies aside at a time: up to 16 within 1 KiB of scratch (each
    product call has a fixed cost that two pixels do not repay), even, at least two."""
    return max(2, min(16, 1024 // ic, rows + rows % 2) // 2 * 2)


def _lower_conv(ctx: OpContext, w: np.ndarray, inplace_ok: bool) -> Lowered:
    """tg_conv_s8 for OHWI weights `w` (also used for depthwise convolutions of one input channel,
    which are exactly convolutions with the filter transposed)."""
    o = ctx.options
    n, ih, iw, ic = ctx.arg(0).shape
    oc, kh, kw, fic = w.shape
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, kh, o.strideH, o.dilationHFactor, same)
    ow2 = _out_size(iw, kw, o.strideW, o.dilationWFactor, same)
    in_zp = _qparams(ctx, 0)[1][0]
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    mults, shifts = _multipliers(ctx, oc)
    bias = _bias(ctx, oc)
    folded_v = _folded(bias, w, -in_zp)
    grouped = fic != ic
    kp = (0 if grouped else _k_pad(ctx, kh * kw * ic)) or kh * kw * fic
    mult, shift = _per_channel(ctx, oc) if grouped else ("NULL", "NULL")
    wide = 1 if widened(ctx) and not grouped else 2 if not grouped and kp % 8 == 0 and kp >= 32 else 0
    if wide == 1 and kp % 8 == 0 and oc % 2 == 0:
        wide = 3   # by channel pairs, two rows at a time (tg_mm_wp_s8)
    mh8 = mh_rows(mults, shifts, folded_v, out_zp[0], act, 8) if _pointwise(ctx) and not grouped and kp == 8 else None
    if mh8 is not None and oc % 2 == 0 and act == (-128, 127) and fold_offset(shifts, out_zp[0]) == out_zp[0]:
        wide = 4   # eight input channels: per output one 32-byte stream (tg_pw8_s8), whatever the budget
    if _rgb3x3(ctx, w, wide, mh_rows(mults, shifts, folded_v, out_zp[0], act, kp), act, shifts, out_zp[0]):
        wide = 5   # 3x3 over RGB: tg_mm_wp_s8's weights in RGB3X3_ORDER, gathered in words (tg_conv_wp_s8)
    params = ctx.struct("tg_conv_params", {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "k_h": kh, "k_w": kw, "filter_in_c": fic, "stride_h": o.strideH, "stride_w": o.strideW,
        "dil_h": o.dilationHFactor, "dil_w": o.dilationWFactor,
        "pad_h": compute_padding(ih, kh, o.strideH, o.dilationHFactor, oh2, same),
        "pad_w": compute_padding(iw, kw, o.strideW, o.dilationWFactor, ow2, same),
        "in_offset": -in_zp, "out_offset": out_zp[0], "act_min": act[0], "act_max": act[1],
        "mult": mult, "shift": shift,
        "bias": ctx.const_array(np.array([wrap_i32(int(b)) for b in bias], np.int32), "int32_t", "bias")
        if grouped else "NULL",
        "bias_folded": ctx.const_array(folded_v, "int32_t", "biasf") if grouped else "NULL",
        "rq": _rq(ctx, mults, shifts, folded_v, out_zp[0], act, kp if wide else 0, per_channel_mh=wide == 5),
        "in_zero_point": in_zp,
        "wide": wide,
        "k_pad": 0 if grouped else _k_pad(ctx, kh * kw * ic),
        "inplace_rows": (inplace := _inplace_rows(ic, n * oh * ow) if inplace_ok and not grouped else 0),
    }, "conv")
    if grouped:
        scratch = "NULL"
    elif kh == kw == 1 and o.strideH == o.strideW == 1 and (oh, ow) == (ih, iw):
        scratch = f"(int8_t *){ctx.scratch(max(2, inplace) * ic)}" if inplace_ok else "NULL"
    else:
        scratch = f"(int8_t *){ctx.scratch(2 * kp)}"
    rows = np.pad(w.reshape(oc, -1), ((0, 0), (0, kp - w[0].size))) if not grouped else w.reshape(oc, -1)
    if wide == 4 and mh8 is not None:
        weights = f"(const int8_t *){ctx.const_array(pw8_streams(rows, folded_v, mh8), 'int32_t', 'w')}"
    elif wide == 5:
        ordered = np.pad(w.reshape(oc, -1)[:, RGB3X3_ORDER], ((0, 0), (0, 1)))  # k 28: seven words
        weights = f"(const int8_t *){ctx.const_array(widen_pairs(ordered), 'int32_t', 'w')}"
    elif wide == 3:
        weights = f"(const int8_t *){ctx.const_array(widen_pairs(rows), 'int32_t', 'w')}"
    elif wide == 1:
        weights = f"(const int8_t *){ctx.const_array(widen_quads(rows), 'int32_t', 'w')}"
    elif wide == 2:
        weights = ctx.const_array(interleave_quads(rows), "int8_t", "w")
    elif grouped:
        weights = ctx.const_array(w.reshape(-1), "int8_t", "w")
    else:
        weights = ctx.const_array(interleave_pairs(rows), "int8_t", "w")
    return Lowered(f"tg_conv_s8(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)}, {scratch});",
                   ("tg_aot_conv.c", "tg_aot_dot.c", "tg_aot_matmul.c", "tg_aot_wide.c"))


def dw_cache_rows(ctx: OpContext) -> int:
    """Input rows tg_dwconv_s8 must cache to run in place, or 0 when in place is not safe:
    every input row has to be copied out before an output row overwrites it."""
    o = ctx.options
    n, ih, iw, ic = ctx.arg(0).shape
    _, oh, ow, oc = ctx.output(0).shape
    kh = ctx.arg(1).shape[1]
    if n != 1:
        return 0
    pad = compute_padding(ih, kh, o.strideH, o.dilationHFactor, _out_size(ih, kh, o.strideH, o.dilationHFactor,
                                                                        o.padding == 0), o.padding == 0)
    in_row, out_row = iw * ic, ow * oc
    next_row = 0
    for oy in range(oh):
        last = oy * o.strideH - pad + (kh - 1) * o.dilationHFactor
        while next_row <= last and next_row < ih:
            if next_row * in_row < oy * out_row:
                return 0
            next_row += 1
    return (kh - 1) * int(o.dilationHFactor) + 1


def _dw_inplace(ctx: OpContext) -> tuple[tuple[int, int], ...]:
    return ((0, 0),) if dw_cache_rows(ctx) else ()


@register("DEPTHWISE_CONV_2D", when=_int8, inplace=_dw_inplace)
def depthwise_conv_2d(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _check_filter(ctx)
    n, ih, iw, ic = ctx.arg(0).shape
    _, kh, kw, oc = w.shape
    if ic == 1 and not _dw_inplace(ctx):
        # one input channel: a convolution with the filter as [oc, kh, kw, 1] (same sums, same
        # per-channel requantization), which the matrix-product kernel does much faster
        return _lower_conv(ctx, np.ascontiguousarray(w.reshape(kh, kw, oc).transpose(2, 0, 1)[..., None]), False)
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, kh, o.strideH, o.dilationHFactor, same)
    ow2 = _out_size(iw, kw, o.strideW, o.dilationWFactor, same)
    in_zp = _qparams(ctx, 0)[1][0]
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    mults, shifts = _multipliers(ctx, oc)
    bias = _bias(ctx, oc)
    # weights as [oc, taps] for the folded bias; the kernel reads them in the model's [taps, oc]
    folded = _folded(bias, np.ascontiguousarray(w.reshape(kh * kw, oc).T), -in_zp)
    pads = (compute_padding(ih, kh, o.strideH, o.dilationHFactor, oh2, same),
            compute_padding(iw, kw, o.strideW, o.dilationWFactor, ow2, same))
    rows = _dw_rows(ctx, w, pads, folded, mults, shifts, out_zp[0], act)
    if rows is not None:
        return rows
    fo = fold_offset(shifts, out_zp[0])
    # the widened path's SMMULR constants (three words a channel instead of a 32-byte tg_rq_ch row) when every shift
    # is a right one and |2 * acc| < 2^31
    smm = (oc == ic and oc % 4 == 0 and bool(all_fast(shifts))
           and int(np.abs(folded.astype(np.int64)).max(initial=0)) + kh * kw * 128 * 128 < 1 << 30)
    mh = ctx.const_array(np.array([[m, -s, (1 << (-s - 1)) + (fo << -s)] for m, s in zip(mults, shifts)],
                                  np.int64).reshape(-1).astype(np.int32), "int32_t", "mh") if smm else "NULL"
    fields: dict[str, object] = {
        "batches": n, "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
        "depth_mult": oc // ic, "k_h": kh, "k_w": kw, "stride_h": o.strideH, "stride_w": o.strideW,
        "dil_h": o.dilationHFactor, "dil_w": o.dilationWFactor,
        "pad_h": pads[0], "pad_w": pads[1],
        "out_offset": out_zp[0] - fo, "act_min": act[0], "act_max": act[1],
        "rq": "NULL" if smm else rq_table(ctx, mults, shifts, fo) if len(set(zip(mults, shifts))) > 1
        else ctx.struct_array("tg_rq_ch", [_rq_row(mults[0], shifts[0], fo)] * oc, "rq", row_bytes=32),
        "bias": ctx.const_array(folded, "int32_t", "biasf"),
        "rq_fast": all_fast(shifts),
        "in_zero_point": in_zp,
        "cache_rows": (cache := dw_cache_rows(ctx)),
        "wide": int(wide := oc == ic and oc % 4 == 0),
        "mh": mh,
    }
    params = ctx.struct("tg_dwconv_params", fields, "dwconv")
    # tap offsets, a zero-point row, the in-place row cache (+ padding to a word, the wide path's
    # row tap offsets)
    extra = (-(ic + cache * iw * ic)) % 4 + 4 * kh * kw if wide else 0
    scratch = ctx.scratch(4 * kh * kw + ic + cache * iw * ic + extra)
    grouped = oc == ic or (oc // ic) % 4 == 0  # the layouts tg_dwconv_s8 reads four channels at a time
    if wide:
        weights = f"(const int8_t *){ctx.const_array(widen_dw(w.reshape(kh * kw, oc)), 'int32_t', 'w')}"
    elif grouped:
        weights = ctx.const_array(group_channels(w.reshape(kh * kw, oc)), "int8_t", "w")
    else:
        weights = ctx.inp(1)
    return Lowered(
        f"tg_dwconv_s8(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)}, (int32_t *){scratch});",
        ("tg_aot_dwconv.c",))


@register("FULLY_CONNECTED", when=_int8)
def fully_connected(ctx: OpContext) -> Lowered:
    o = ctx.options
    w = _check_filter(ctx)
    out_depth, in_depth = w.shape[0], w.shape[-1]
    out_t = ctx.output(0)
    batches = out_t.num_elements // out_depth
    in_s, in_zp = _qparams(ctx, 0)
    f_s = _qparams(ctx, 1)[0]
    out_s, out_zp = _qparams(ctx, -1)
    if len(f_s) > 1:
        mults, shifts = _multipliers(ctx, out_depth)
    else:
        m, sh = fc_multiplier(in_s[0], f_s[0], out_s[0])
        mults, shifts = [m] * out_depth, [sh] * out_depth
    act = activation_range(o.fusedActivationFunction if o else 0, out_s[0], out_zp[0])
    bias = _bias(ctx, out_depth)
    folded = _folded(bias, w.reshape(out_depth, -1), -in_zp[0])
    wide = 1 if widened(ctx) else 2 if in_depth % 8 == 0 and in_depth >= 32 else 0
    params = ctx.struct("tg_fc_params", {
        "batches": batches, "in_depth": in_depth, "out_depth": out_depth,
        "rq": _rq(ctx, mults, shifts, folded, out_zp[0], act, in_depth if wide else 0),
        "wide": wide,
    }, "fc")
    if wide == 2:
        weights = ctx.const_array(interleave_quads(w.reshape(out_depth, -1)), "int8_t", "w")
    elif wide == 1:
        weights = f"(const int8_t *){ctx.const_array(widen_quads(w.reshape(out_depth, -1)), 'int32_t', 'w')}"
    else:
        order = interleave_quads if batches == 1 else interleave_pairs
        weights = ctx.const_array(order(w.reshape(out_depth, -1)), "int8_t", "w")
    return Lowered(f"tg_fc_s8(&{params}, {ctx.inp(0)}, {weights}, {ctx.out(0)});",
                   # tg_aot_wide.c's convolution drivers call tg_aot_conv.c's im2col
                   ("tg_aot_fc.c", "tg_aot_conv.c", "tg_aot_dot.c", "tg_aot_matmul.c", "tg_aot_wide.c"))


def _pool(ctx: OpContext, kernel: str) -> Lowered:
    o = ctx.options
    n, ih, iw, c = ctx.arg(0).shape
    _, oh, ow, _ = ctx.output(0).shape
    same = o.padding == 0
    oh2 = _out_size(ih, o.filterHeight, o.strideH, 1, same)
    ow2 = _out_size(iw, o.filterWidth, o.strideW, 1, same)
    out_s, out_zp = _qparams(ctx, -1)
    act = activation_range(o.fusedActivationFunction, out_s[0], out_zp[0])
    params = ctx.struct("tg_pool_params", {
        "batches": n, "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
        "k_h": o.filterHeight, "k_w": o.filterWidth, "stride_h": o.strideH, "stride_w": o.strideW,
        "pad_h": compute_padding(ih, o.filterHeight, o.strideH, 1, oh2, same),
        "pad_w": compute_padding(iw, o.filterWidth, o.strideW, 1, ow2, same),
        "act_min": act[0], "act_max": act[1],
    }, "pool")
    return Lowered(f"{kernel}(&{params}, {ctx.inp(0)}, {ctx.out(0)});", ("tg_aot_pool.c",))


@register("AVERAGE_POOL_2D", when=_int8)
def average_pool_2d(ctx: OpContext) -> Lowered:
    return _pool(ctx, "tg_avgpool_s8")


@register("MAX_POOL_2D", when=_int8)
def max_pool_2d(ctx: OpContext) -> Lowered:
    return _pool(ctx, "tg_maxpool_s8")
