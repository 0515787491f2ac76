"""NR cell search on one carrier: SS/PBCH blocks anywhere in the band at 15 or 30 kHz.

The method, the statistics and the thresholds are described in :mod:`radiofm.dsp.cellsearch`.

- :func:`nr_pss_search`: from IQ; :func:`nr_search_baseband`: from an extracted carrier; :func:`nr_search_grid`: on
  one numerology's received grid; :func:`best_nr`: the best of several numerologies' results.
"""

from __future__ import annotations

import functools

import numpy as np

from radiofm.dsp import ofdm_rx
from radiofm.dsp.cellsearch import (
    NR_BURST_Z_THRESHOLD,
    NR_PSS_Z_THRESHOLD,
    OCCURRENCE_Z,
    SSS_Z_THRESHOLD,
    best_sss,
    cfar_z,
    mean_std,
    ruled_out,
)
from radiofm.dsp.ofdm_rx import Baseband, SymbolGrid
from radiofm.dsp.sequences import nr_pss, nr_sss
from radiofm.errors import ConfigError

NR_BURST_PATTERNS = {  # first four SSB start symbols of a half frame, relative to the first (38.213 §4.1)
    15e3: {"A": (0, 6, 14, 20)},
    30e3: {"B": (0, 4, 12, 16), "C": (0, 6, 14, 20)},
}
SSB_PERIODS_MS = (5.0, 10.0, 20.0)  # SSB periodicities (38.331 ssb-periodicityServingCell) a 40 ms span can show
SSB_PSS_FIRST = 56  # PSS on SSB subcarriers 56..182; the SSB reference (GSCN) is subcarrier 120
# In FR1 k_SSB counts 15 kHz steps whatever the numerology (38.211 §7.4.3.1): a 30 kHz SSB may sit half a subcarrier
# off its carrier's grid, which the carrier's data (and so the CP sync) set; its PSS then falls between the bins
# (z 20.6 -> 10.2 and the SSS lost, on a 40 MHz cell at 10 dB: docs/RESULTS.md, session 61)
SSB_GRID_STEP_HZ = 15e3


@functools.cache
def _nr_patterns() -> np.ndarray:
    return np.stack([nr_pss(n2) for n2 in range(3)]).astype(np.complex64)  # (3, 127)


@functools.cache
def _nr_sss_table(n_id2: int) -> np.ndarray:
    return np.stack([nr_sss(n1, n_id2) for n1 in range(336)])  # float32 (336, 127)


def _burst_stat(metric: np.ndarray, scs_hz: float) -> tuple[np.ndarray, str]:
    """Metric (3, S, M) averaged over the burst pattern and 20 ms periods (if the span holds two): (3, S', M), case."""
    n_sym = metric.shape[1]
    per20 = int(round(280 * scs_hz / 15e3))
    n_fold = n_sym // per20
    if n_fold >= 2:
        base = metric[:, : n_fold * per20].reshape(3, n_fold, per20, metric.shape[2]).mean(1)
    else:
        base = metric
    best, best_case, best_z = None, "", -np.inf
    for case, offsets in NR_BURST_PATTERNS[scs_hz].items():
        acc = np.zeros_like(base)
        for q in offsets:  # acc[:, s] += base[:, (s + q) mod n] (a span shorter than the pattern wraps again)
            acc += np.roll(base, -q, axis=1)
        acc /= len(offsets)
        z, _ = cfar_z(acc)
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
    mean, std = mean_std(metric)
    i1 = np.unravel_index(int(np.argmax(metric)), metric.shape)
    z1 = float((metric[i1] - mean) / std)
    burst, case = _burst_stat(metric, scs)
    zb, (n2b, sb, mb) = cfar_z(burst)
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
    # the SSS two normal symbols after its PSS: no long CP lies between them in any SSB case (38.213 §4.1)
    z_sss = grid.y[occ + 2][:, bins] * np.conj(h) * ofdm_rx.window_ramp(grid, occ, occ + 2, bins, symbols=2)
    sss_z, n1 = best_sss(np.abs(z_sss @ _nr_sss_table(n2).T).sum(0))
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


def nr_search_baseband(
    bb: Baseband, *, lower_hz: float, upper_hz: float, scs_hz: tuple[float, ...] = (15e3, 30e3), tau0: int | None = None
) -> dict:
    """NR search over the numerologies ``scs_hz`` of an extracted carrier; the best numerology's result.

    ``tau0``: half-ms boundary to use (default: from the CP sync of the numerology with the larger rho).
    """
    syncs = {scs: ofdm_rx.cp_sync(bb, scs) for scs in ofdm_rx.SCS_HZ}
    best_sync = max(syncs.values(), key=lambda s: s.rho)
    tau0 = best_sync.tau0 if tau0 is None else tau0
    searched = [s for s in scs_hz if len(scs_hz) == 1 or not ruled_out(syncs, s)]
    results = [
        nr_search_numerology(bb, scs, tau0=tau0, freq_offset_hz=best_sync.freq_offset_hz, lower_hz=lower_hz,
                             upper_hz=upper_hz)
        for scs in searched
    ]  # fmt: skip
    cp = {f"rho_{int(s / 1e3)}k": syncs[s].rho for s in syncs}
    return best_nr(results) | {"cp": cp}


def nr_search_numerology(
    bb: Baseband, scs_hz: float, *, tau0: int, freq_offset_hz: float, lower_hz: float, upper_hz: float,
    grid: SymbolGrid | None = None,
) -> dict:  # fmt: skip
    """:func:`nr_search_grid` at one numerology, on every grid its SSB may sit on.

    ``freq_offset_hz`` is the carrier's grid offset from the CP sync (known modulo the numerology it was measured
    at), reduced here modulo ``scs_hz``. An SSB sits on that grid or, at 30 kHz, :data:`SSB_GRID_STEP_HZ` off it (an
    odd k_SSB); both are searched and the one whose statistic clears its threshold by more is returned, with
    ``ssb_grid_shift_hz`` (0 or 15 kHz) saying which. ``grid``: the unshifted grid when the caller has it.
    """
    results = []
    for shift in np.arange(0.0, scs_hz, SSB_GRID_STEP_HZ):
        f_off = (freq_offset_hz + shift + scs_hz / 2) % scs_hz - scs_hz / 2
        if grid is None or shift:  # the caller's grid is the unshifted one
            on = ofdm_rx.symbol_grid(bb, scs_hz, tau0=tau0, freq_offset_hz=f_off)
        else:
            on = grid
        results.append(nr_search_grid(on, lower_hz=lower_hz, upper_hz=upper_hz) | {"ssb_grid_shift_hz": float(shift)})
    return max(results, key=_margin)


def _margin(r: dict) -> float:
    return max(r["z"] - NR_PSS_Z_THRESHOLD, r["z_burst"] - NR_BURST_Z_THRESHOLD)


def best_nr(results: list[dict]) -> dict:
    """The numerology whose statistic clears its threshold by the most, with every one's z in ``per_scs``."""
    best = max(results, key=_margin)
    return best | {"per_scs": {r["scs_hz"]: {"z": r["z"], "z_burst": r["z_burst"]} for r in results}}


def nr_pss_search(
    iq: np.ndarray,
    sample_rate_hz: float,
    *,
    lower_hz: float,
    upper_hz: float,
    scs_hz: tuple[float, ...] = (15e3, 30e3),
    spectrum: np.ndarray | None = None,
) -> dict:
    """Search an NR SS/PBCH block anywhere in [lower_hz, upper_hz] (Hz from the recording centre).

    ``iq`` (N,) complex: the span (40 ms typical: two bursts at the default 20 ms period). Returns a dict:
    ``detected``, ``z`` (single best symbol) and ``z_burst`` (burst-pattern average), ``metric`` (best single
    metric in [0, 1]), ``scs_hz``, ``n_id2``, ``sss_z``, ``n_id1`` and ``pci`` (when the SSS is confirmed),
    ``ssb_center_hz`` (SSB subcarrier 120, Hz from the recording centre), ``timing_sample`` (CP start of the
    first block's PSS, span samples), ``ssb_count`` (blocks detected individually, z >= 5), ``n_bursts`` and
    ``burst_period_ms`` (from those blocks; None below two bursts), ``cp`` (CP correlation per numerology) and
    ``per_scs`` (the z of each numerology searched; one is skipped when the CP clearly shows the other).
    Cost: one FFT of the span (unless the band is the whole span), the CP sync, then per numerology searched
    ~5 FFTs of fs/SCS per OFDM symbol. Measured (``benchmarks/cellsearch_timing.py``, one shared core): 0.27 s
    CPU for a 60 MHz band over 40 ms at 61.44 MS/s holding a loaded carrier (one numerology), 0.50 s for noise
    (both); linear in span length (plus ~0.1 s) and ~K log K in the band's width. ``spectrum``: the span's
    :func:`radiofm.dsp.ofdm_rx.span_spectrum` when already computed (several bands of one span share it).
    """
    if not upper_hz > lower_hz:
        raise ConfigError(f"nr_pss_search: need lower_hz < upper_hz, got {lower_hz}, {upper_hz}")
    x = ofdm_rx.check_iq(iq, sample_rate_hz)
    centre = 0.5 * (lower_hz + upper_hz)
    bb = ofdm_rx.extract_band(x, sample_rate_hz, centre_hz=centre, lower_hz=lower_hz, upper_hz=upper_hz,
                              spectrum=spectrum)  # fmt: skip
    return nr_search_baseband(bb, lower_hz=lower_hz, upper_hz=upper_hz, scs_hz=tuple(scs_hz))
