"""Captures: plan 1–3 NR/LTE carriers in adjacent channels, render each, add noise and receiver impairments.

Signal chain of one carrier (every random draw from the generator passed in, in a fixed order):
cell + traffic → resource grid (:mod:`.lte` / :mod:`.nr_grid`) → gating (``gated``: grid slots outside the
on-span zeroed) → CP-OFDM with windowing (:mod:`.ofdm`) → the capture's window of the carrier's timeline
(the capture starts ``timing_offset_samples`` after the start of radio frame 0, drawn over 0–20 ms) →
optional channel filter → level → TDL fading → shift to the channel centre + CFO. The capture is the sum of
the carriers + complex white Gaussian noise, then receiver IQ imbalance and LO leakage (DC), then one gain
that sets the mean capture power.

Levels: with noise power σ² per sample (so σ²/N_FFT per subcarrier bandwidth Δf), a carrier with in-band
SNR ``snr_db`` gives each RE of unit value the power ``10^(snr_db/10)·σ²/N_FFT``: ``snr_db`` is the SNR of a
fully loaded carrier (every RE at the 0 dB PDSCH reference) against the noise in the same band, and
``psd_db`` that carrier's PSD in dB re full scale per Hz (= noise PSD + ``snr_db``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from radiofm.synth.nrlte_alt import channel as ch
from radiofm.synth.nrlte_alt import grid as g
from radiofm.synth.nrlte_alt import ofdm
from radiofm.synth.nrlte_alt.lte import LTE_NRB, LteCell, build_lte_grid, draw_lte_cell
from radiofm.synth.nrlte_alt.nr import NR_NRB, NrCell, draw_nr_cell
from radiofm.synth.nrlte_alt.nr_grid import build_nr_grid
from radiofm.synth.nrlte_alt.traffic import BASE_REGIMES, MATLAB_LTE_RC, MATLAB_NR_BANDWIDTHS_MHZ, Traffic

BAND_FRACTION = 0.95  # channels lie inside |f| < 0.95·fs/2
SNR_RANGE_DB = (-5.0, 30.0)
TRAIN_SNR_MEAN_DB, TRAIN_SNR_STD_DB = 12.0, 7.0
CAPTURE_POWER_DB = (-15.0, -5.0)  # mean power of the whole capture, dB re 1 (full scale)
CFO_MAX_HZ = 350.0  # ±0.1 ppm at 3.5 GHz
MIN_GATE_S = 5e-3


@dataclass(frozen=True)
class CarrierPlan:
    """Everything random about one carrier except its fading, data and per-slot traffic draws."""

    cell: LteCell | NrCell
    traffic: str  # regime name reported in the metadata ("gated" included)
    inner_traffic: str  # the regime that fills the on-slots
    center_hz: float  # channel centre (the carrier's DC) relative to the capture centre
    snr_db: float
    timing_offset_samples: int  # capture sample 0 is this many samples after the start of radio frame 0
    gate_slots: tuple[int, int] | None  # absolute [first, stop) slots the carrier is on; None = always
    channel: ch.ChannelSpec
    cfo_hz: float
    window_len: int  # WOLA ramp, samples
    tx_filter: bool
    matlab_rc: str | None = None

    @property
    def kind(self) -> str:
        return "LTE" if isinstance(self.cell, LteCell) else "NR"

    @property
    def scs_hz(self) -> float:
        return 15e3 if isinstance(self.cell, LteCell) else self.cell.scs_hz


def occupied_edges(plan: CarrierPlan) -> tuple[float, float]:
    """(lower, upper) occupied edges in Hz relative to the capture centre."""
    lo, hi = ofdm.occupied_edges_hz(12 * plan.cell.n_rb, plan.scs_hz, plan.kind == "LTE")
    return plan.center_hz + lo, plan.center_hz + hi


def _draw_carrier_kind(rng: np.random.Generator, regimes: list[str], fs: float) -> tuple[str, str, str, float, dict]:
    """(kind, regime, inner regime, channel bandwidth, extra) for one carrier, bandwidth fitting the band."""
    kind = "NR" if rng.random() < 0.5 else "LTE"
    regime = str(rng.choice(regimes))
    base = [r for r in regimes if r in BASE_REGIMES] or list(BASE_REGIMES)
    inner = str(rng.choice(base)) if regime == "gated" else regime
    limit = BAND_FRACTION * fs
    if kind == "LTE":
        if inner == "matlab":
            fitting = [rc for rc, (bw, _, _) in MATLAB_LTE_RC.items() if bw * 1e6 <= limit]
            rc = str(rng.choice(fitting))
            return kind, regime, inner, MATLAB_LTE_RC[rc][0] * 1e6, {"matlab_rc": rc}
        options = [bw for bw in LTE_NRB if bw <= limit]
        return kind, regime, inner, float(rng.choice(options)), {}
    scs = 15e3 if rng.random() < 0.5 else 30e3
    options = [bw for bw, n_rb in NR_NRB[scs].items() if bw <= limit and 12 * n_rb < fs / scs]
    if inner == "matlab":
        options = [bw for bw in options if bw / 1e6 in MATLAB_NR_BANDWIDTHS_MHZ]
    return kind, regime, inner, float(rng.choice(options)), {"scs_hz": scs}


def plan_scene(
    rng: np.random.Generator, *, split: str, regimes: list[str], sample_rate_hz: float, n_samples: int
) -> list[CarrierPlan]:
    """1–3 carriers in random order with random gaps inside the observable band."""
    fs = sample_rate_hz
    limit = BAND_FRACTION * fs
    n = int(rng.choice([1, 2, 3], p=[0.25, 0.4, 0.35]))
    for attempt in range(200):
        drawn = [_draw_carrier_kind(rng, regimes, fs) for _ in range(n)]
        if sum(d[3] for d in drawn) <= limit:
            break
        if attempt % 50 == 49 and n > 1:
            n -= 1
    spare = limit - sum(d[3] for d in drawn)
    gaps = rng.dirichlet(np.ones(n + 1)) * spare
    edge = -limit / 2
    plans = []
    for i, (kind, regime, inner, bw, extra) in enumerate(drawn):
        edge += gaps[i]
        centre = edge + bw / 2
        edge += bw
        if kind == "LTE":
            cell = draw_lte_cell(rng, bw, inner)
        else:
            cell = draw_nr_cell(rng, extra["scs_hz"], bw, inner)
        scs = 15e3 if kind == "LTE" else extra["scs_hz"]
        _, cp, slot_len = ofdm.slot_layout(scs, fs)
        if split == "train":
            snr = float(np.clip(rng.normal(TRAIN_SNR_MEAN_DB, TRAIN_SNR_STD_DB), *SNR_RANGE_DB))
        else:
            snr = float(rng.uniform(*SNR_RANGE_DB))
        t0 = int(rng.integers(0, int(0.020 * fs)))
        gate = _draw_gate(rng, t0, n_samples, slot_len, fs) if regime == "gated" else None
        plans.append(
            CarrierPlan(
                cell=cell,
                traffic=regime,
                inner_traffic=inner,
                center_hz=float(centre),
                snr_db=snr,
                timing_offset_samples=t0,
                gate_slots=gate,
                channel=ch.draw_channel(rng),
                cfo_hz=float(rng.uniform(-CFO_MAX_HZ, CFO_MAX_HZ)),
                window_len=int(rng.uniform(0, 0.5) * cp.min()),
                tx_filter=bool(rng.random() < 0.5),
                matlab_rc=extra.get("matlab_rc"),
            )
        )
    return plans


def _draw_gate(rng: np.random.Generator, t0: int, n_samples: int, slot_len: int, fs: float) -> tuple[int, int]:
    """Absolute [start, stop) slots, both boundaries strictly inside the capture, ≥ 5 ms (or all it allows)."""
    first = t0 // slot_len + 1  # first slot starting after the capture's first sample
    last = (t0 + n_samples - 1) // slot_len  # the slot containing the last sample; stop ≤ last keeps it inside
    avail = last - first
    min_len = min(int(np.ceil(MIN_GATE_S * fs / slot_len)), max(avail, 1))
    length = int(rng.integers(min_len, max(avail, min_len) + 1))
    start = first + int(rng.integers(0, max(avail - length, 0) + 1))
    return start, start + length


SSB_KINDS = (g.PSS, g.SSS, g.PBCH, g.PBCH_DMRS)  # the resource elements of an SS/PBCH block


def render_carrier(
    plan: CarrierPlan, rng: np.random.Generator, sample_rate_hz: float, n_samples: int
) -> tuple[np.ndarray, object]:
    """(n_samples,) complex64 of one carrier at unit noise power (σ² = 1), and its resource grid."""
    grid = carrier_grid(plan, rng, sample_rate_hz, n_samples)
    layout = {"scs_hz": plan.scs_hz, "sample_rate_hz": sample_rate_hz, "lte_dc": plan.kind == "LTE",
              "window_len": plan.window_len}  # fmt: skip
    if getattr(plan.cell, "ssb_half", False):  # the SS blocks on their own grid, half a subcarrier up
        ssb = np.isin(grid.kind, SSB_KINDS)
        x = ofdm.modulate(np.where(ssb, 0, grid.values), **layout)
        x += ofdm.modulate(np.where(ssb, grid.values, 0), half_subcarrier=True, **layout)
    else:
        x = ofdm.modulate(grid.values, **layout)
    return transmit(plan, x, rng, sample_rate_hz, n_samples), grid


def carrier_grid(plan: CarrierPlan, rng: np.random.Generator, sample_rate_hz: float, n_samples: int):
    """The carrier's resource grid over the whole slots holding capture samples [0, n_samples) (traffic and data
    drawn from ``rng``; gated-off slots emptied): the first half of :func:`render_carrier`."""
    t0, lte = plan.timing_offset_samples, plan.kind == "LTE"
    _, _, slot_len = ofdm.slot_layout(plan.scs_hz, sample_rate_hz)
    first = t0 // slot_len
    n_slots = -(-(t0 + n_samples) // slot_len) - first
    traffic = Traffic(plan.inner_traffic, plan.cell.n_rb, lte, rng, plan.matlab_rc)
    build = build_lte_grid if lte else build_nr_grid
    grid = build(plan.cell, traffic, first, n_slots, rng)
    if plan.gate_slots is not None:
        on = np.zeros(n_slots, bool)
        on[max(plan.gate_slots[0] - first, 0) : max(plan.gate_slots[1] - first, 0)] = True
        off = np.repeat(~on, 14)
        grid.values[off] = 0
        grid.kind[off] = 0
    return grid


def transmit(plan: CarrierPlan, x: np.ndarray, rng: np.random.Generator, sample_rate_hz: float, n_samples: int):
    """The second half of :func:`render_carrier`: the OFDM waveform ``x`` of :func:`carrier_grid`'s slots (unit
    subcarrier amplitude, no 1/N in the IFFT) cut to the capture, through the transmit filter, scaled to the
    plan's SNR, faded (draws from ``rng``) and moved to the carrier's centre: (n_samples,) complex64."""
    fs, t0 = sample_rate_hz, plan.timing_offset_samples
    n_fft, _, slot_len = ofdm.slot_layout(plan.scs_hz, fs)
    x = x[t0 % slot_len : t0 % slot_len + n_samples]
    if plan.tx_filter:
        lo, hi = ofdm.occupied_edges_hz(12 * plan.cell.n_rb, plan.scs_hz, plan.kind == "LTE")
        x = ch.tx_filter(x, fs, lo, hi, 0.5 * plan.cell.bandwidth_hz - max(-lo, hi))
    x *= np.float32(np.sqrt(10 ** (plan.snr_db / 10) / n_fft))
    x = ch.apply_tdl(x, fs, plan.channel, rng)
    return ch.mix(x, plan.center_hz + plan.cfo_hz, fs)


def gate_span(plan: CarrierPlan, sample_rate_hz: float, n_samples: int) -> tuple[int, int]:
    """(sample_start, sample_count) of the carrier's active span within the capture."""
    if plan.gate_slots is None:
        return 0, n_samples
    _, _, slot_len = ofdm.slot_layout(plan.scs_hz, sample_rate_hz)
    a = max(plan.gate_slots[0] * slot_len - plan.timing_offset_samples, 0)
    b = min(plan.gate_slots[1] * slot_len - plan.timing_offset_samples, n_samples)
    return int(a), int(max(b - a, 0))


def replace(plan: CarrierPlan, **changes) -> CarrierPlan:
    """A copy of ``plan`` with fields changed (e.g. ``channel=ChannelSpec()`` for a clean carrier in tests)."""
    return dataclasses.replace(plan, **changes)
