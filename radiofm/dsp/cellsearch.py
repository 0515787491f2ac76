"""LTE and NR cell search on one carrier: PSS detection over time and frequency, SSS -> physical cell ID.

Both searches run on the received resource grid of :mod:`radiofm.dsp.ofdm_rx` (CP-synchronised, one FFT per
symbol), so timing is known to the symbol and frequency to the subcarrier; what remains is *where* the PSS is:

- **LTE** (36.211 §6.11): the PSS (length-63 Zadoff-Chu, roots 25/29/34 for N_ID2 = 0/1/2, DC punctured) sits on
  the 62 subcarriers around the carrier's DC, in the last symbol of slots 0 and 10, i.e. every 5 ms (70 symbols).
  The search tries the three roots at DC positions within ``max_offset_hz`` of the expected centre and averages
  the differential metric over the 5 ms periods (non-coherent gain: 8 periods in 40 ms).
  The SSS (symbol before the PSS) is detected coherently across subcarriers with the PSS as channel estimate,
  jointly over all periods and both subframe parities (its two halves swap between subframes 0 and 5) -> N_ID1
  and frame timing.
- **NR** (38.211 §7.4.2-7.4.3, 38.213 §4.1): the PSS (length-127 m-sequence) is symbol 0 of an SS/PBCH block
  that may sit anywhere in the carrier, SSS on symbol 2, same subcarriers. The search correlates every symbol
  at every subcarrier position (FFTs along frequency) for 15 and 30 kHz. Two statistics: the single best symbol,
  and the burst statistic — the metric averaged over the first four SSB positions of a burst (case A / C: symbols
  {2, 8, 16, 22}, case B: {4, 8, 16, 20}) and over 20 ms periods, which detects ~4-6 dB lower when all four are
  sent. SSS over all detected blocks -> N_ID1; the burst period from the blocks' times.

Normalisation (CFAR): each statistic is reported as ``z = (peak - mean) / std`` over all hypotheses of the same
search (positions x times x N_ID2), so it is comparable across SNR, span length and carrier width. Thresholds were
set from the null distribution measured on pure noise and on carriers of the other standard
(``benchmarks/cellsearch_null.py``; see the constants below). The SSS is confirmed when the best N_ID1 stands
out of all hypotheses by ``SSS_Z_THRESHOLD`` standard deviations. Occurrences are combined non-coherently
(sum of magnitudes): the phase between the PSS and SSS symbols depends on where the transmitter's phase reference
lies (the capture centre for our generator, the carrier centre for an LTE eNB, the RF carrier for NR, 38.211
§5.4) and on whether a long CP lies between them, so it is not known at the receiver.
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.dsp.ofdm_rx import Baseband, SymbolGrid
from radiofm.dsp.sequences import lte_pss, lte_sss, nr_pss, nr_sss

# Detection thresholds on the CFAR z of each statistic (see module docstring and benchmarks/cellsearch_null.py).
LTE_PSS_Z_THRESHOLD = 8.0
NR_PSS_Z_THRESHOLD = 9.0  # single best symbol
NR_BURST_Z_THRESHOLD = 9.0  # burst-pattern average
SSS_Z_THRESHOLD = 6.0
OCCURRENCE_Z = 5.0  # a single symbol counts as a PSS occurrence above this z (periodicity, SSS combining)
CP_RHO_CLEAR = 0.15  # CP correlation that marks a numerology as present (noise: ~1 / sqrt(CP samples) < 0.03)

LTE_PERIOD_SYMBOLS = 70  # 5 ms at 15 kHz
NR_BURST_PATTERNS = {  # first four SSB start symbols of a half frame, relative to the first (38.213 §4.1)
    15e3: {"A": (0, 6, 14, 20)},
    30e3: {"B": (0, 4, 12, 16), "C": (0, 6, 14, 20)},
}
SSB_PERIODS_MS = (5.0, 10.0, 20.0)  # SSB periodicities (38.331 ssb-periodicityServingCell) a 40 ms span can show
SSB_PSS_FIRST = 56  # PSS on SSB subcarriers 56..182; the SSB reference (GSCN) is subcarrier 120


@functools.cache
def _lte_patterns() -> np.ndarray:
    """The three LTE PSS mapped on 63 subcarriers around DC (index 31 = DC, empty): complex64 (3, 63)."""
    out = np.zeros((3, 63), dtype=np.complex64)
    for n2 in range(3):
        out[n2, np.r_[0:31, 32:63]] = lte_pss(n2)
    return out


@functools.cache
def _nr_patterns() -> np.ndarray:
    return np.stack([nr_pss(n2) for n2 in range(3)]).astype(np.complex64)  # (3, 127)


@functools.cache
def _lte_sss_table(n_id2: int) -> tuple[np.ndarray, np.ndarray]:
    """LTE SSS for every N_ID1, subframes 0 and 5: two float32 (168, 62)."""
    return (
        np.stack([lte_sss(n1, n_id2, 0) for n1 in range(168)]),
        np.stack([lte_sss(n1, n_id2, 5) for n1 in range(168)]),
    )


@functools.cache
def _nr_sss_table(n_id2: int) -> np.ndarray:
    return np.stack([nr_sss(n1, n_id2) for n1 in range(336)])  # float32 (336, 127)


def _cfar_z(values: np.ndarray) -> tuple[float, tuple[int, ...]]:
    """(peak - mean) / std over all entries of ``values`` and the peak's index."""
    mean, std = _mean_std(values)
    i = int(np.argmax(values))
    return float((values.flat[i] - mean) / std), np.unravel_index(i, values.shape)


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` (from a regular subsample of <= 2^20 entries: CFAR statistics)."""
    flat = values.reshape(-1)
    sub = flat[:: max(1, flat.size >> 20)].astype(np.float64)
    return float(sub.mean()), max(float(sub.std()), 1e-12)


def _sss_z(scores: np.ndarray) -> tuple[float, int]:
    """z of the best SSS hypothesis among ``scores`` (H,) and its index."""
    i = int(np.argmax(scores))
    others = np.delete(scores, i)
    return float((scores[i] - others.mean()) / max(float(others.std()), 1e-12)), i


# ---------------------------------------------------------------- LTE


def lte_search_grid(grid: SymbolGrid, *, center_hz: float, max_offset_hz: float = 120e3) -> dict:
    """LTE PSS/SSS search on a 15 kHz grid with the DC expected at ``center_hz`` +- ``max_offset_hz``."""
    k = grid.y.shape[1]
    dc = grid.bin_of(center_hz)
    span = int(np.ceil(max_offset_hz / grid.scs_hz))
    dcs = np.arange(max(dc - span, 31), min(dc + span, k - 32) + 1)
    out = {"detected": False, "z": 0.0, "metric": 0.0, "threshold": LTE_PSS_Z_THRESHOLD, "pci": None}
    n_sym = grid.y.shape[0]
    if dcs.size == 0 or n_sym < 2:
        return out | {"reason": "carrier centre outside the analysed band or span too short"}
    metric = ofdm_rx.diff_correlate(grid.y, _lte_patterns(), int(dcs[0]) - 31, dcs.size)  # (3, S, D)
    n_fold = n_sym // LTE_PERIOD_SYMBOLS
    if n_fold >= 1:
        folded = metric[:, : n_fold * LTE_PERIOD_SYMBOLS].reshape(3, n_fold, LTE_PERIOD_SYMBOLS, dcs.size).mean(1)
    else:
        folded = metric
    z, (n2, p, di) = _cfar_z(folded)
    occ = np.arange(p, n_sym, LTE_PERIOD_SYMBOLS) if n_fold >= 1 else np.array([p])
    single_mean, single_std = _mean_std(metric)
    occ_z = (metric[n2, occ, di] - single_mean) / single_std
    dc_bin = int(dcs[di]) + _lte_refine(grid, occ, int(dcs[di]), int(n2))
    out |= {
        "z": z,
        "metric": float(folded[n2, p, di]),
        "n_id2": int(n2),
        "center_hz": grid.freq_of(dc_bin),
        "freq_error_hz": grid.freq_of(dc_bin) - center_hz,
        "timing_sample": int(round(grid.start_sample[occ[0]])),
        "occurrences": int(occ.size),
        "occurrences_detected": int((occ_z >= OCCURRENCE_Z).sum()),
        "periods_averaged": int(max(n_fold, 1)),
        "detected": bool(z >= LTE_PSS_Z_THRESHOLD),
    }
    occ = occ[occ >= 1]  # the SSS is the symbol before
    if occ.size == 0:
        return out
    bins = dc_bin - 31 + np.r_[0:31, 32:63]
    pss = lte_pss(int(n2))
    h = grid.y[occ][:, bins] * np.conj(pss)[None, :]  # channel estimate per occurrence (O, 62)
    z_sss = grid.y[occ - 1][:, bins] * np.conj(h)  # (O, 62)
    a0, a5 = _lte_sss_table(int(n2))
    s0, s5 = np.abs(z_sss @ a0.T), np.abs(z_sss @ a5.T)  # (O, 168) each
    even = np.arange(occ.size) % 2 == 0
    scores = np.concatenate([s0[even].sum(0) + s5[~even].sum(0), s5[even].sum(0) + s0[~even].sum(0)])
    sss_z, best = _sss_z(scores)
    parity, n1 = divmod(best, 168)
    out |= {"sss_z": sss_z, "sss_threshold": SSS_Z_THRESHOLD}
    if out["detected"] and sss_z >= SSS_Z_THRESHOLD:
        first_sf0 = occ[0] if parity == 0 or occ.size == 1 else occ[1]
        # the PSS is symbol 6 of slot 0 (subframe 0 or 5): the slot began one long and five normal symbols earlier
        nf15 = grid.y.shape[1]
        _, offsets, _ = ofdm_rx.half_ms_layout(15e3, nf15)
        frame_start = grid.start_sample[first_sf0] - offsets[6] * grid.sample_rate_hz / (nf15 * 15e3)
        if parity == 1 and occ.size == 1:  # the only occurrence is subframe 5: the frame began 5 ms earlier
            frame_start -= 5e-3 * grid.sample_rate_hz
        frame_start %= 10e-3 * grid.sample_rate_hz  # the first frame start inside the span
        out |= {"n_id1": int(n1), "pci": int(3 * n1 + n2), "frame_start_sample": int(round(frame_start))}
    return out


def _lte_refine(grid: SymbolGrid, occ: np.ndarray, dc_bin: int, n_id2: int, max_shift: int = 3) -> int:
    """Integer correction (bins) of the DC found by the differential search, by coherent PSS correlation.

    The differential products of a Zadoff-Chu sequence are a pure tone, so the differential metric barely
    changes when the pattern slides by a bin or two; coherently, a slide by d bins looks like a timing offset of
    d u / 63 symbols (the ZC time-frequency coupling), far outside the timing uncertainty. So each shift is
    correlated coherently, after removing the known window advance, allowing a residual timing of +-2.5 us
    (CP-sync error and channel delay), and the best shift wins.
    """
    nfft = grid.y.shape[1]
    k = np.arange(63)
    lags = np.linspace(-0.035 * nfft, 0.035 * nfft, 15)  # +-2.5 us in samples at nfft * 15 kHz
    steer = np.exp(2j * np.pi * np.outer(k, lags) / nfft).astype(np.complex64)  # (63, L)
    comp = np.exp(2j * np.pi * k * grid.advance / nfft).astype(np.complex64)
    pattern = np.conj(_lte_patterns()[n_id2]) * comp
    best, best_val = 0, -1.0
    for shift in range(-max_shift, max_shift + 1):
        first = dc_bin + shift - 31
        if first < 0 or first + 63 > nfft:
            continue
        z = grid.y[occ, first : first + 63] * pattern  # (O, 63)
        val = float(np.abs(z @ steer).max(axis=1).sum())
        if val > best_val:
            best, best_val = shift, val
    return best


def lte_pss_search(
    iq: np.ndarray, sample_rate_hz: float, *, center_offset_hz: float, max_offset_hz: float = 120e3
) -> dict:
    """Search an LTE PSS/SSS around ``center_offset_hz`` (the carrier's DC, Hz from the recording centre).

    ``iq`` (N,) complex: the span to search (>= 5 ms for the periodicity check, 40 ms typical). Returns a dict:
    ``detected`` (PSS z >= threshold), ``z`` (CFAR z of the 5 ms-folded metric), ``metric`` (its value in [0, 1]),
    ``n_id2``, ``sss_z``, ``n_id1`` and ``pci`` (= 3 N_ID1 + N_ID2, when the SSS is confirmed),
    ``timing_sample`` (CP start of the first PSS symbol, span samples), ``frame_start_sample`` (a radio frame
    start, from the SSS), ``center_hz`` (the DC found) and ``freq_error_hz`` (its offset from the given centre),
    ``occurrences`` / ``occurrences_detected`` (PSS symbols in the span / individually above z 5), and ``cp``
    (the CP-sync result). Robust to a carrier offset of a few hundred Hz (removed by the CP sync) and to an
    error of the centre up to ``max_offset_hz``.
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
    grid = ofdm_rx.symbol_grid(bb, 15e3, tau0=sync.tau0, freq_offset_hz=sync.freq_offset_hz)
    result = lte_search_grid(grid, center_hz=center_offset_hz, max_offset_hz=max_offset_hz)
    return result | {"cp": {"rho": sync.rho, "freq_offset_hz": sync.freq_offset_hz}}


# ---------------------------------------------------------------- NR


def _burst_stat(metric: np.ndarray, scs_hz: float) -> tuple[np.ndarray, str]:
    """Metric (3, S, M) averaged over the burst pattern and 20 ms periods (if the span holds two): (3, S', M), case."""
    n_sym = metric.shape[1]
    per20 = int(round(280 * scs_hz / 15e3))
    n_fold = n_sym // per20
    if n_fold >= 2:
        base = metric[:, : n_fold * per20].reshape(3, n_fold, per20, metric.shape[2]).mean(1)
    else:
        base = metric
    n = base.shape[1]
    best, best_case, best_z = None, "", -np.inf
    for case, offsets in NR_BURST_PATTERNS[scs_hz].items():
        acc = np.zeros_like(base)
        for q in offsets:  # acc[:, s] += base[:, (s + q) mod n]
            acc[:, : n - q] += base[:, q:]
            acc[:, n - q :] += base[:, :q]
        acc /= len(offsets)
        z, _ = _cfar_z(acc)
        if z > best_z:
            best, best_case, best_z = acc, case, z
    return best, best_case


def nr_search_grid(grid: SymbolGrid, *, lower_hz: float, upper_hz: float) -> dict:
    """NR PSS/SSS search on one numerology's grid, PSS anywhere inside [lower_hz, upper_hz]."""
    k = grid.y.shape[1]
    scs = grid.scs_hz
    n_sym = grid.y.shape[0]
    first = max(grid.bin_of(lower_hz + 0.5 * scs), 0)
    last = min(grid.bin_of(upper_hz - 0.5 * scs) - 126, k - 127)
    out = {"scs_hz": scs, "detected": False, "z": 0.0, "z_burst": 0.0, "metric": 0.0, "pci": None}
    if last < first or n_sym < 3:
        return out | {"reason": "band narrower than a PSS or span too short"}
    metric = ofdm_rx.diff_correlate(grid.y, _nr_patterns(), first, last - first + 1)  # (3, S, M)
    mean, std = _mean_std(metric)
    i1 = np.unravel_index(int(np.argmax(metric)), metric.shape)
    z1 = float((metric[i1] - mean) / std)
    burst, case = _burst_stat(metric, scs)
    zb, (n2b, sb, mb) = _cfar_z(burst)
    margin1, marginb = z1 - NR_PSS_Z_THRESHOLD, zb - NR_BURST_Z_THRESHOLD
    n2, m = (int(i1[0]), int(i1[2])) if margin1 >= marginb else (int(n2b), int(mb))
    series = (metric[n2, :, m] - mean) / std  # per-symbol z at (N_ID2, position)
    occ = np.flatnonzero(series >= OCCURRENCE_Z)
    if margin1 < marginb:  # add the burst pattern's symbols (they may be individually weak)
        per = burst.shape[1]
        offs = NR_BURST_PATTERNS[scs][case]
        pat = np.array([(sb + q) % per + per * f for q in offs for f in range(-(-n_sym // per))])
        occ = np.union1d(occ, pat[pat < n_sym])
    if occ.size == 0:
        occ = np.array([int(i1[1])])
    occ = occ[np.argsort(-series[occ])][:64]
    occ = np.sort(occ[occ + 2 < n_sym])
    pss_bin = first + m
    out |= {
        "z": z1,
        "z_burst": zb,
        "burst_case": case,
        "metric": float(metric[i1]),
        "n_id2": n2,
        "ssb_center_hz": grid.freq_of(pss_bin - SSB_PSS_FIRST + 120),
        "detected": bool(margin1 >= 0 or marginb >= 0),
        "thresholds": {"z": NR_PSS_Z_THRESHOLD, "z_burst": NR_BURST_Z_THRESHOLD, "sss_z": SSS_Z_THRESHOLD},
    }
    if occ.size == 0:
        return out
    strong = occ[series[occ] >= OCCURRENCE_Z]  # blocks seen on their own: timing, count, bursts
    times = grid.start_sample[strong if strong.size else occ[np.argmax(series[occ])][None]]
    out["timing_sample"] = int(round(times[0]))
    out["ssb_count"] = int(strong.size)
    bins = np.arange(pss_bin, pss_bin + 127)
    h = grid.y[occ][:, bins] * nr_pss(n2)[None, :]
    z_sss = grid.y[occ + 2][:, bins] * np.conj(h)  # (O, 127)
    sss_z, n1 = _sss_z(np.abs(z_sss @ _nr_sss_table(n2).T).sum(0))
    out["sss_z"] = sss_z
    if out["detected"] and sss_z >= SSS_Z_THRESHOLD:
        out |= {"n_id1": int(n1), "pci": int(3 * n1 + n2)}
    out |= _burst_period(times, grid)
    return out


def _burst_period(times: np.ndarray, grid: SymbolGrid) -> dict:
    """Bursts (blocks within 1 ms of the previous) and the SSB period: the smallest of 5/10/20 ms at which two
    blocks lie exactly one period apart (the same block index in two bursts, +-0.05 ms; block offsets inside a
    burst are < 5 ms and never a multiple of 5 ms). Partial bursts at the span's ends do not disturb it.
    """
    t_ms = np.sort(times) / (1e-3 * grid.sample_rate_hz)
    n_bursts = int(1 + np.sum(np.diff(t_ms) > 1.0)) if t_ms.size else 0
    out = {"n_bursts": n_bursts, "burst_period_ms": None}
    gaps = np.abs(t_ms[:, None] - t_ms[None, :])  # (B, B)
    for period in SSB_PERIODS_MS:
        partnered = int((np.abs(gaps - period) < 0.05).any(axis=1).sum())
        if partnered >= 2:
            out["burst_period_ms"] = float(period)
            break
    return out


def nr_search_baseband(bb: Baseband, *, lower_hz: float, upper_hz: float, scs_hz=(15e3, 30e3), tau0=None) -> dict:
    """NR search over the numerologies ``scs_hz`` of an extracted carrier; the best numerology's result.

    ``tau0``: half-ms boundary to use (default: from the CP sync of the numerology with the larger rho).
    """
    syncs = {scs: ofdm_rx.cp_sync(bb, scs) for scs in ofdm_rx.SCS_HZ}
    best_sync = max(syncs.values(), key=lambda s: s.rho)
    tau0 = best_sync.tau0 if tau0 is None else tau0
    searched = [s for s in scs_hz if len(scs_hz) == 1 or not ruled_out(syncs, s)]
    results = []
    for scs in searched:
        # grid offset: known modulo the detected numerology's SCS; reduced modulo this one
        f_off = (best_sync.freq_offset_hz + scs / 2) % scs - scs / 2
        grid = ofdm_rx.symbol_grid(bb, scs, tau0=tau0, freq_offset_hz=f_off)
        results.append(nr_search_grid(grid, lower_hz=lower_hz, upper_hz=upper_hz))
    cp = {f"rho_{int(s / 1e3)}k": syncs[s].rho for s in syncs}
    return best_nr(results) | {"cp": cp}


def best_nr(results: list[dict]) -> dict:
    """The numerology whose statistic clears its threshold by the most, with every one's z in ``per_scs``."""
    best = max(results, key=lambda r: max(r["z"] - NR_PSS_Z_THRESHOLD, r["z_burst"] - NR_BURST_Z_THRESHOLD))
    return best | {"per_scs": {r["scs_hz"]: {"z": r["z"], "z_burst": r["z_burst"]} for r in results}}


def ruled_out(syncs: dict, scs_hz: float) -> bool:
    """True when the CP correlation clearly shows the other numerology (rho >= CP_RHO_CLEAR, >= 4x this one's).

    Saves half the search on a loaded carrier. An SSB whose SCS differs from the data's (possible in NR) is
    then missed unless ``scs_hz`` names only that SCS (searched whatever the CP says).
    """
    if len(syncs) < 2 or scs_hz not in syncs:
        return False
    other = max((s for k, s in syncs.items() if k != scs_hz), key=lambda s: s.rho)
    return other.rho >= CP_RHO_CLEAR and other.rho >= 4 * syncs[scs_hz].rho


def nr_pss_search(
    iq: np.ndarray, sample_rate_hz: float, *, lower_hz: float, upper_hz: float, scs_hz=(15e3, 30e3)
) -> dict:
    """Search an NR SS/PBCH block anywhere in [lower_hz, upper_hz] (Hz from the recording centre).

    ``iq`` (N,) complex: the span (40 ms typical: two bursts at the default 20 ms period). Returns a dict:
    ``detected``, ``z`` (single best symbol) and ``z_burst`` (burst-pattern average), ``metric`` (best single
    metric in [0, 1]), ``scs_hz``, ``n_id2``, ``sss_z``, ``n_id1`` and ``pci`` (when the SSS is confirmed),
    ``ssb_center_hz`` (SSB subcarrier 120, Hz from the recording centre), ``timing_sample`` (CP start of the
    first block's PSS, span samples), ``ssb_count`` (blocks detected individually, z >= 5), ``n_bursts`` and
    ``burst_period_ms`` (from those blocks; None below two bursts), ``cp`` (CP correlation per numerology) and
    ``per_scs`` (the z of each numerology searched; one is skipped when the CP clearly shows the other).
    Cost: one FFT of the span, then per numerology ~5 FFTs of fs/SCS per symbol; about 0.2-0.3 s for a
    60 MHz carrier over 40 ms at 61.44 MS/s on one core, linear in span length and carrier width.
    """
    if not upper_hz > lower_hz:
        from radiofm.errors import ConfigError

        raise ConfigError(f"nr_pss_search: need lower_hz < upper_hz, got {lower_hz}, {upper_hz}")
    x = ofdm_rx.check_iq(iq, sample_rate_hz)
    centre = 0.5 * (lower_hz + upper_hz)
    bb = ofdm_rx.extract_band(x, sample_rate_hz, centre_hz=centre, lower_hz=lower_hz, upper_hz=upper_hz)
    return nr_search_baseband(bb, lower_hz=lower_hz, upper_hz=upper_hz, scs_hz=tuple(scs_hz))
