"""Occupied bandwidth of an LTE or NR carrier: the 3GPP tables, a likelihood per standard, and edges at ~15 kHz.

Tables (occupied bandwidth = the resource grid, edges half a subcarrier beyond the outermost subcarriers):

- LTE, 36.101 Table 5.6-1 (= 36.104 Table 5.6-1): channel bandwidth 1.4 / 3 / 5 / 10 / 15 / 20 MHz ->
  N_RB 6 / 15 / 25 / 50 / 75 / 100 at 15 kHz; the downlink leaves the DC subcarrier empty *inside* the grid,
  so the occupied band is (12 N_RB + 1) x 15 kHz (0.9 x channel bandwidth + 15 kHz; 1.095 MHz at 1.4 MHz).
- NR FR1, 38.101-1 Table 5.3.2-1 (Rel-15 values; maximum transmission bandwidth configuration), occupied band
  12 N_RB x SCS:

  | SCS | 5 | 10 | 15 | 20 | 25 | 30 | 40 | 50 | 60 | 80 | 90 | 100 MHz |
  |---|---|---|---|---|---|---|---|---|---|---|---|---|
  | 15 kHz | 25 | 52 | 79 | 106 | 133 | 160 | 216 | 270 | - | - | - | - |
  | 30 kHz | 11 | 24 | 38 | 51 | 65 | 78 | 106 | 133 | 162 | 217 | 245 | 273 |

  (Later releases add 35/45/70 MHz channels; they are not listed here.) An NR carrier may also be configured
  narrower than its channel (a smaller carrier or BWP): then it matches no entry, which is reported as such.

Close pairs that need ~15 kHz edges to separate: LTE 5 MHz (4.515 MHz) vs NR 15 kHz 5 MHz (4.500 MHz); LTE 15 MHz
(13.515) vs NR 30 kHz 15 MHz (13.680); LTE 10 MHz (9.015) vs NR 30 kHz 10 MHz (8.640) and NR 15 kHz 10 MHz
(9.360). On the annotate grid (240 kHz) only the last pair and LTE 20 MHz (18.015) vs NR 30 kHz 20 MHz (18.36)
are resolved; hence :func:`refine_edges`.
"""

from __future__ import annotations

import itertools

import numpy as np

from radiofm.dsp.ofdm_rx import span_spectrum

LTE_N_RB = {1.4: 6, 3: 15, 5: 25, 10: 50, 15: 75, 20: 100}  # 36.101 Table 5.6-1
NR_N_RB = {  # 38.101-1 Table 5.3.2-1, FR1, channel bandwidth MHz -> N_RB
    15e3: {5: 25, 10: 52, 15: 79, 20: 106, 25: 133, 30: 160, 40: 216, 50: 270},
    30e3: {5: 11, 10: 24, 15: 38, 20: 51, 25: 65, 30: 78, 40: 106, 50: 133, 60: 162, 80: 217, 90: 245, 100: 273},
}
EDGE_SIGMA_FLOOR_HZ = 4e3  # accuracy floor of a measured width (fading, sinc tails: errors up to ~7 kHz at 30 kHz)
BW_LLR_LIMIT = 2.0  # the bandwidth alone never decides (see radiofm.dsp.evidence)


def carrier_table() -> list[dict]:
    """Every tabulated configuration: dicts with standard, channel_bandwidth_mhz, scs_hz, n_rb, occupied_hz."""
    rows = [
        {"standard": "LTE", "channel_bandwidth_mhz": bw, "scs_hz": 15e3, "n_rb": n, "occupied_hz": (12 * n + 1) * 15e3}
        for bw, n in LTE_N_RB.items()
    ]
    for scs, table in NR_N_RB.items():
        rows += [
            {"standard": "NR", "channel_bandwidth_mhz": bw, "scs_hz": scs, "n_rb": n, "occupied_hz": 12 * n * scs}
            for bw, n in table.items()
        ]
    return rows


def bandwidth_evidence(lower_hz: float, upper_hz: float, *, resolution_hz: float) -> dict:
    """How well the occupied band [lower_hz, upper_hz] matches the LTE and NR tables.

    Each edge is taken as known to +- resolution_hz / 2 (uniform), so the width has standard deviation
    sigma = sqrt(resolution^2 / 6 + floor^2). The likelihood of a configuration is exp(-delta^2 / (2 sigma^2));
    a standard's score is its best configuration's likelihood (1: exact match; < 0.01: more than 3 sigma off).
    Returns ``width_hz``, ``sigma_hz``, ``scores`` {"NR", "LTE"}, ``llr_nr`` = log(NR / LTE score) clipped to
    +-2 (0 when neither matches within 4 sigma), and ``matches``: the three closest configurations with their
    ``delta_hz`` and ``likelihood``.
    """
    width = float(upper_hz - lower_hz)
    sigma = float(np.sqrt(resolution_hz**2 / 6 + EDGE_SIGMA_FLOOR_HZ**2))
    rows = carrier_table()
    for r in rows:
        r["delta_hz"] = width - r["occupied_hz"]
        r["likelihood"] = float(np.exp(-0.5 * (r["delta_hz"] / sigma) ** 2))
    scores = {s: max(r["likelihood"] for r in rows if r["standard"] == s) for s in ("NR", "LTE")}
    floor = float(np.exp(-0.5 * 16))  # 4 sigma
    if max(scores.values()) < floor:
        llr = 0.0
    else:
        llr = float(
            np.clip(np.log(max(scores["NR"], 1e-300) / max(scores["LTE"], 1e-300)), -BW_LLR_LIMIT, BW_LLR_LIMIT)
        )
    matches = sorted(rows, key=lambda r: abs(r["delta_hz"]))[:3]
    return {"width_hz": width, "sigma_hz": sigma, "scores": scores, "llr_nr": llr, "matches": matches}


def refine_edges(
    iq: np.ndarray,
    sample_rate_hz: float,
    lower_hz: float,
    upper_hz: float,
    *,
    search_hz: float = 360e3,
    resolution_hz: float = 3.75e3,
    step_hz: float = 45e3,
    spectrum: np.ndarray | None = None,
) -> dict:
    """Occupied band edges measured to a few kHz near coarse ones (e.g. the 240 kHz annotate grid).

    Within +-``search_hz`` of each coarse edge, the periodogram of the span (bins fs / N: 25 Hz over 40 ms) is
    matched to a step: r(f) = mean power over [f, f + step_hz] minus mean over [f - step_hz, f] (mirrored for
    the upper edge), computed at every bin. A step's response peaks exactly at the step, and an OFDM spectrum
    steps at its grid edge (half-power point of the subcarriers' sinc^2 sum). The edge is the outermost local
    maximum of r (the maximum within ``step_hz`` after the outermost point above half its largest value): fading
    dips inside the band do not matter, nor does the band's level near the edge (the step is relative). An edge is
    ``found`` when its step is >= 6 noise standard deviations (the floor over sqrt(step / bin) bins) and sharp
    (the same difference over step_hz / 3 keeps >= 0.6 of it), and ``confident`` when the step also reaches 0.4
    of the band's level above the floor: a step below that may be a faded edge, or the end of a fade inside the band,
    so its position is not trusted.

    Returns ``lower_hz``, ``upper_hz`` (the coarse value where not found), ``found`` and ``confident`` (per
    edge), ``level_db`` and ``floor_db`` (mean power inside / outside, from medians, dB of |FFT|^2) and
    ``resolution_hz``: the uncertainty to give :func:`bandwidth_evidence` (``resolution_hz`` x max(1, 30 sigma /
    step) when both edges are confident, else the whole search range, 2 x ``search_hz``).
    """
    x = np.asarray(iq, dtype=np.complex64)
    n = x.size
    df = sample_rate_hz / n
    spec = span_spectrum(x) if spectrum is None else spectrum
    width = upper_hz - lower_hz
    search = float(min(search_hz, 0.3 * width))
    lo_f, hi_f = lower_hz - search - 2 * step_hz - 300e3, upper_hz + search + 2 * step_hz + 300e3
    k = np.arange(int(np.floor(lo_f / df)), int(np.ceil(hi_f / df)) + 1)
    ok = np.abs(k) < n / 2
    power = np.zeros(k.size, dtype=np.float64)
    power[ok] = np.abs(spec[k[ok] % n]) ** 2
    freqs = k * df
    csum = np.concatenate([[0.0], np.cumsum(power)])
    w = max(1, int(round(step_hz / df)))

    def box_mean(i0: np.ndarray) -> np.ndarray:  # mean of power[i0 : i0 + w]
        return (csum[i0 + w] - csum[i0]) / w

    def median_in(a: float, b: float) -> float:
        sel = (freqs >= min(a, b)) & (freqs <= max(a, b))
        return float(np.median(power[sel])) if sel.any() else float("nan")

    # exponential periodogram bins: mean = median / ln 2 (medians ignore a neighbour carrier in part of a region)
    floor = np.nanmin([median_in(lower_hz - search, lo_f), median_in(upper_hz + search, hi_f)]) / np.log(2)
    inner = (lower_hz + search, upper_hz - search) if width > 2 * search else (lower_hz, upper_hz)
    level = median_in(*inner) / np.log(2)
    sigma = floor * np.sqrt(2.0 / w)  # std of a difference of two w-bin means of noise (exponential bins)
    wn = max(1, w // 3)
    result = {"found": {}, "confident": {"lower_hz": False, "upper_hz": False}}
    peaks = []
    for name, edge, inward in (("lower_hz", lower_hz, +1.0), ("upper_hz", upper_hz, -1.0)):
        zone = np.flatnonzero((freqs >= edge - search) & (freqs <= edge + search))
        zone = zone[(zone - w >= 0) & (zone + w < power.size)]
        r = inward * (box_mean(zone) - box_mean(zone - w))  # (inside mean - outside mean) at each bin
        order = zone if inward > 0 else zone[::-1]  # from outside to inside
        r = r if inward > 0 else r[::-1]
        result[name], result["found"][name] = float(edge), False
        if r.size < 3 or not np.isfinite(sigma) or r.max() < 6 * sigma:
            continue
        j0 = int(np.argmax(r >= 0.5 * r.max()))  # outermost point above half the largest response
        i = j0 + int(np.argmax(r[j0 : j0 + w + 1]))  # the step's peak lies within step_hz of it
        c = int(order[i])
        narrow = inward * (power[c : c + wn].mean() - power[c - wn : c].mean())
        sharp = narrow >= 0.6 * r[i] - 3 * floor * np.sqrt(2.0 / wn)  # a grid edge, not a gradual fade
        if sharp:
            result[name], result["found"][name] = float(freqs[c] - 0.5 * df), True
            # a step well below the band's level may be a faded edge or a fade's end inside: found, not trusted
            result["confident"][name] = bool(r[i] >= 0.4 * (level - floor))
            peaks.append(float(r[i]))
    result["level_db"] = float(10 * np.log10(max(level, 1e-30)))
    result["floor_db"] = float(10 * np.log10(max(floor, 1e-30)))
    if all(result["confident"].values()):
        result["resolution_hz"] = float(resolution_hz * max(1.0, 30 * sigma / min(peaks)))
    else:
        result["resolution_hz"] = float(2 * search)
    return result


def lte_band_at_centre(
    iq: np.ndarray,
    sample_rate_hz: float,
    centre_hz: float,
    *,
    step_hz: float = 45e3,
    min_z: float = 8.0,
    min_step_db: float = 1.0,
    centre_tolerance_hz: float = 15e3,
    spectrum: np.ndarray | None = None,
) -> dict | None:
    """The occupied band of an LTE carrier whose centre (its DC subcarrier, e.g. from the PSS) is known.

    Given the centre, an LTE carrier can only occupy one of six bands, centre +- (90 kHz N_RB + 7.5 kHz) for
    N_RB in 36.101 Table 5.6-1. For each that fits inside the span, the periodogram's step at both edges is
    measured as in :func:`refine_edges` (mean power over ``step_hz`` inside minus outside) and turned into a
    z-score (by the std of that difference for exponential periodogram bins); the band is the candidate whose
    weaker edge has the largest z. Accepted when that z is >= ``min_z`` and both steps are >= ``min_step_db``:
    the reference signals span the whole grid in every subframe, so even an idle cell shows its edges, which
    the spectrogram model may not (a faint carrier, a box cut short). The centre is tried on the 15 kHz grid
    within +- ``centre_tolerance_hz`` (a PSS whose SSS was not confirmed may sit a few subcarriers off). Returns
    ``n_rb``, ``lower_hz``, ``upper_hz`` (Hz from the recording centre), ``z`` and ``step_db`` (of the weaker
    edge), or None.
    """
    x = np.asarray(iq, dtype=np.complex64)
    n = x.size
    df = sample_rate_hz / n
    spec = span_spectrum(x) if spectrum is None else spectrum
    power = np.fft.fftshift(np.abs(spec).astype(np.float64) ** 2)  # bin j at (j - n // 2) * df
    csum = np.concatenate([[0.0], np.cumsum(power)])
    w = max(1, int(round(step_hz / df)))

    def mean_from(f_hz: float) -> float:  # mean power over [f_hz, f_hz + step_hz)
        j = int(round(f_hz / df)) + n // 2
        return float((csum[j + w] - csum[j]) / w)

    best = None
    shifts = 15e3 * np.arange(-int(centre_tolerance_hz // 15e3), int(centre_tolerance_hz // 15e3) + 1)
    for n_rb, shift in itertools.product(sorted(LTE_N_RB.values()), shifts):
        half = 90e3 * n_rb + 7.5e3
        lo, hi = centre_hz + shift - half, centre_hz + shift + half
        if lo - 2 * step_hz < -0.49 * sample_rate_hz or hi + 2 * step_hz > 0.49 * sample_rate_hz:
            continue
        edges = []
        for inside, outside in ((mean_from(lo), mean_from(lo - step_hz)), (mean_from(hi - step_hz), mean_from(hi))):
            z = (inside - outside) / max(np.sqrt((inside**2 + outside**2) / w), 1e-300)
            edges.append((z, 10 * np.log10(max(inside, 1e-300) / max(outside, 1e-300))))
        z, step_db = min(e[0] for e in edges), min(e[1] for e in edges)
        if best is None or z > best["z"]:
            best = {"n_rb": n_rb, "lower_hz": lo, "upper_hz": hi, "z": float(z), "step_db": float(step_db)}
    if best is None or best["z"] < min_z or best["step_db"] < min_step_db:
        return None
    return best
