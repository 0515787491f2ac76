"""LTE and NR cell search on one carrier: PSS detection over time and frequency, SSS -> physical cell ID.

Both searches run on the received resource grid of :mod:`radiofm.dsp.ofdm_rx` (CP-synchronised, one FFT per
symbol), so timing is known to the symbol and frequency to the subcarrier; what remains is *where* the PSS is:

- **LTE** (36.211 §6.11): the PSS (length-63 Zadoff-Chu, roots 25/29/34 for N_ID2 = 0/1/2, DC punctured) sits on
  the 62 subcarriers around the carrier's DC, in the last symbol of slots 0 and 10, i.e. every 5 ms (70 symbols).
  The search tries the three roots at DC positions within ``max_offset_hz`` of the expected centre and averages
  over the 5 ms periods (non-coherent gain: 8 periods in 40 ms) two metrics: the differential one (any timing)
  and a coherent one over +-8.3 us of residual timing (~6 dB more sensitive near 0 dB SNR; counted only with a
  confirmed SSS, see :func:`lte_search_grid`); :func:`lte_search_baseband` checks the grid's subcarrier offset
  on the PSS itself.
  The SSS (the symbol before the PSS for FDD, three symbols before for TDD; both tried) is detected coherently
  across subcarriers with the PSS as channel estimate, jointly over all periods and both subframe parities (its
  two halves swap between subframes 0 and 5) -> N_ID1, frame timing and duplex mode.
- **NR** (38.211 §7.4.2-7.4.3, 38.213 §4.1): the PSS (length-127 m-sequence) is symbol 0 of an SS/PBCH block
  that may sit anywhere in the carrier, SSS on symbol 2, same subcarriers. The search correlates every symbol
  at every subcarrier position (FFTs along frequency) for 15 and 30 kHz. Two statistics: the single best symbol,
  and the burst statistic — the metric averaged over the first four SSB positions of a burst (case A / C: symbols
  {2, 8, 16, 22}, case B: {4, 8, 16, 20}) and over 20 ms periods, which detects ~4-6 dB lower when all four are
  sent. SSS over all detected blocks -> N_ID1; the burst period from the blocks' times.

Normalisation (CFAR): each statistic is reported as ``z = (peak - mean) / std`` over all hypotheses of the same
search (positions x times x N_ID2), so it is comparable across SNR, span length and carrier width. Thresholds were
set from the null distribution measured on pure noise and on carriers of the other standard
(``benchmarks/carrier_evidence.py``; see the constants below). The SSS is confirmed when the best N_ID1 stands
out of all hypotheses by ``SSS_Z_THRESHOLD`` standard deviations. Occurrences are combined non-coherently
(sum of magnitudes): the phase between the PSS and SSS symbols depends on where the transmitter's phase reference
lies (the capture centre for our generator, the carrier centre for an LTE eNB, the RF carrier for NR, 38.211
§5.4) and on whether a long CP lies between them, so it is not known at the receiver.
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.dsp.lte_pss import (
    LAG_REACH,
    alias_candidates,
    coherent_metric,
    dc_candidates,
    lag_steering,
    lte_patterns,
)
from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.dsp.sequences import lte_pss, lte_sss

# Detection thresholds on the CFAR z of each statistic. Measured nulls (benchmarks/carrier_evidence.py, 150 trials:
# pure noise in bands of 1.1-58 MHz and fully loaded carriers of the other standard at -5..30 dB): largest z seen
# LTE PSS 5.5, NR single 7.6, NR burst 7.0, SSS 5.6; a Gumbel fit to those maxima puts the chance of reaching
# each threshold at <= ~1e-3 per search (per band-width class: <= 4e-4), and the SSS check comes on top.
LTE_PSS_Z_THRESHOLD = 7.0
NR_PSS_Z_THRESHOLD = 9.0  # single best symbol (Rayleigh-like tail)
NR_BURST_Z_THRESHOLD = 8.0  # burst-pattern average (an average of 4-8: a lighter tail)
SSS_Z_THRESHOLD = 6.0
OCCURRENCE_Z = 5.0  # a single symbol counts as a PSS occurrence above this z (periodicity, SSS combining)
# The coherent LTE PSS statistic (lte_search_grid), counted only with a confirmed SSS. Its nulls (same benchmark,
# session 20, 150 trials): noise median 6.1, max 8.6; fully loaded NR carriers at 15 kHz max 9.8 (2 of 70 above
# 9: a strong SSB correlates partly with an LTE PSS), none of them with an SSS above 5.3.
LTE_COHERENT_Z_THRESHOLD = 9.0
CP_RHO_CLEAR = 0.15  # CP correlation that marks a numerology as present (noise: ~1 / sqrt(CP samples) < 0.03)

LTE_PERIOD_SYMBOLS = 70  # 5 ms at 15 kHz


@functools.cache
def _lte_sss_table(n_id2: int) -> tuple[np.ndarray, np.ndarray]:
    """LTE SSS for every N_ID1, subframes 0 and 5: two float32 (168, 62)."""
    return (
        np.stack([lte_sss(n1, n_id2, 0) for n1 in range(168)]),
        np.stack([lte_sss(n1, n_id2, 5) for n1 in range(168)]),
    )


def cfar_z(values: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """(peak - mean) / std over all entries of ``values`` and the peak's index."""
    mean, std = mean_std(values)
    i = int(np.argmax(values))
    return float((values.flat[i] - mean) / std), np.unravel_index(i, values.shape)


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` (from a regular subsample of <= 2^20 entries: CFAR statistics)."""
    flat = values.reshape(-1)
    sub = flat[:: max(1, flat.size >> 20)].astype(np.float64)
    return float(sub.mean()), max(float(sub.std()), 1e-12)


def best_sss(scores: np.ndarray) -> tuple[float, int]:
    """z of the best SSS hypothesis among ``scores`` (H,) and its index."""
    i = int(np.argmax(scores))
    others = np.delete(scores, i)
    return float((scores[i] - others.mean()) / max(float(others.std()), 1e-12)), i


# ---------------------------------------------------------------- LTE


def lte_search_grid(
    grid: SymbolGrid,
    *,
    center_hz: float,
    max_offset_hz: float = 120e3,
    lag_reach: float = LAG_REACH,
    beyond: bool = False,
) -> dict:
    """LTE PSS/SSS search on a 15 kHz grid with the DC expected at ``center_hz`` +- ``max_offset_hz``.

    Two PSS statistics, each folded over the 5 ms periods and CFAR-normalised: the differential one (any timing
    error, ~6 dB less sensitive) and the coherent one (:func:`radiofm.dsp.lte_pss.coherent_metric`: timing within
    ``lag_reach`` of a useful symbol from the grid's, ~6 dB more sensitive at low SNR). The PSS counts when either
    reaches its threshold; ``z`` is the coherent z, ``z_diff`` the differential, and the hit's symbol, N_ID2 and
    DC come from the one further above its threshold. ``beyond``: the SSS may also find the DC at the PSS's
    Zadoff-Chu aliases of the best candidate that lie outside the searched range
    (:func:`radiofm.dsp.lte_pss.alias_candidates`): a band scanned in pieces, where the piece that holds the DC
    may not hold the alias that stands out.
    """
    k = grid.y.shape[1]
    dc = grid.bin_of(center_hz)
    span = int(np.ceil(max_offset_hz / grid.scs_hz))
    dcs = np.arange(max(dc - span, 31), min(dc + span, k - 32) + 1)
    out = {"detected": False, "z": 0.0, "z_diff": 0.0, "metric": 0.0, "threshold": LTE_PSS_Z_THRESHOLD, "pci": None}
    n_sym = grid.y.shape[0]
    if dcs.size == 0 or n_sym < 2:
        return out | {"reason": "carrier centre outside the analysed band or span too short"}
    n_fold = n_sym // LTE_PERIOD_SYMBOLS
    metric = ofdm_rx.diff_correlate(grid.y, lte_patterns(), int(dcs[0]) - 31, dcs.size)  # (3, S, D)
    folded_d = _fold(metric[:, None], n_fold)[:, 0]
    z_d, peak_d = cfar_z(folded_d)
    # the coherent statistic on every symbol: at low SNR the CP correlation may put the half-ms boundary a
    # symbol off (the long CP is 16 of 2208 samples longer), so which symbols could be the PSS is not known
    coherent = coherent_metric(grid.y, grid.advance, dcs, lag_reach)  # (3, L, S, D)
    folded_c = _fold(coherent, n_fold).max(axis=1)  # (3, 70, D): each position at its best lag
    z_c, peak_c = cfar_z(folded_c)
    diff_wins = z_d / LTE_PSS_Z_THRESHOLD > z_c / LTE_COHERENT_Z_THRESHOLD
    n2, p, di = peak_d if diff_wins else peak_c
    occ = np.arange(p, n_sym, LTE_PERIOD_SYMBOLS) if n_fold >= 1 else np.array([p])
    single = metric if diff_wins else coherent.max(axis=1)  # (3, S, D)
    single_mean, single_std = mean_std(single)
    occ_z = (single[n2, occ, di] - single_mean) / single_std
    # the DC: the coherent candidates (a few, see lte_pss.dc_candidates), the one whose SSS stands out best
    lags, _ = lag_steering(grid.y.shape[1], grid.advance, lag_reach)
    candidates = dc_candidates(coherent[n2][:, occ].sum(axis=1), dcs, lags)
    if beyond:
        candidates += alias_candidates(grid, occ, int(n2), candidates[0][0], dcs, lag_reach)
    tries = [(c, _lte_sss(grid, occ, c, int(n2), lag)) for c, lag in candidates]
    dc_bin, sss = max(tries, key=lambda t: t[1].get("sss_z", -np.inf))
    # the coherent statistic's null tail is heavier (a strong NR SSB can reach its threshold): alone, it counts
    # only with the SSS confirmed
    detected = bool(z_d >= LTE_PSS_Z_THRESHOLD or (z_c >= LTE_COHERENT_Z_THRESHOLD and "pci" in sss))
    if not detected:
        sss = {k: v for k, v in sss.items() if k not in ("n_id1", "pci", "frame_start_sample")}
    out |= {
        "z": z_c,
        "z_diff": z_d,
        "coherent_threshold": LTE_COHERENT_Z_THRESHOLD,
        "metric": float((folded_d if diff_wins else folded_c)[n2, p, di]),
        "n_id2": int(n2),
        "center_hz": grid.freq_of(dc_bin),
        "freq_error_hz": grid.freq_of(dc_bin) - center_hz,
        "timing_sample": int(round(grid.start_sample[occ[0]])),
        "pss_symbol": int(occ[0]),
        "occurrences": int(occ.size),
        "occurrences_detected": int((occ_z >= OCCURRENCE_Z).sum()),
        "periods_averaged": int(max(n_fold, 1)),
        "detected": detected,
    }
    return out | sss


def _fold(values: np.ndarray, n_fold: int) -> np.ndarray:
    """(3, L, S, D) -> the mean over whole 5 ms periods (3, L, 70, D); unchanged when the span is shorter."""
    if n_fold < 1:
        return values
    a, b, _, d = values.shape
    return values[:, :, : n_fold * LTE_PERIOD_SYMBOLS].reshape(a, b, n_fold, LTE_PERIOD_SYMBOLS, d).mean(axis=2)


def _lte_sss(grid: SymbolGrid, occ: np.ndarray, dc_bin: int, n_id2: int, lag: float) -> dict:
    """SSS -> N_ID1, subframe parity and duplex mode, from the PSS occurrences ``occ`` (symbol indices).

    FDD (frame structure 1): SSS in the symbol before the PSS (slot 0 / 10, symbols 5 and 6); TDD (type 2): SSS
    in the last symbol of subframe 0 / 5, PSS in the third of subframe 1 / 6, three symbols later (36.211
    §6.11.1.2, §6.11.2.2). Both are tried; the better z wins. The channel estimate from the PSS is smoothed over
    7 subcarriers (105 kHz, well inside the coherence bandwidth of a few-microsecond delay spread) after removing
    the phase ramp of the window timing (``lag`` samples from the PSS search): ~8 dB less noise at low SNR.
    """
    bins = dc_bin - 31 + np.r_[0:31, 32:63]
    pss = lte_pss(n_id2)
    a0, a5 = _lte_sss_table(n_id2)
    best = None
    for duplex, gap in (("FDD", 1), ("TDD", 3)):
        o = occ[occ >= gap]
        if o.size == 0:
            continue
        h = _smooth_channel(grid.y[o][:, bins] * np.conj(pss)[None, :], lag + grid.advance, grid.y.shape[1])
        # the SSS one normal symbol before its PSS (FDD), or three and the next slot's long CP (TDD)
        ramp = ofdm_rx.window_ramp(grid, o, o - gap, bins, symbols=-gap, long_cps=-int(duplex == "TDD"))
        z_sss = grid.y[o - gap][:, bins] * np.conj(h) * ramp  # (O, 62)
        s0, s5 = np.abs(z_sss @ a0.T), np.abs(z_sss @ a5.T)  # (O, 168) each
        even = np.arange(o.size) % 2 == 0
        scores = np.concatenate([s0[even].sum(0) + s5[~even].sum(0), s5[even].sum(0) + s0[~even].sum(0)])
        z, i = best_sss(scores)
        if best is None or z > best[0]:
            best = (z, i, duplex, o)
    if best is None:
        return {}
    sss_z, i, duplex, o = best
    parity, n1 = divmod(i, 168)
    out = {"sss_z": sss_z, "sss_threshold": SSS_Z_THRESHOLD, "duplex": duplex}
    if sss_z >= SSS_Z_THRESHOLD:
        first_sf0 = o[0] if parity == 0 or o.size == 1 else o[1]
        # FDD: the PSS is symbol 6 of slot 0, six symbols (one long CP) after the frame start. TDD: symbol 2 of
        # subframe 1, two symbols (one long CP) after that subframe's start, 1 ms after the frame's.
        nf15 = grid.y.shape[1]
        _, offsets, _ = ofdm_rx.half_ms_layout(15e3, nf15)
        lead = offsets[6] if duplex == "FDD" else offsets[2]
        # the PSS search's lag: the symbols start ``lag`` samples (at nf15 * 15 kHz) after the grid's windows say
        frame_start = grid.start_sample[first_sf0] + (lag - lead) * grid.sample_rate_hz / (nf15 * 15e3)
        frame_start -= (1e-3 if duplex == "TDD" else 0.0) * grid.sample_rate_hz
        if parity == 1 and o.size == 1:  # the only occurrence is in the second half frame: 5 ms earlier
            frame_start -= 5e-3 * grid.sample_rate_hz
        frame_start %= 10e-3 * grid.sample_rate_hz  # the first frame start inside the span
        out |= {"n_id1": int(n1), "pci": int(3 * n1 + n_id2), "frame_start_sample": int(round(frame_start))}
    return out


def _smooth_channel(h: np.ndarray, delay: float, nfft: int) -> np.ndarray:
    """(O, 62) per-subcarrier channel estimates on the PSS bins (DC left out) smoothed over 7 subcarriers, the
    linear phase of a window ``delay`` samples early taken out before and put back after."""
    k = np.r_[0:31, 32:63]
    ramp = np.exp(2j * np.pi * k * delay / nfft).astype(np.complex64)
    full = np.zeros((h.shape[0], 63), np.complex64)
    full[:, k] = h * ramp
    smooth = _box7(full)
    count = _box7(np.isin(np.arange(63), k)[None].astype(np.complex64))[0].real
    return (smooth[:, k] / count[k]) * np.conj(ramp)


def _box7(a: np.ndarray) -> np.ndarray:
    """Sum of each entry of (O, K) and its 3 neighbours on either side along axis 1 (zeros beyond the ends)."""
    padded = np.zeros((a.shape[0], a.shape[1] + 7), a.dtype)
    padded[:, 4 : 4 + a.shape[1]] = a
    c = np.cumsum(padded, axis=1)
    return c[:, 7:] - c[:, :-7]


def lte_pss_search(
    iq: np.ndarray, sample_rate_hz: float, *, center_offset_hz: float, max_offset_hz: float = 120e3
) -> dict:
    """Search an LTE PSS/SSS around ``center_offset_hz`` (the carrier's DC, Hz from the recording centre).

    ``iq`` (N,) complex: the span to search (>= 5 ms for the periodicity check, 40 ms typical). Returns a dict:
    ``detected`` (see :func:`lte_search_grid`), ``z`` / ``z_diff`` (CFAR z of the 5 ms-folded coherent /
    differential metric), ``metric`` (the winning one's value in [0, 1]),
    ``n_id2``, ``sss_z``, ``duplex`` ("FDD" / "TDD", where the SSS was best), ``n_id1`` and ``pci``
    (= 3 N_ID1 + N_ID2, when the SSS is confirmed),
    ``timing_sample`` (CP start of the first PSS symbol, span samples), ``frame_start_sample`` (a radio frame
    start, from the SSS), ``center_hz`` (the DC found) and ``freq_error_hz`` (its offset from the given centre),
    ``occurrences`` / ``occurrences_detected`` (PSS symbols in the span / individually above z 5), and ``cp``
    (the CP-sync result). Robust to any carrier offset (the CP sync and :func:`lte_search_baseband` find the
    subcarrier grid) and to an error of the centre up to ``max_offset_hz``.
    """
    x = ofdm_rx.check_iq(iq, sample_rate_hz)
    half = max_offset_hz + 0.6e6  # PSS +- 0.47 MHz around DC, plus the offset search
    bb = ofdm_rx.extract_band(
        x,
        sample_rate_hz,
        centre_hz=center_offset_hz,
        lower_hz=center_offset_hz - half,
        upper_hz=center_offset_hz + half,
    )
    sync = ofdm_rx.cp_sync(bb, 15e3)
    result, _ = lte_search_baseband(
        bb, tau0=sync.tau0, freq_offset_hz=sync.freq_offset_hz, center_hz=center_offset_hz, max_offset_hz=max_offset_hz
    )
    return result | {"cp": {"rho": sync.rho, "freq_offset_hz": sync.freq_offset_hz}}


# fractional offsets of the subcarrier grid tried beside the CP correlation's (a 2.5 kHz grid over one subcarrier)
GRID_OFFSET_STEPS_HZ = (-5e3, -2.5e3, 2.5e3, 5e3, 7.5e3)


def lte_search_baseband(
    bb: ofdm_rx.Baseband,
    *,
    tau0: int,
    freq_offset_hz: float,
    center_hz: float,
    max_offset_hz: float,
    lag_reach: float = LAG_REACH,
    beyond: bool = False,
) -> tuple[dict, SymbolGrid]:
    """:func:`lte_search_grid` on the 15 kHz grid of ``bb`` at ``tau0`` / ``freq_offset_hz`` (from
    :func:`ofdm_rx.cp_sync`), with the grid's frequency offset checked on the PSS itself. Returns (hit, grid).

    The CP correlation measures the offset of whatever CP-OFDM signal dominates the band: beside a weak cell that
    may be a neighbour's leakage or the receiver's IQ-imbalance image of a strong carrier, and a grid half a
    subcarrier off costs the PSS ~4 dB, the SSS more, and puts the DC between two bins. So when the coherent PSS
    statistic stands out (z >= its threshold), the grid is rebuilt at the other offsets of
    :data:`GRID_OFFSET_STEPS_HZ`, the PSS correlated again at its symbols and DC (+-1 bin), and the search rerun
    on the best grid when that is not the first.
    """
    grid = ofdm_rx.symbol_grid(bb, 15e3, tau0=tau0, freq_offset_hz=freq_offset_hz)
    kw = {"center_hz": center_hz, "max_offset_hz": max_offset_hz, "lag_reach": lag_reach, "beyond": beyond}
    hit = lte_search_grid(grid, **kw)
    if hit["z"] < LTE_COHERENT_Z_THRESHOLD or "pss_symbol" not in hit:
        return hit, grid
    occ = np.arange(hit["pss_symbol"], grid.y.shape[0], LTE_PERIOD_SYMBOLS)

    def pss_value(g: SymbolGrid) -> float:
        dc = g.bin_of(hit["center_hz"])
        dcs = np.arange(max(dc - 1, 31), min(dc + 1, g.y.shape[1] - 32) + 1)
        if dcs.size == 0:
            return -np.inf
        return float(coherent_metric(g.y[occ], g.advance, dcs, lag_reach)[hit["n_id2"]].sum(axis=1).max())

    best_value, best = pss_value(grid), None
    for step in GRID_OFFSET_STEPS_HZ:
        g = ofdm_rx.symbol_grid(bb, 15e3, tau0=tau0, freq_offset_hz=freq_offset_hz + step)
        value = pss_value(g)
        if value > best_value:
            best_value, best = value, g
    if best is None:
        return hit, grid
    return lte_search_grid(best, **kw), best


def cp_shows(rho: float, other_rho: float) -> bool:
    """True when a CP correlation ``rho`` clearly marks its numerology present: >= CP_RHO_CLEAR and >= 4x the
    other numerology's ``other_rho``."""
    return rho >= CP_RHO_CLEAR and rho >= 4 * other_rho


def ruled_out(syncs: dict, scs_hz: float) -> bool:
    """True when the CP correlation clearly shows the other numerology (rho >= CP_RHO_CLEAR, >= 4x this one's).

    Saves half the search on a loaded carrier. An SSB whose SCS differs from the data's (possible in NR) is
    then missed unless ``scs_hz`` names only that SCS (searched whatever the CP says).
    """
    if len(syncs) < 2 or scs_hz not in syncs:
        return False
    other = max((s for k, s in syncs.items() if k != scs_hz), key=lambda s: s.rho)
    return cp_shows(other.rho, syncs[scs_hz].rho)
