"""NR or LTE? Physical-layer evidence for one detected carrier, combined into scores and a decision.

:func:`carrier_evidence` runs, on one carrier (band edges from e.g. the annotate segmentation, a time span):

1. :func:`radiofm.dsp.bandwidth.refine_edges` (edges to a few kHz) and
   :func:`radiofm.dsp.bandwidth.bandwidth_evidence` (LTE vs NR occupied-bandwidth tables);
2. the blind OFDM front end (:mod:`radiofm.dsp.ofdm_rx`): CP correlation for 15 and 30 kHz;
3. the LTE cell search at the carrier centre and the NR cell search over the whole carrier
   (:mod:`radiofm.dsp.cellsearch`, :mod:`radiofm.dsp.nr_cellsearch`);
4. :func:`dc_null_score` (LTE leaves its DC subcarrier empty, 36.211 §6.12; NR does not).

Decision rule: each piece of evidence adds a log-likelihood ratio (natural log, NR over LTE), summed into
``llr``; ``scores`` = {"NR": sigmoid(llr), "LTE": 1 - that}; the label is "NR" when ``llr >= DECISION_LLR``,
"LTE" when ``llr <= -DECISION_LLR`` (p >= 0.9), else "unknown". The contributions and why:

- PSS and SSS of one standard found (PCI): +-8. The PSS thresholds keep false alarms on noise and on the other
  standard at <= ~1e-3 per search (``benchmarks/carrier_evidence.py``: largest null z well below each threshold
  in 150 trials; a Gumbel fit to the maxima for the tail), and the SSS check (<= ~1e-3 again) is independent.
- PSS only (SSS not confirmed): +-4.
- CP correlation shows 30 kHz subcarriers: +6. LTE unicast uses 15 kHz only (36.211 §6.12).
- No LTE PSS at the centre of a strong 15 kHz carrier (CP rho >= 0.5, about 0 dB SNR): +1.5. An LTE cell sends
  it every 5 ms and it is found at >= 0 dB, but a wrong centre would also hide it: weak.
- DC null: -3 .. +3 from Gaussian likelihoods (LTE depth ~ 1 +- 0.25, NR ~ 0 +- 0.15, each widened by the
  measured spread), used only where the DC position is known: at the LTE PSS, or at the centre of edges
  measured to < 15 kHz.
- Occupied bandwidth vs the tables: -2 .. +2 (:func:`radiofm.dsp.bandwidth.bandwidth_evidence`); never
  decisive alone.

A missing NR SSB is no evidence: a gNB may send it every 80 or 160 ms, or not at all on a secondary cell.
Both standards' PCIs found at once (dynamic spectrum sharing, or two carriers in one band) gives "unknown".
"""

from __future__ import annotations

import numpy as np

from radiofm.dsp import cellsearch, nr_cellsearch, ofdm_rx
from radiofm.dsp.bandwidth import bandwidth_evidence, refine_edges
from radiofm.dsp.ofdm_rx import SymbolGrid
from radiofm.errors import ConfigError

DECISION_LLR = float(np.log(9.0))  # p >= 0.9
LLR_SYNC_PCI = 8.0
LLR_SYNC_PSS = 4.0
LLR_SCS30 = 6.0
LLR_NO_LTE_PSS = 1.5
RHO_STRONG = 0.5  # CP correlation of a carrier at ~0 dB SNR
LLR_DC_LIMIT = 3.0
DC_LTE_MEAN, DC_LTE_STD = 1.0, 0.25
DC_NR_MEAN, DC_NR_STD = 0.0, 0.15
DC_MIN_RHO = 0.2  # below (SNR < -6 dB) the DC null is too shallow to tell: dc_null_score returns NaN
DC_MAX_CENTRE_ERROR_HZ = 15e3  # edge uncertainty above which the DC position is unknown (unless LTE PSS found)


def dc_null_from_grid(grid: SymbolGrid, center_hz: float, *, rho: float, search_bins: int = 1) -> dict:
    """DC-null depth on a 15 kHz grid: the deepest of the bins within ``search_bins`` of ``center_hz``.

    depth = (1 - P(dc) / mean P(dc +- 1, dc +- 2)) / rho, with P the power averaged over all symbols and rho the
    CP correlation coefficient (about SNR / (1 + SNR), which is exactly 1 - P(dc) / P(neighbours) for an empty
    DC): about 1 for LTE at any SNR, about 0 for NR. Returns ``score`` (NaN when rho < DC_MIN_RHO), ``std``
    (spread over 8 groups of symbols / sqrt 8), ``dc_hz`` and ``rho``.
    """
    power = np.abs(grid.y) ** 2  # (S, K)
    k = power.shape[1]
    dc0 = grid.bin_of(center_hz)
    cands = np.arange(dc0 - search_bins, dc0 + search_bins + 1)
    cands = cands[(cands >= 2) & (cands < k - 2)]
    out = {"score": float("nan"), "std": float("nan"), "dc_hz": None, "rho": float(rho)}
    if cands.size == 0 or power.shape[0] < 8:
        return out

    def depth(p: np.ndarray) -> np.ndarray:  # p (..., K) -> raw depth at every candidate (..., C)
        nb = (p[..., cands - 2] + p[..., cands - 1] + p[..., cands + 1] + p[..., cands + 2]) / 4
        return 1 - p[..., cands] / np.maximum(nb, 1e-30)

    raw = depth(power.mean(0))
    best = int(np.argmax(raw))
    groups = np.array_split(np.arange(power.shape[0]), 8)
    per_group = np.array([depth(power[g].mean(0))[best] for g in groups])
    scale = max(rho, DC_MIN_RHO)
    out |= {"dc_hz": grid.freq_of(int(cands[best])), "std": float(per_group.std() / np.sqrt(8) / scale)}
    if rho >= DC_MIN_RHO:
        out["score"] = float(raw[best] / scale)
    return out


def dc_null_score(iq: np.ndarray, sample_rate_hz: float, *, center_offset_hz: float, search_bins: int = 1) -> float:
    """LTE's empty DC subcarrier: ~1 when the carrier centred at ``center_offset_hz`` has one, ~0 when not.

    The PSD is measured per subcarrier (CP-synchronised 15 kHz FFTs, grid offset removed) over the span
    ``iq`` (N,); see :func:`dc_null_from_grid`. NaN when the carrier is too weak to tell (CP correlation < 0.2,
    about -6 dB SNR). Tolerates an error of the centre up to ``search_bins`` x 15 kHz.
    """
    x = ofdm_rx.check_iq(iq, sample_rate_hz)
    half = 0.9e6
    bb = ofdm_rx.extract_band(
        x,
        sample_rate_hz,
        centre_hz=center_offset_hz,
        lower_hz=center_offset_hz - half,
        upper_hz=center_offset_hz + half,
    )
    sync = ofdm_rx.cp_sync(bb, 15e3)
    grid = ofdm_rx.symbol_grid(bb, 15e3, tau0=sync.tau0, freq_offset_hz=sync.freq_offset_hz)
    return dc_null_from_grid(grid, center_offset_hz, rho=sync.rho, search_bins=search_bins)["score"]


def _dc_llr(score: float, std: float) -> float:
    """log N(score; NR) - log N(score; LTE), clipped to +-LLR_DC_LIMIT; 0 for NaN."""
    if not np.isfinite(score):
        return 0.0
    s_std = std if np.isfinite(std) else 0.0
    s_nr, s_lte = np.hypot(DC_NR_STD, s_std), np.hypot(DC_LTE_STD, s_std)
    ll_nr = -0.5 * ((score - DC_NR_MEAN) / s_nr) ** 2 - np.log(s_nr)
    ll_lte = -0.5 * ((score - DC_LTE_MEAN) / s_lte) ** 2 - np.log(s_lte)
    return float(np.clip(ll_nr - ll_lte, -LLR_DC_LIMIT, LLR_DC_LIMIT))


def carrier_evidence(
    iq: np.ndarray,
    sample_rate_hz: float,
    *,
    lower_hz: float,
    upper_hz: float,
    start: int = 0,
    count: int | None = None,
    refine: bool = True,
    max_duration_s: float | None = 0.08,
    band_complete: bool = True,
    origin_hz: float = 0.0,
) -> dict:
    """Physical-layer evidence on whether the carrier in [lower_hz, upper_hz] is NR or LTE, and its decision.

    ``iq`` (N,) complex: the recording (or a part of it), ``lower_hz`` / ``upper_hz``: the carrier's occupied band
    in Hz from the recording centre (coarse edges are fine: they are refined unless ``refine=False``),
    ``start`` / ``count``: the carrier's active span in samples (40 ms gives the full search gain; >= 5 ms
    needed for the LTE periodicity), of which the first ``max_duration_s`` are used (None: all; the cost is
    linear in the duration, 80 ms holds 16 LTE PSS and 4 NR bursts at the default 20 ms). Returns a dict:

    - ``label``: "NR", "LTE" or "unknown"; ``scores``: {"NR": p, "LTE": 1 - p}; ``llr``: their log ratio;
    - ``pci``: the physical cell ID when a standard's PSS and SSS were found (else None), ``standard_evidence``:
      one human-readable line per piece of evidence with its llr;
    - ``edges``, ``bandwidth``, ``cp``, ``lte``, ``nr``, ``dc_null``: the underlying measurements.

    The decision rule and its thresholds are in the module docstring. ``band_complete=False``: the carrier may
    extend beyond [lower_hz, upper_hz] (it is cut by the recording's band edge), so its centre and width are
    unknown: the occupied-bandwidth tables, the DC null and the absence of an LTE PSS at the centre are not used
    (they would point at NR for any cut LTE carrier); only the sync signals and the numerology count.
    ``origin_hz``: where ``iq``'s 0 Hz lies from the recording's centre when ``iq`` is a band moved to 0 Hz; the
    frequencies in the human-readable lines are given from the recording's centre (the results stay in ``iq``'s).
    """
    if not (np.isfinite(lower_hz) and np.isfinite(upper_hz) and upper_hz > lower_hz):
        raise ConfigError(f"carrier_evidence: need finite lower_hz < upper_hz, got {lower_hz}, {upper_hz}")
    n = len(iq)
    count = n - start if count is None else count
    if start < 0 or count <= 0 or start + count > n:
        raise ConfigError(f"carrier_evidence: span [{start}, {start + count}) outside the {n} samples")
    if max_duration_s is not None:
        if not max_duration_s > 0:
            raise ConfigError(f"carrier_evidence: max_duration_s must be > 0 or None, got {max_duration_s!r}")
        count = min(count, max(int(round(max_duration_s * sample_rate_hz)), 1))
    x = ofdm_rx.check_iq(np.asarray(iq)[start : start + count], sample_rate_hz)
    spectrum = ofdm_rx.span_spectrum(x)
    if refine:
        edges = refine_edges(x, sample_rate_hz, lower_hz, upper_hz, spectrum=spectrum)
    else:
        edges = {"lower_hz": lower_hz, "upper_hz": upper_hz, "resolution_hz": 240e3, "found": {}}
    lo, hi, res = edges["lower_hz"], edges["upper_hz"], edges["resolution_hz"]
    bw = bandwidth_evidence(lo, hi, resolution_hz=res)
    centre = 0.5 * (lo + hi)
    margin = 60e3
    bb = ofdm_rx.extract_band(
        x, sample_rate_hz, centre_hz=centre, lower_hz=lo - margin, upper_hz=hi + margin, spectrum=spectrum
    )
    syncs = {scs: ofdm_rx.cp_sync(bb, scs) for scs in ofdm_rx.SCS_HZ}
    best = max(syncs.values(), key=lambda s: s.rho)
    candidates = [scs for scs in ofdm_rx.SCS_HZ if not cellsearch.ruled_out(syncs, scs)]
    grid15 = None  # shared by the NR search at 15 kHz, the LTE search and the DC null
    if 15e3 in candidates:
        f_off = (best.freq_offset_hz + 7.5e3) % 15e3 - 7.5e3
        grid15 = ofdm_rx.symbol_grid(bb, 15e3, tau0=best.tau0, freq_offset_hz=f_off)
    search = {"tau0": best.tau0, "freq_offset_hz": best.freq_offset_hz, "lower_hz": lo, "upper_hz": hi}
    nr = nr_cellsearch.best_nr([
        nr_cellsearch.nr_search_numerology(bb, scs, **search, grid=grid15 if scs == 15e3 else None)
        for scs in candidates
    ])  # fmt: skip
    lte, dc = None, {"score": float("nan"), "std": float("nan"), "dc_hz": None, "rho": syncs[15e3].rho}
    if grid15 is not None:
        lte = cellsearch.lte_search_grid(grid15, center_hz=centre, max_offset_hz=max(120e3, res))
        if lte["detected"]:  # the PSS sits on the DC
            dc = dc_null_from_grid(grid15, lte["center_hz"], rho=syncs[15e3].rho, search_bins=1)
        elif res <= DC_MAX_CENTRE_ERROR_HZ:  # edges measured: the centre is known to a subcarrier
            dc = dc_null_from_grid(grid15, centre, rho=syncs[15e3].rho, search_bins=1)
        else:
            dc["reason"] = f"carrier centre uncertain (+-{res / 2e3:.0f} kHz): DC null not used"
    cp = {f"rho_{int(s / 1e3)}k": syncs[s].rho for s in syncs} | {"searched_scs_hz": candidates}
    if not band_complete:
        dc = {"score": float("nan"), "std": float("nan"), "dc_hz": None, "rho": dc["rho"], "reason": "band cut"}
    items = _combine(syncs, lte, nr, dc, bw, band_complete=band_complete, origin_hz=origin_hz)
    llr = float(sum(v for v, _ in items))
    both = lte is not None and lte.get("pci") is not None and nr.get("pci") is not None
    if both:
        label = "unknown"
        items.append((0.0, "both an LTE and an NR cell found (spectrum sharing or two carriers?): unknown"))
    else:
        label = "NR" if llr >= DECISION_LLR else "LTE" if llr <= -DECISION_LLR else "unknown"
    p_nr = float(1 / (1 + np.exp(-np.clip(llr, -50, 50))))
    pci = None if both else nr.get("pci") if label == "NR" else lte.get("pci") if label == "LTE" and lte else None
    return {
        "label": label,
        "scores": {"NR": p_nr, "LTE": 1 - p_nr},
        "llr": llr,
        "pci": pci,
        "standard_evidence": [f"{reason} (llr {v:+.1f})" for v, reason in items],
        "edges": edges,
        "bandwidth": bw,
        "cp": cp,
        "lte": lte,
        "nr": nr,
        "dc_null": dc,
    }


def _combine(
    syncs: dict, lte: dict | None, nr: dict, dc: dict, bw: dict, *, band_complete: bool = True, origin_hz: float = 0.0
) -> list[tuple[float, str]]:
    """The (llr, reason) of each piece of evidence (module docstring table)."""
    items = []
    rho15, rho30 = syncs[15e3].rho, syncs[30e3].rho
    if cellsearch.ruled_out(syncs, 15e3):
        reason = f"CP correlation shows 30 kHz subcarriers (rho {rho30:.2f} vs {rho15:.2f} at 15 kHz)"
        items.append((LLR_SCS30, reason))
    elif cellsearch.ruled_out(syncs, 30e3):
        items.append((0.0, f"CP correlation shows 15 kHz subcarriers (rho {rho15:.2f}): LTE or NR"))
    else:
        items.append((0.0, f"no clear OFDM numerology (CP rho {rho15:.2f} at 15 kHz, {rho30:.2f} at 30 kHz)"))
    if lte is not None and lte["detected"]:
        if lte.get("pci") is not None:
            items.append((-LLR_SYNC_PCI, f"LTE PSS z {lte['z']:.1f} and SSS z {lte['sss_z']:.1f}: PCI {lte['pci']}"))
        else:
            items.append((-LLR_SYNC_PSS, f"LTE PSS N_ID2 {lte['n_id2']} z {lte['z']:.1f}, SSS not confirmed"))
    elif lte is not None and rho15 >= RHO_STRONG and band_complete:
        items.append((LLR_NO_LTE_PSS, f"no LTE PSS at the centre of a strong 15 kHz carrier (z {lte['z']:.1f})"))
    if nr["detected"]:
        where = f"SSB at {(nr['ssb_center_hz'] + origin_hz) / 1e6:.3f} MHz, {nr['scs_hz'] / 1e3:.0f} kHz"
        if nr.get("pci") is not None:
            items.append(
                (LLR_SYNC_PCI, f"NR PSS z {max(nr['z'], nr['z_burst']):.1f} and SSS: PCI {nr['pci']} ({where})")
            )
        else:
            items.append((LLR_SYNC_PSS, f"NR PSS z {max(nr['z'], nr['z_burst']):.1f}, SSS not confirmed ({where})"))
    if np.isfinite(dc["score"]):
        items.append((_dc_llr(dc["score"], dc["std"]), f"DC-null depth {dc['score']:.2f} (LTE ~1, NR ~0)"))
    best = bw["matches"][0]
    if not band_complete:
        items.append((0.0, f"carrier cut by the band edge ({bw['width_hz'] / 1e6:.3f} MHz seen): width not used"))
        return items
    items.append(
        (
            bw["llr_nr"],
            f"occupied {bw['width_hz'] / 1e6:.3f} MHz +- {bw['sigma_hz'] / 1e3:.0f} kHz, closest {best['standard']} "
            f"{best['channel_bandwidth_mhz']:g} MHz {best['scs_hz'] / 1e3:.0f} kHz ({best['delta_hz'] / 1e3:+.0f} kHz)",
        )
    )
    return items
