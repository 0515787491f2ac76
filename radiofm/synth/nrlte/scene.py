"""One 40 ms capture at 61.44 MS/s: draw carriers, place them, fade them, add noise; spectrogram and labels.

Scene mix ([ours]; the MATLAB example this follows mixes one NR and one LTE carrier):

| carriers | probability |
|---|---|
| one NR + one LTE | 0.6 |
| NR only | 0.1 |
| LTE only | 0.1 |
| two NR | 0.1 |
| two LTE | 0.1 |

Placement: each carrier occupies its nominal channel bandwidth (which includes its guard bands). The channels
are put in random order left to right inside the observable span [-30.72, +30.72) MHz with random gaps
(a flat Dirichlet split of the free spectrum), so they are adjacent, never overlap and never leave the span;
centres are snapped to the carrier's SCS raster (the FFT bin grid). Combinations wider than 61 MHz are redrawn.

Traffic: each carrier draws its regime (random, matlab, full, idle, gated) from the mix given to
:func:`make_frame` (:mod:`~radiofm.synth.nrlte.traffic` has the table) and its knobs from
:func:`~radiofm.synth.nrlte.nr.draw_nr` / :func:`~radiofm.synth.nrlte.lte.draw_lte`; an LTE carrier also its
frame structure (FDD, TDD or FDD with MBSFN subframes) from the frame mix given (default
:data:`~radiofm.synth.nrlte.lte.FRAME_MIX`). Its frame is circularly
shifted by ``time_shift_symbols`` whole symbols. A carrier is on for the whole capture unless gated: then for
one slot-aligned span >= 5 ms (``sample_start``, ``sample_count``; the label and the SigMF annotation follow it).

Levels ([ours]; paper A's numbers are lost). A carrier's power spectral density is drawn uniformly in
[-5, 0] dB, where 0 dB is the PSD at which a signal filling the whole 61.44 MHz span would have power 1.
The noise power over the whole span, ``noise_power_db``, is drawn per capture (paper A: train normal, so that
noisy frames do not dominate the loss; test uniform, so that every noise level counts alike):

- ``split="train"``: normal, mean -15 dB, standard deviation 6 dB, clipped to [-30, 0] dB;
- ``split="test"``: uniform in [-30, 0] dB.

A carrier's in-band SNR is ``psd_db - noise_power_db``, so it always lies in [-5, +30] dB: on the test split
its density is flat over [0, 25] dB and falls linearly to zero at -5 and +30 dB (the sum of the two uniform
draws); on the train split it has mean 12.5 dB and standard deviation about 6.2 dB. Its power is
``psd_db + 10 log10(occupied bandwidth / 61.44 MHz)``; both are recorded per carrier. They refer to a PDSCH
resource element (the carrier at full load): where only part of the PRBs are scheduled the average power is
lower; boosted reference signals and SS blocks are above it. Fading has unit average power gain, so these are
also averages over channel realisations. Receiver impairments (CFO, DC spike, IQ imbalance) follow, once per
capture (:mod:`~radiofm.synth.nrlte.receiver`).

Channels: NR carriers through TDL-A/B/C (38.901) with delay spread 30-300 ns (log-uniform) and Doppler
0-500 Hz; LTE through the 36.101 conditions EPA5, EVA5, EVA70, ETU70, ETU300 (matlab regime: Doppler 0, 10 or
500 Hz for both). The channel is applied on the
resource grid, per OFDM symbol (``channels.frequency_response`` sampled at each symbol's centre): exact when
the delay spread fits the cyclic prefix (ETU's 5 us exceeds the 4.7 us CP slightly; the small ISI is left out)
and an order of magnitude cheaper than filtering 2.5 M samples per tap.

Images: see :func:`frame_spectrogram` and :func:`label_image`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiofm.dsp.frontend import col_samples, frame_spectrogram, row_freqs_hz, stft_params  # noqa: F401 (re-exported)
from radiofm.synth.channels import frequency_response
from radiofm.synth.nrlte import lte, nr, receiver, traffic
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ, add_block, modulate, numerology, symbol_starts

CLASSES = ("noise", "NR", "LTE")
CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}
CENTER_FREQ_HZ = 3.5e9  # nominal RF centre written to SigMF ([ours]; nothing in the images depends on it)
SPAN_HZ = SAMPLE_RATE_HZ
MAX_TOTAL_BANDWIDTH_HZ = 61.0e6
MIXES = ((("NR", "LTE"), 0.6), (("NR",), 0.1), (("LTE",), 0.1), (("NR", "NR"), 0.1), (("LTE", "LTE"), 0.1))
CARRIER_PSD_DB = (-5.0, 0.0)
NOISE = {
    "train": {"distribution": "normal", "mean_db": -15.0, "std_db": 6.0, "clip_db": [-30.0, 0.0]},
    "test": {"distribution": "uniform", "low_db": -30.0, "high_db": 0.0},
}
SNR_DB = (-5.0, 30.0)  # the in-band SNR range these imply: CARRIER_PSD_DB minus the noise range


@dataclass
class Carrier:
    """A placed carrier: its configuration, where it sits (FFT bins of its SCS), its level and active span."""

    kind: str  # "NR" or "LTE"
    config: nr.NRConfig | lte.LTEConfig
    centre_bin: int  # carrier centre, in units of its SCS from the capture centre
    psd_db: float
    sample_start: int
    sample_count: int
    traffic: str = "random"  # the regime drawn from the mix ("gated" wraps config.traffic)
    gate_mode: str | None = None  # gated: "off", "on" or "burst" (see traffic.gate_rows)

    @property
    def scs_hz(self) -> float:
        return self.config.scs_hz

    def bins(self) -> tuple[int, int]:
        """Lowest and highest occupied FFT bin (SCS units, relative to the capture centre)."""
        if self.kind == "NR":
            return nr.subcarrier_bins(self.config, self.centre_bin)
        b = lte.subcarrier_bins(self.config, self.centre_bin)
        return int(b[0]), int(b[-1])

    def edges_hz(self) -> tuple[float, float]:
        """Occupied band (resource-grid edges), Hz relative to the capture centre."""
        lo, hi = self.bins()
        return (lo - 0.5) * self.scs_hz, (hi + 0.5) * self.scs_hz

    def to_dict(self, noise_power_db: float, cfo_hz: float = 0.0) -> dict:
        """Plain-dict metadata: placement, level, span, traffic and every drawn knob; edges include ``cfo_hz``."""
        lo, hi = self.edges_hz()
        occupied = hi - lo
        cfg = self.config.to_dict()
        grid_regime = cfg.pop("traffic")
        return {
            "type": self.kind,
            "bandwidth_hz": float(cfg.pop("bandwidth_mhz")) * 1e6,
            "scs_hz": cfg.pop("scs_hz"),
            "centre_offset_hz": (lo + hi) / 2 + cfo_hz,
            "lower_edge_hz": lo + cfo_hz,
            "upper_edge_hz": hi + cfo_hz,
            "occupied_bandwidth_hz": occupied,
            "psd_db": self.psd_db,
            "power_db": self.psd_db + 10 * np.log10(occupied / SPAN_HZ),
            "snr_db": self.psd_db - noise_power_db,
            "channel": cfg.pop("profile"),
            "doppler_hz": cfg.pop("doppler_hz"),
            "reference_channel": cfg.pop("reference_channel", None),
            "sample_start": self.sample_start,
            "sample_count": self.sample_count,
            "traffic": self.traffic,
            "gate_traffic": grid_regime if self.traffic == "gated" else None,
            "gate_mode": self.gate_mode,
            "cfo_hz": cfo_hz,
            **cfg,
        }


def draw_noise_power_db(rng: np.random.Generator, split: str) -> float:
    """Noise power over the whole span (dB, see module docstring) for ``split`` "train" or "test"."""
    p = NOISE[split]
    if p["distribution"] == "normal":
        return float(np.clip(rng.normal(p["mean_db"], p["std_db"]), *p["clip_db"]))
    return float(rng.uniform(p["low_db"], p["high_db"]))


def _draw_configs(
    rng: np.random.Generator, mix: dict[str, float], frames: dict[str, float]
) -> list[tuple[str, str, nr.NRConfig | lte.LTEConfig]]:
    """(kind, traffic name, configuration) per carrier of a random carrier mix that fits the span."""
    kinds = MIXES[rng.choice(len(MIXES), p=[p for _, p in MIXES])][0]
    for _ in range(1000):
        out = []
        for kind in kinds:
            name, regime = traffic.draw_regime(rng, mix)
            if kind == "NR":
                out.append((kind, name, nr.draw_nr(rng, traffic_regime=regime)))
            else:
                out.append((kind, name, lte.draw_lte(rng, traffic_regime=regime, frames=frames)))
        if sum(c.bandwidth_mhz for _, _, c in out) * 1e6 <= MAX_TOTAL_BANDWIDTH_HZ:
            return out
    raise RuntimeError("could not draw carriers that fit the span")  # unreachable in practice


def draw_scene(
    rng: np.random.Generator, mix: dict[str, float] | None = None, frames: dict[str, float] | None = None
) -> list[Carrier]:
    """Random carriers, placed adjacent and non-overlapping inside the span, with levels, traffic and spans.

    ``mix``: {regime: probability} (:func:`~radiofm.synth.nrlte.traffic.resolve_mix`); None = the default mix.
    ``frames``: {LTE frame structure: probability} (:func:`~radiofm.synth.nrlte.lte.frame_mix`); None = the
    default :data:`~radiofm.synth.nrlte.lte.FRAME_MIX`.
    """
    cfgs = _draw_configs(
        rng, traffic.resolve_mix(None) if mix is None else mix, lte.frame_mix(None) if frames is None else frames
    )
    order = rng.permutation(len(cfgs))
    widths = np.array([cfgs[i][2].bandwidth_mhz * 1e6 for i in order])
    raster_reserve = 30e3 * len(cfgs)  # centres snap up to one raster step to the right
    free = SPAN_HZ - widths.sum() - raster_reserve
    gaps = rng.dirichlet(np.ones(len(cfgs) + 1)) * free
    carriers: list[Carrier | None] = [None] * len(cfgs)
    cursor = -SPAN_HZ / 2
    for j, i in enumerate(order):
        kind, name, cfg = cfgs[i]
        cursor += gaps[j]
        centre_bin = int(np.ceil((cursor + widths[j] / 2) / cfg.scs_hz))
        cursor = centre_bin * cfg.scs_hz + widths[j] / 2
        start, count, mode = 0, FRAME_SAMPLES, None
        if name == "gated":
            starts = symbol_starts(cfg.scs_hz)
            r0, r1, mode = traffic.gate_rows(rng, len(starts) - 1, 14, cfg.time_shift_symbols)
            start, count = int(starts[r0]), int(starts[r1] - starts[r0])
        psd = float(rng.uniform(*CARRIER_PSD_DB))
        carriers[i] = Carrier(kind, cfg, centre_bin, psd, start, count, traffic=name, gate_mode=mode)
    return carriers


_SCRATCH: dict[tuple, np.ndarray] = {}  # per-process work buffers: reusing them avoids ~20 MB of page faults each


def _scratch(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    key = (name, shape, np.dtype(dtype).str)
    if key not in _SCRATCH:
        _SCRATCH[key] = np.empty(shape, dtype=dtype)
    return _SCRATCH[key]


def synthesize(
    carriers: list[Carrier], noise_power_db: float, rng: np.random.Generator, *, out: np.ndarray | None = None
) -> np.ndarray:
    """The capture: every carrier's grid, faded per symbol, summed per SCS, OFDM-modulated, plus noise.

    Returns complex64 (FRAME_SAMPLES,), written into ``out`` when given.
    """
    grids: dict[float, np.ndarray] = {}
    for c in carriers:
        cfg, scs = c.config, c.scs_hz
        nm = numerology(scs)
        grid = nr.build_grid(cfg, rng) if c.kind == "NR" else lte.build_grid(cfg, rng)  # (S, n_sc)
        starts = symbol_starts(scs)
        active = (starts[:-1] >= c.sample_start) & (starts[:-1] < c.sample_start + c.sample_count)
        rows = np.flatnonzero(active)
        r0, r1 = rows[0], rows[-1] + 1
        n_sc = cfg.n_subcarriers
        rel_bins = np.arange(n_sc) - n_sc // 2 if c.kind == "NR" else lte.subcarrier_bins(cfg, 0)
        freqs = rel_bins * scs  # Hz from the carrier centre
        times = (starts[r0:r1] + nm["cp"]) / SAMPLE_RATE_HZ
        h = frequency_response(
            cfg.profile,
            times,
            freqs,
            doppler_hz=cfg.doppler_hz,
            rng=rng,
            delay_spread_s=getattr(cfg, "delay_spread_s", 100e-9),
        )
        h *= np.float32(10 ** (c.psd_db / 20))
        if scs not in grids:
            grids[scs] = _scratch(f"grid{scs}", (nm["n_symbols"], nm["nfft"]), np.complex64)
            grids[scs].fill(0)
        full = grids[scs]
        lo, _ = c.bins()
        faded = _shifted_product(grid, cfg.time_shift_symbols, r0, r1, h)
        if c.kind == "NR":
            add_block(full, slice(r0, r1), lo, faded)
        else:  # skip the DC subcarrier
            mid = n_sc // 2
            add_block(full, slice(r0, r1), lo, faded[:, :mid])
            add_block(full, slice(r0, r1), lo + mid + 1, faded[:, mid:])
    out = complex_noise(rng, FRAME_SAMPLES, 10 ** (noise_power_db / 10), out=out)
    for scs in sorted(grids):
        modulate(grids[scs], scs, add_to=out)
    return out


def _shifted_product(grid: np.ndarray, shift: int, r0: int, r1: int, h: np.ndarray) -> np.ndarray:
    """Capture rows r0..r1-1 of the carrier's grid circularly shifted by ``shift`` rows, times ``h`` (r1-r0, F).

    Capture row r shows grid row (r - shift) mod S: at most two contiguous pieces, multiplied straight into the
    output (no gathered copy).
    """
    n = grid.shape[0]
    out = np.empty((r1 - r0, grid.shape[1]), dtype=np.complex64)
    a = (r0 - shift) % n
    first = min(r1 - r0, n - a)
    np.multiply(grid[a : a + first], h[:first], out=out[:first])
    if first < r1 - r0:
        np.multiply(grid[: r1 - r0 - first], h[first:], out=out[first:])
    return out


def complex_noise(rng: np.random.Generator, n: int, power: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """Circular complex Gaussian noise of mean power ``power``, complex64 (n,) (written into ``out`` if given).

    Box-Muller in single precision: about twice as fast as ``Generator.standard_normal`` for the 2.5 M
    samples of a capture, and exactly Gaussian (radius sqrt(-2 ln u1), uniform phase 2 pi u2).
    """
    u = _scratch("uniform", (2 * n,), np.float32)
    tmp = _scratch("tmp", (n,), np.float32)
    rng.random(out=u, dtype=np.float32)
    radius, phase = u[:n], u[n:]
    np.log1p(-radius, out=radius)  # 1 - u in (0, 1]: never log(0)
    radius *= np.float32(-power)
    np.sqrt(radius, out=radius)  # sqrt(-2 ln u1) * sqrt(power / 2)
    phase *= np.float32(2 * np.pi)
    out = np.empty(n, dtype=np.complex64) if out is None else out
    np.cos(phase, out=tmp)
    tmp *= radius
    out.real = tmp
    np.sin(phase, out=tmp)
    tmp *= radius
    out.imag = tmp
    return out


def make_frame(
    rng: np.random.Generator,
    *,
    split: str,
    traffic_mix: Sequence[str] | str | dict[str, float] | None = None,
    lte_frames: Sequence[str] | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """One random capture: (iq complex64 (FRAME_SAMPLES,), metadata dict).

    Metadata: "carriers" (one dict per carrier, see :meth:`Carrier.to_dict`), "noise_power_db" and "receiver"
    (:func:`~radiofm.synth.nrlte.receiver.draw_receiver`). ``traffic_mix``: regime names (or a comma list, or a
    ready {name: probability} mix); None = all five regimes in the default mix. ``lte_frames``: the LTE frame
    structures to draw from ("fdd", "tdd", "mbsfn", :func:`~radiofm.synth.nrlte.lte.frame_mix`); None = all
    three in :data:`~radiofm.synth.nrlte.lte.FRAME_MIX`; ["fdd"] = the captures as before frame structures
    existed, byte for byte. ``out``: optional
    (FRAME_SAMPLES,) complex64 buffer to write the capture into (reused by the dataset writer).
    """
    if split not in NOISE:
        from radiofm.errors import ConfigError

        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    mix = traffic_mix if isinstance(traffic_mix, dict) else traffic.resolve_mix(traffic_mix)
    carriers = draw_scene(rng, mix, lte.frame_mix(lte_frames))
    noise_db = draw_noise_power_db(rng, split)
    iq = synthesize(carriers, noise_db, rng, out=out)
    rx = receiver.draw_receiver(rng, CENTER_FREQ_HZ)
    receiver.apply_receiver_(iq, rx, noise_db)
    meta = {
        "noise_power_db": noise_db,
        "receiver": rx,
        "carriers": [c.to_dict(noise_db, rx["cfo_hz"]) for c in carriers],
    }
    return iq, meta


# ---------------------------------------------------------------- images


def label_image(carriers: list[dict], *, fft_size: int = 256, image_size: int = 256) -> np.ndarray:
    """Label image uint8 (image_size, image_size): 0 noise, 1 NR, 2 LTE, from the carriers' metadata.

    A pixel takes a carrier's class when its row centre lies in the carrier's occupied band
    [lower_edge_hz, upper_edge_hz) and its column centre in [sample_start, sample_start + sample_count).
    Built from the placement, never by thresholding the spectrogram.
    """
    f = row_freqs_hz(image_size, fft_size)
    t = col_samples(image_size)
    out = np.zeros((image_size, image_size), dtype=np.uint8)
    for c in carriers:
        rows = (f >= c["lower_edge_hz"]) & (f < c["upper_edge_hz"])
        cols = (t >= c["sample_start"]) & (t < c["sample_start"] + c["sample_count"])
        out[np.ix_(rows, cols)] = CLASS_INDEX[c["type"]]
    return out


# carrier keys that become SigMF core fields (or are derived from them) rather than radiofm: extras
_ANNOTATION_CORE = {"type", "lower_edge_hz", "upper_edge_hz", "sample_start", "sample_count", "centre_offset_hz"}


def annotations(carriers: list[dict], center_freq_hz: float = CENTER_FREQ_HZ) -> list[dict]:
    """One SigMF annotation dict per carrier: its active span, absolute band edges, label "NR"/"LTE" and, as
    ``radiofm:`` extras, its traffic regime and every drawn knob (None values left out)."""
    out = []
    for c in carriers:
        ann = {
            "core:sample_start": int(c["sample_start"]),
            "core:sample_count": int(c["sample_count"]),
            "core:freq_lower_edge": float(center_freq_hz + c["lower_edge_hz"]),
            "core:freq_upper_edge": float(center_freq_hz + c["upper_edge_hz"]),
            "core:label": c["type"],
            "radiofm:scs_hz": c["scs_hz"],
            "radiofm:bandwidth_hz": c["bandwidth_hz"],
            "radiofm:snr_db": round(float(c["snr_db"]), 2),
            "radiofm:channel": c["channel"],
            "radiofm:doppler_hz": round(float(c["doppler_hz"]), 2),
        }
        for key, value in c.items():  # traffic and every drawn knob
            if key not in _ANNOTATION_CORE and value is not None and f"radiofm:{key}" not in ann:
                ann[f"radiofm:{key}"] = round(value, 6) if isinstance(value, float) else value
        out.append(ann)
    return out
