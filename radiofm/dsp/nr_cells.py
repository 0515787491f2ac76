"""An NR cell's carrier from its PDSCH demodulation reference signals (DMRS), once its SSB gave the PCI.

A spectrogram model sees a partly loaded NR carrier in pieces: the SS/PBCH block, the CORESET, the RB groups
the scheduler used. Unlike LTE's CRS, NR sends no reference signal over the whole band, so an idle part of the
carrier cannot be seen; but every scheduled PDSCH RB carries DMRS whose value tells its place in the carrier:
with the default configuration (38.211 §7.4.1.1, port 1000, n_SCID = 0, N_ID = the PCI) the DMRS of symbol ``l``
of slot ``n_s`` is numbered from subcarrier 0 of common resource block 0 (point A): with configuration type 1
value r(m) sits ``2 m`` subcarriers above it, with type 2 value r(2n + k') at ``6 n + k'``; r is the QPSK Gold
sequence with c_init = (2^17 (14 n_s + l + 1)(2 N_ID + 1) + 2 N_ID) mod 2^31. So the PCI (from the SSS) and the
received DMRS anywhere in the carrier give point A, to the subcarrier, and every RB that carries the cell's
PDSCH.

:func:`nr_dmrs_search` correlates a symbol grid (on the cell's numerology and subcarrier raster) with that sequence
for every position of point A below the SSB (up to 275 RB), both configuration types, every slot numbering (the SSB
does not give the frame's half: 20 half-millisecond offsets) and every place of the PSS in its half millisecond (the
grid is timed on the PSS, :func:`pss_timing`) and every set of DMRS symbols a slot may carry (:data:`DMRS_SETS`: the
dmrs-TypeA-Position 2 or 3 and the additional positions of 38.211 Table 7.4.1.1.2-3). The set is a hypothesis, not
their union: a symbol that carries data where the search expects DMRS adds only noise, and a cell with few scheduled
slots and RBs lost two thirds of its statistic to the data of the symbols beside its DMRS (a 25 dB cell of the
MATLAB regime scored 21 on l = 2, 3 and 11 together). The statistic is the product of neighbouring DMRS channel
estimates, z(m + 1) z*(m) with z = Y r* (its phase is the channel's phase step over 60 kHz, the same in every
symbol, so it sums coherently over the whole span whatever the channel's phase), computed for all positions at once
with FFTs, as |sum|^2 over its mean over all hypotheses. On noise that is Exp(1) and the largest of the ~5e5
hypotheses about 13; next to a strong or sparse carrier the tail is heavier: ``benchmarks/nr_cell_bands.py`` (32 NR
carriers of both generators, 8 wrong PCIs of the same N_ID2 each) gave wrong-PCI maxima up to 44 (mean 22.6; the
highest on an idle carrier), while the cells found score 80..18000. Where neighbouring values find nothing, values
two apart are paired instead (:data:`LAGS`: two layers on ports 1000 and 1001 cancel the first at equal power). A
cell needs :data:`DMRS_THRESHOLD` (60) and at least one block of RBs whose DMRS pass the presence test. Where the
sums as received find nothing they are repeated whitened (each bin over its RMS), which finds cells next to a much
stronger carrier (:func:`nr_dmrs_search`).

Then :func:`nr_dmrs_search` marks the RBs whose DMRS are present (coherent sum over blocks of
:data:`RB_BLOCK` RBs, the CRS band test of :mod:`radiofm.dsp.lte_cells` with the same threshold). Point A is
taken as the carrier's lowest subcarrier (``offsetToCarrier`` = 0, as in both of radiofm's generators and
common in deployments); a carrier configured above point A would show a band that starts lower than its own.
The carrier's upper edge is not sent anywhere but in system information: :func:`nr_carrier_band` takes the
narrowest 38.101-1 bandwidth that holds every RB seen (DMRS, SSB), a lower bound of the true one.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from radiofm.dsp import ofdm_rx
from radiofm.dsp.bandwidth import NR_N_RB
from radiofm.dsp.nr_cellsearch import SSB_PSS_FIRST
from radiofm.dsp.nr_coreset import coreset_contrast, rb_windows, walk_up
from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.dsp.sequences import nr_dmrs, nr_pss
from radiofm.errors import RadioFMError, RecordingError

N_RB_MAX = 275  # largest NR carrier (38.211 §4.4.2)
# PDSCH DMRS of port 1000 (38.211 §7.4.1.1.2) from point A, type -> (period, offsets): value i on subcarrier
# period * (i // len(offsets)) + offsets[i % len(offsets)]; type 1: k = 4n + 2k' (every 2nd), type 2: 6n + k'
DMRS_PATTERNS = {1: (2, (0,)), 2: (6, (0, 1))}
# the PDSCH DMRS symbols of a slot, 38.211 Table 7.4.1.1.2-3 (mapping type A, PDSCH to symbol 13): the
# dmrs-TypeA-Position l0 (2 or 3) and dmrs-AdditionalPosition 0-3 (pos3 only with l0 = 2); one hypothesis each
DMRS_SETS = ((2,), (3,), (2, 11), (3, 11), (2, 7, 11), (3, 7, 11), (2, 5, 8, 11))
DMRS_SYMBOLS = tuple(sorted({sym for s in DMRS_SETS for sym in s}))  # every symbol some set holds
# the DMRS values paired in the statistic: neighbours (lag 1), then, when that finds nothing, every second value
# (lag 2). Two layers on ports 1000 and 1001 (rank 2, CDM group 0) send the same pilots with w_f = +1, -1 on
# neighbouring values, so at one receive antenna the lag-1 products sum to |h0|^2 - |h1|^2: nothing when the two
# layers arrive at equal power (a cross-polarised gNB; session 62's review). Values two apart share w_f, and
# their products sum to 2 (|h0|^2 + |h1|^2).
LAGS = (1, 2)
# the search's sums: as received, then (when that finds nothing) with every bin divided by its RMS (whitened)
WEIGHTINGS = ("raw", "whitened")
DMRS_THRESHOLD = 60.0  # |sum|^2 of the best hypothesis over the mean of all (wrong PCI: <= 44, docstring)
# a hypothesis the sums as received found, at the whitened sums: its statistic there, one hypothesis named in
# advance (Exp(1) on noise: P(>= 8) = 3e-4), not the largest of many
CONFIRM_THRESHOLD = 8.0
RB_BLOCK = 4  # RBs tested together for presence
RB_THRESHOLD = 16.0  # coherent presence test of a block (the CRS band test's Z^2 threshold)
RB_SINGLE_THRESHOLD = 6.0  # each RB of a present block, on its own: P(noise) = e^-6 ~ 0.25 %
# and its DMRS power, against the median present RB's: a receiver's noise keeps every RB above a hundredth of that,
# but a band filtered digitally empty does not, and there the filter's residue of the cell's own DMRS passed the
# coherence test (a 53-RB cell read 270 RB wide at 122.88 MS/s, resampled with no noise added; session 60)
RB_MIN_POWER = 0.01
HALF_MS_S = 0.5e-3
DC_GUARD_BINS = 1  # subcarriers either side of the recording's 0 Hz left out of the DMRS search
SSB_SUBCARRIERS = 240
# the PSS's symbol in its half millisecond: case A {2, 8} (15 kHz), B {4, 8, 16, 20}, C {2, 8} (30 kHz), 38.213 §4.1
PSS_SYMBOL_IN_HALF_MS = {15e3: (2, 1), 30e3: (2, 4, 6, 8)}


def _half_ms_index(grid: SymbolGrid) -> np.ndarray:
    """Index of the half millisecond each symbol starts in, counted from the first long-CP symbol's."""
    half = HALF_MS_S * grid.sample_rate_hz
    first = grid.start_sample[grid.symbol_in_half_ms == 0]
    ref = float(first[0]) if first.size else float(grid.start_sample[0])
    return np.floor((grid.start_sample - ref) / half + 0.05).astype(np.int64)


def whitened(y: np.ndarray) -> np.ndarray:
    """``y`` (S, K) with every bin divided by its RMS over the symbols (floored at a tenth of the median bin power),
    so that every bin weighs alike in the search's sums, as noise would; the floor keeps empty (filtered) bins
    from being raised above the noise."""
    power = np.mean(np.abs(y) ** 2, axis=0)
    floor = 0.1 * float(np.median(power)) or 1.0
    return (y * (1.0 / np.sqrt(np.maximum(power, floor))).astype(np.float32)).astype(np.complex64, copy=False)


def _diff(v: np.ndarray, lag: int = 1) -> np.ndarray:
    """Products of DMRS values ``lag`` apart along the last axis: v[m + lag] v*[m]."""
    return v[..., lag:] * np.conj(v[..., :-lag])


def _relabel(h: np.ndarray, sym: np.ndarray, shift: int, per_half: int) -> tuple[np.ndarray, np.ndarray]:
    """(half-ms, symbol in half-ms) of every symbol when the grid's labels are ``shift`` symbols off."""
    u = h * per_half + sym + shift
    return u // per_half, u % per_half


def _dmrs_slot_symbols(scs_hz: float) -> list[tuple[int, int, int, int]]:
    """(half-ms q of the frame, symbol in that half-ms, slot, symbol in the slot) of every DMRS_SYMBOLS symbol."""
    out = []
    for q in range(20):
        slot, first = (q, 0) if scs_hz == 30e3 else (q // 2, 7 * (q % 2))  # 30 kHz: a slot per half-ms
        out += [(q, l - first, slot, l) for l in DMRS_SYMBOLS if first <= l < first + (14 if scs_hz == 30e3 else 7)]
    return out


def _positions(start: int | np.ndarray, config: int, n_values: int) -> np.ndarray:
    """Subcarrier (from ``start``) of DMRS value i = 0..n_values-1 of configuration type ``config``."""
    period, offsets = DMRS_PATTERNS[config]
    i = np.arange(n_values)
    return start + period * (i // len(offsets)) + np.asarray(offsets)[i % len(offsets)]


def nr_dmrs_search(
    grid: SymbolGrid, *, pci: int, ssb_first_bin: int, max_rb: int = N_RB_MAX, symbol_shifts: tuple[int, ...] = (0,)
) -> dict | None:
    """Point A and the DMRS-carrying RBs of NR cell ``pci`` in ``grid`` (module docstring), or None when no
    hypothesis reaches :data:`DMRS_THRESHOLD` or no RB passes the presence test.

    ``grid``: symbols of the cell's numerology on its subcarrier raster (bin j = a subcarrier), each window on a
    symbol of the cell; its ``symbol_in_half_ms`` labels are right up to one of ``symbol_shifts`` (tried, like
    the frame's 20 half-ms offsets and both DMRS configuration types); ``ssb_first_bin``: bin of the SSB's
    subcarrier 0 (point A lies at or below it, and the SSB inside the carrier). Returns ``start_bin`` (point A,
    maybe < 0: below the grid), ``z`` (the statistic), ``config`` (DMRS type), ``slot_offset`` (the frame's
    half-ms at the span's first), ``symbol_shift``, ``symbols`` (the slot's DMRS symbols, one of
    :data:`DMRS_SETS`), ``slot_symbol`` (int (S,): each grid symbol's index in its slot, 0-13), ``rb_present``
    (bool per RB from point A, up to ``max_rb``; RBs outside the grid are False), ``rb_z`` (per block), ``top_rb``
    (highest RB present), ``weighting`` (of :data:`WEIGHTINGS`), ``lag`` (of :data:`LAGS`: the pairing that
    found it; lag 2 only where lag 1 found nothing).

    The sums run over up to ``max_rb`` RB above each point A, so a carrier much stronger than the cell beside it
    adds its data's products to every hypothesis and can bury the cell's DMRS (an 11.8 dB 5 MHz cell next to a
    29.8 dB one scored 18, against 870 alone). When the sums as received find nothing, they are repeated with
    every bin divided by its RMS over the symbols (:func:`whitened`): each bin then weighs as much as noise would,
    whatever sits in it. Not always first: whitening also raises the noise bins to a strong cell's weight, which
    costs a strong, sparsely scheduled cell its margin (one at 28 dB fell from 50 to 12).

    A hypothesis the raw sums found must also stand out in the whitened sums, at that one hypothesis
    (:data:`CONFIRM_THRESHOLD`): structure that repeats every frame in a strong neighbour (an idle LTE cell's CRS
    and control region) gives the raw statistic heavy tails, and one hypothesis of one DMRS set reached 69 on
    an idle NR cell that sends no DMRS at all, where the whitened statistic was 16 at its best. The cells found
    scored 25 or more whitened at the hypothesis the raw sums found (docs/RESULTS.md, session 59).

    All hypotheses at once: the symbols' differentials are summed per (half-ms mod 20, symbol label), so a frame
    offset is a circular lag along the 20 half-ms (one FFT along them) and point A a lag along frequency."""
    h0, t = _half_ms_index(grid), grid.symbol_in_half_ms
    per_half = 7 if grid.scs_hz == 15e3 else 14
    white: list[np.ndarray] = []  # the whitened symbols, computed once
    for lag in LAGS:  # lag 2 only when lag 1 found nothing
        best = _search(grid, h0, white, pci=pci, ssb_first_bin=ssb_first_bin, max_rb=max_rb,
                       symbol_shifts=symbol_shifts, lag=lag)  # fmt: skip
        if best is not None and best["z"] >= DMRS_THRESHOLD:
            break
    if best is None or best["z"] < DMRS_THRESHOLD:
        return None
    h, sym = _relabel(h0, t, best["symbol_shift"], per_half)
    found = best | _rb_presence(grid, pci, best, h, sym, max_rb)
    q = (h + best["slot_offset"]) % 20  # the frame's half-ms of every symbol; at 15 kHz a slot spans two
    found["slot_symbol"] = sym % per_half + (7 * (q % 2) if per_half == 7 else 0)
    return found if found["top_rb"] >= 0 else None


def _search(grid: SymbolGrid, h0: np.ndarray, white: list, *, lag: int, **kw) -> dict | None:
    """The best hypothesis at DMRS ``lag`` (:func:`nr_dmrs_search`): the sums as received, confirmed whitened,
    else the whitened sums; ``white`` caches the whitened symbols (empty: not computed yet)."""
    best = None
    for weighting in WEIGHTINGS:  # whitened only when the raw sums found nothing
        if weighting == "whitened" and not white:
            white.append(whitened(grid.y))
        y = grid.y if weighting == "raw" else white[0]
        found = _best_hypothesis(grid, y, h0, lag=lag, **kw)
        if found is not None and weighting == "raw" and found["z"] >= DMRS_THRESHOLD:
            if not white:
                white.append(whitened(grid.y))  # computed once: the whitened search below reuses it
            check = _best_hypothesis(grid, white[0], h0, lag=lag, only=found, **kw)
            if check is None or check["z"] < CONFIRM_THRESHOLD:
                found = None  # not confirmed: the whitened search decides
        if found is not None and (best is None or found["z"] > best["z"]):
            best = found | {"weighting": weighting, "lag": lag}
        if best is not None and best["z"] >= DMRS_THRESHOLD:
            break
    return best


def _best_hypothesis(
    grid: SymbolGrid, y: np.ndarray, h0: np.ndarray, *, pci: int, ssb_first_bin: int, max_rb: int,
    symbol_shifts: tuple[int, ...], only: dict | None = None, lag: int = 1,
) -> dict | None:  # fmt: skip
    """The best (point A, configuration type, frame offset, symbol shift, DMRS symbols) hypothesis for the
    symbols ``y`` (the grid's, maybe weighted) and its statistic, or None when no hypothesis fits the grid.
    ``only``: a hypothesis (such a dict); then its statistic alone, {"z": ...}."""
    scs = grid.scs_hz
    k = grid.y.shape[1]
    per_half = 7 if scs == 15e3 else 14
    u, t = h0 % 20, grid.symbol_in_half_ms
    dmrs = _dmrs_slot_symbols(scs)
    lambdas = sorted({lam for _, lam, _, _ in dmrs})
    label = {sym: lam for _, lam, _, sym in dmrs}  # a DMRS symbol's label in its half-ms (one label per symbol)
    g = u * per_half + t
    order = np.argsort(g, kind="stable")
    groups, first = np.unique(g[order], return_index=True)
    y = y[order]
    best = None
    for config, (period, offsets) in DMRS_PATTERNS.items():  # type 2 only when type 1 found nothing
        if (best is not None and best["z"] >= DMRS_THRESHOLD) or (only is not None and config != only["config"]):
            continue
        n_off = len(offsets)
        n_values = n_off * (12 // period) * max_rb
        r = nr_dmrs(pci, [d[2] for d in dmrs], [d[3] for d in dmrs], n_values)
        j_max = n_off * (-(-k // period))
        f = int(2 ** np.ceil(np.log2(j_max + n_values)))
        ref = np.zeros((len(lambdas), 20, f), np.complex64)  # conj FFT of each (true label, half-ms) reference
        ref_f = np.conj(scipy.fft.fft(_diff(r, lag), f, axis=1, workers=1))
        for i, (q, lam, _, _) in enumerate(dmrs):
            ref[lambdas.index(lam), q] = ref_f[i]
        ref_u = scipy.fft.fft(ref, axis=1, workers=1)  # along the 20 half-ms
        ramp = {c: np.exp(2j * np.pi * c * np.arange(20) / 20).astype(np.complex64)[:, None] for c in (-1, 0, 1)}
        for phase in range(period) if only is None else [only["start_bin"] % period]:
            cols = _positions(phase, config, j_max)
            cols = cols[cols < k]
            dx = _diff(y[:, cols], lag)  # (S, J - lag), symbols grouped by (half-ms mod 20, label)
            sums = np.zeros((20 * per_half, dx.shape[1]), np.complex64)
            sums[groups] = np.add.reduceat(dx, first, axis=0)
            sums = sums.reshape(20, per_half, -1)
            q = np.arange(-(n_values - 1), dx.shape[1] + 1)
            s = -q  # hypothesis: value j of this phase is DMRS value j + s
            b = phase - period * np.floor_divide(s, n_off)  # point A's bin
            ok = (s % n_off == 0) & (b <= ssb_first_bin) & (b + 12 * max_rb >= ssb_first_bin + SSB_SUBCARRIERS)
            if not ok.any():
                continue
            labs = sorted({lam - shift + carry * per_half for lam in lambdas for shift in symbol_shifts
                           for carry in (-1, 0, 1)} & set(range(per_half)))  # fmt: skip
            spec = scipy.fft.fft(sums[:, labs], f, axis=2, workers=1)  # (20, labels, f)
            # sum_u a[u] b[(u + L) % 20] = IDFT(DFT(a reversed) DFT(b))[L]: a reversed along the 20 half-ms
            spec = scipy.fft.fft(np.roll(spec[::-1], 1, axis=0), axis=0, workers=1)
            for shift in symbol_shifts if only is None else [only["symbol_shift"]]:
                acc = np.zeros((len(lambdas), 20, f), np.complex64)
                for li, lam in enumerate(lambdas):
                    for carry in (-1, 0, 1):  # grid label lam - shift + carry * per_half, in half-ms u + carry
                        lab = lam - shift + carry * per_half
                        if 0 <= lab < per_half:  # offset o is lag o + carry: a phase ramp along the 20
                            acc[li] += spec[:, labs.index(lab)] * ref_u[li] * ramp[carry]
                # per label, [o, q] = sum over its symbols and m of dx[m + q] conj(dref[m])
                per_label = scipy.fft.ifft2(acc, workers=1)[:, :, q[ok] % f]
                for symbols in DMRS_SETS if only is None else [only["symbols"]]:  # a set's: its labels' sums
                    corr = per_label[[lambdas.index(label[sym]) for sym in symbols]].sum(axis=0)
                    values = corr.real**2 + corr.imag**2
                    scale = float(values.mean()) or 1.0
                    if only is not None:
                        at = np.flatnonzero(b[ok] == only["start_bin"])
                        return {"z": float(values[only["slot_offset"], at[0]] / scale)} if at.size else None
                    o, i = np.unravel_index(int(np.argmax(values)), values.shape)
                    stat = float(values[o, i] / scale)
                    if best is None or stat > best["z"]:
                        best = {"z": stat, "start_bin": int(b[ok][i]), "config": config, "slot_offset": int(o),
                                "symbol_shift": shift, "symbols": symbols}  # fmt: skip
    return best


def _rb_presence(grid: SymbolGrid, pci: int, best: dict, h: np.ndarray, sym: np.ndarray, max_rb: int) -> dict:
    """Per-RB coherent DMRS sums under the hypothesis found: presence per block of :data:`RB_BLOCK` RBs
    (|sum|^2 / sum |.|^2 >= :data:`RB_THRESHOLD`), then of each RB in a present block (>= RB_SINGLE_THRESHOLD)."""
    k = grid.y.shape[1]
    period, offsets = DMRS_PATTERNS[best["config"]]
    per_rb = len(offsets) * (12 // period)
    per_half = 7 if grid.scs_hz == 15e3 else 14
    q = (h + best["slot_offset"]) % 20
    table = {(qq, lam): (slot, l) for qq, lam, slot, l in _dmrs_slot_symbols(grid.scs_hz) if l in best["symbols"]}
    rows = np.flatnonzero([(int(a), int(b)) in table for a, b in zip(q, sym % per_half, strict=True)])
    slot_l = np.array([table[(int(q[i]), int(sym[i]))] for i in rows]).reshape(-1, 2)
    bins = _positions(best["start_bin"], best["config"], per_rb * max_rb)
    inside = (bins >= 0) & (bins < k)
    ref = nr_dmrs(pci, slot_l[:, 0], slot_l[:, 1], per_rb * max_rb)  # (R, n_values)
    z = grid.y[rows][:, np.clip(bins, 0, k - 1)] * np.conj(ref)
    z[:, ~inside] = 0
    lag = int(best.get("lag", 1))
    p = _diff(z, lag)  # (R, n_values - lag): pair (m, m + lag)
    p = np.concatenate([p, np.zeros((p.shape[0], lag), p.dtype)], axis=1).reshape(len(rows), max_rb, per_rb)
    p[:, :, -lag:] = 0  # a pair across an RB boundary belongs to neither RB
    s, e = p.sum(axis=(0, 2)), (np.abs(p) ** 2).sum(axis=(0, 2))  # per RB: coherent sum, energy
    pad = -max_rb % RB_BLOCK  # blocks of RB_BLOCK RBs: their sums and energies added
    sb, eb = (np.r_[v, np.zeros(pad, v.dtype)].reshape(-1, RB_BLOCK).sum(axis=1) for v in (s, e))

    def coherent(s_: np.ndarray, e_: np.ndarray) -> np.ndarray:  # |sum|^2 / sum |.|^2 (0 where nothing)
        return np.where(e_ > 0, np.abs(s_) ** 2 / np.maximum(e_, 1e-30), 0.0)

    zb, z_rb = coherent(sb, eb), coherent(s, e)
    rb_inside = inside.reshape(max_rb, per_rb).all(axis=1)
    rb_present = np.repeat(zb >= RB_THRESHOLD, RB_BLOCK)[:max_rb] & rb_inside
    rb_present &= z_rb >= RB_SINGLE_THRESHOLD  # each RB of a present block too (a carrier may end inside one)
    if rb_present.any():  # and holds power: see RB_MIN_POWER
        rb_present &= e >= RB_MIN_POWER * np.median(e[rb_present])
    top = int(np.flatnonzero(rb_present)[-1]) if rb_present.any() else -1
    return {"rb_present": rb_present, "rb_z": zb, "top_rb": top}


def _ssb_top_rb(ssb_first_bin: int, start_bin: int) -> int:
    """The RB (counted from point A at ``start_bin``) holding the SSB's last subcarrier."""
    return (ssb_first_bin + SSB_SUBCARRIERS - 1 - start_bin) // 12


def nr_carrier_band(found: dict, *, scs_hz: float, grid: SymbolGrid, ssb_first_bin: int) -> dict:
    """The carrier's band (Hz from the recording centre) from :func:`nr_dmrs_search`'s point A: lower edge at
    point A's subcarrier, upper edge of the narrowest 38.101-1 bandwidth holding every RB seen (DMRS, SSB and the
    control region's ``coreset_top_rb`` when given)."""
    start = found["start_bin"]
    top = max(found["top_rb"], _ssb_top_rb(ssb_first_bin, start), found.get("coreset_top_rb", -1))
    n_rbs = sorted(NR_N_RB[scs_hz].values())
    n_rb = next((n for n in n_rbs if n > top), n_rbs[-1])
    lower = grid.freq_of(start) - 0.5 * scs_hz
    return {"lower_hz": lower, "upper_hz": lower + 12 * n_rb * scs_hz, "n_rb": n_rb, "top_rb_seen": int(top)}


def pss_timing(x: np.ndarray, fs: float, *, ssb_center_hz: float, scs_hz: float, n_id2: int, spectrum=None) -> float:
    """CP start (recording samples) of an NR cell's strongest PSS symbol in the span ``x``, by correlating it with
    the PSS waveform (the 127 subcarriers 56..182 of the SSB whose subcarrier 120 is at ``ssb_center_hz``).
    The CP correlation of a weak or sparsely loaded carrier can lock on a neighbour's timing; its PSS cannot."""
    lo = ssb_center_hz + (SSB_PSS_FIRST - 120 - 0.5) * scs_hz
    hi = ssb_center_hz + (SSB_PSS_FIRST + 127 - 120 - 0.5) * scs_hz
    bb = ofdm_rx.extract_band(x, fs, centre_hz=ssb_center_hz, lower_hz=lo, upper_hz=hi, spectrum=spectrum)
    nfft, _, cps = ofdm_rx.half_ms_layout(scs_hz, bb.nf15)
    spectrum_pss = np.zeros(nfft, np.complex64)
    spectrum_pss[np.arange(SSB_PSS_FIRST - 120, SSB_PSS_FIRST + 7) % nfft] = nr_pss(n_id2)
    wave = scipy.fft.ifft(spectrum_pss)
    n = bb.x.size
    if n <= nfft:
        raise RecordingError(f"NR cell band: span of {n} samples is shorter than one OFDM symbol")
    f = scipy.fft.next_fast_len(n + nfft)
    corr = scipy.fft.ifft(scipy.fft.fft(bb.x, f, workers=1) * np.conj(scipy.fft.fft(wave, f, workers=1)), workers=1)
    t = int(np.argmax(np.abs(corr[: n - nfft])))  # corr[t] = sum_u x[t + u] conj(wave[u])
    return float(bb.to_recording_sample(t - int(cps[1])))


def nr_cell_band(
    x: np.ndarray,
    fs: float,
    *,
    pci: int,
    scs_hz: float,
    ssb_center_hz: float,
    lower_hz: float,
    upper_hz: float,
    ssb_grid_shift_hz: float = 0.0,
    spectrum: np.ndarray | None = None,
) -> dict | None:
    """The band of NR cell ``pci`` whose SSB (subcarrier 120) is at ``ssb_center_hz``, searched for its PDSCH
    DMRS in [lower_hz, upper_hz] (Hz from the recording centre) of the span ``x`` at rate ``fs``: the dict of
    :func:`nr_carrier_band` plus ``z``, ``rb_present``, ``start_hz`` and ``coreset_top_rb`` (the highest RB the
    cell's control region reaches above its DMRS and SSB, :mod:`radiofm.dsp.nr_coreset`; -1 for none); None
    when no DMRS of the cell is found or the span is unusable. The grid is put on the cell's own timing and
    subcarrier raster, from its PSS (:func:`pss_timing`); the PSS's place in the half millisecond (38.213 §4.1:
    symbol 1 or 2 at 15 kHz, 2, 4, 6 or 8 at 30 kHz) is one more hypothesis of the search. ``ssb_grid_shift_hz``:
    the SSB's offset above the carrier's subcarriers (15 kHz for an odd k_SSB at 30 kHz, the cell search's
    ``ssb_grid_shift_hz``); the DMRS are searched on the carrier's grid, the SSB's first subcarrier then half a bin
    above the bin taken for it (on the SSB's grid the DMRS lost two thirds of their statistic, and at -6 dB all)."""
    spectrum = ofdm_rx.span_spectrum(x) if spectrum is None else spectrum
    try:
        pss = pss_timing(x, fs, ssb_center_hz=ssb_center_hz, scs_hz=scs_hz, n_id2=pci % 3, spectrum=spectrum)
        wide = ofdm_rx.extract_band(x, fs, centre_hz=0.5 * (lower_hz + upper_hz), lower_hz=lower_hz,
                                    upper_hz=upper_hz, spectrum=spectrum)  # fmt: skip
        _, offsets, _ = ofdm_rx.half_ms_layout(scs_hz, wide.nf15)
        symbols = PSS_SYMBOL_IN_HALF_MS[scs_hz]
        period = int(round(7.5 * wide.nf15))
        tau0 = int(round(pss * wide.rate_hz / fs - offsets[symbols[0]])) % period
        carrier_hz = ssb_center_hz - ssb_grid_shift_hz  # a subcarrier of the carrier's grid
        f_off = (carrier_hz - wide.centre_hz + 0.5 * scs_hz) % scs_hz - 0.5 * scs_hz
        grid = ofdm_rx.symbol_grid(wide, scs_hz, tau0=tau0, freq_offset_hz=f_off)
    except RadioFMError:
        return None
    if grid.y.shape[0] < 14:
        return None
    ssb_first = grid.bin_of(carrier_hz) - SSB_SUBCARRIERS // 2
    shifts = tuple(d - symbols[0] for d in symbols)
    dc = grid.bin_of(0.0)  # the receiver's DC: a spike there is the same in every symbol and passed for DMRS
    grid.y[:, max(dc - DC_GUARD_BINS, 0) : max(dc + DC_GUARD_BINS + 1, 0)] = 0
    found = nr_dmrs_search(grid, pci=pci, ssb_first_bin=ssb_first, symbol_shifts=shifts)
    if found is None:
        return None
    found["coreset_top_rb"] = _coreset_top(grid, found, ssb_first)
    band = nr_carrier_band(found, scs_hz=scs_hz, grid=grid, ssb_first_bin=ssb_first)
    return band | {"z": found["z"], "rb_present": found["rb_present"], "start_hz": grid.freq_of(found["start_bin"]),
                   "coreset_top_rb": found["coreset_top_rb"], "lag": found.get("lag", 1)}  # fmt: skip


def _coreset_top(grid: SymbolGrid, found: dict, ssb_first: int) -> int:
    """The highest RB above point A that the cell's control region reaches beyond its DMRS RBs and SSB, or -1."""
    start = found["start_bin"]
    top = max(found["top_rb"], _ssb_top_rb(ssb_first, start))
    contrast = coreset_contrast(grid, (max(start, 0), start + 12 * (top + 1)), found.get("slot_symbol"))
    if contrast is None:
        return -1
    hi = walk_up(*rb_windows(contrast, start, N_RB_MAX), top)
    return hi if hi > top else -1
