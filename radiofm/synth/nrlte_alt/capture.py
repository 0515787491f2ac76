"""The public entry point: :func:`make_capture` → (IQ, metadata)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radiofm.errors import ConfigError
from radiofm.synth.nrlte_alt import channel as ch
from radiofm.synth.nrlte_alt import ofdm
from radiofm.synth.nrlte_alt.lte import LteCell, check_frame_structures, with_frame_structure
from radiofm.synth.nrlte_alt.scene import (
    CAPTURE_POWER_DB,
    CarrierPlan,
    gate_span,
    occupied_edges,
    plan_scene,
    render_carrier,
    replace,
)
from radiofm.synth.nrlte_alt.traffic import TRAFFIC_REGIMES

SPLITS = ("train", "val", "test")
MAX_SAMPLES = 50_000_000


def _check(split: str, traffic, sample_rate_hz: float, n_samples: int, lte_frames) -> list[str]:
    if split not in SPLITS:
        raise ConfigError(f"nrlte_alt: split {split!r} unknown (one of {', '.join(SPLITS)})")
    regimes = list(TRAFFIC_REGIMES) if traffic is None else [str(t) for t in traffic]
    bad = [t for t in regimes if t not in TRAFFIC_REGIMES]
    if bad or not regimes:
        raise ConfigError(f"nrlte_alt: traffic {bad or regimes!r} invalid (choose from {', '.join(TRAFFIC_REGIMES)})")
    if lte_frames is not None:
        check_frame_structures(lte_frames)
    ofdm.check_rate(sample_rate_hz)
    if not isinstance(n_samples, (int, np.integer)) or not int(0.002 * sample_rate_hz) <= n_samples <= MAX_SAMPLES:
        raise ConfigError(f"nrlte_alt: n_samples {n_samples!r} must be an integer, ≥ 2 ms of samples, ≤ {MAX_SAMPLES}")
    return regimes


def carrier_meta(plan: CarrierPlan, sample_rate_hz: float, n_samples: int, noise_psd_db: float) -> dict:
    """The shared carrier schema (+ extras) for one planned carrier."""
    lo, hi = occupied_edges(plan)
    start, count = gate_span(plan, sample_rate_hz, n_samples)
    c = plan.cell
    meta = {
        "type": plan.kind,
        "traffic": plan.traffic,
        "inner_traffic": plan.inner_traffic,
        "bandwidth_hz": float(c.bandwidth_hz),
        "scs_hz": float(plan.scs_hz),
        "lower_edge_hz": float(lo),
        "upper_edge_hz": float(hi),
        "center_hz": float(plan.center_hz),
        "sample_start": start,
        "sample_count": count,
        "snr_db": float(plan.snr_db),
        "psd_db": float(noise_psd_db + plan.snr_db),
        "pci": int(c.pci),
        "n_rb": int(c.n_rb),
        "timing_offset_samples": int(plan.timing_offset_samples),
        "channel": plan.channel.profile,
        "delay_spread_ns": float(plan.channel.delay_spread_ns),
        "doppler_hz": float(plan.channel.doppler_hz),
        "cfo_hz": float(plan.cfo_hz),
        "window_len": int(plan.window_len),
        "tx_filter": bool(plan.tx_filter),
    }
    if isinstance(c, LteCell):
        meta.update(
            duplex=c.duplex,
            tdd_pattern=c.subframe_pattern if c.duplex == "TDD" else None,
            cfi=int(c.cfi),
            crs_ports=int(c.crs_ports),
            crs_boost_db=float(c.crs_boost_db),
            matlab_rc=plan.matlab_rc,
        )
        if c.duplex == "TDD":
            meta["special_subframe_config"] = int(c.special_config)
        if c.mbsfn_subframes:
            meta["mbsfn_subframes"] = list(c.mbsfn_subframes)
    else:
        meta.update(
            duplex=c.duplex,
            tdd_pattern=c.tdd_pattern,
            ssb_period_ms=int(c.ssb_period_ms),
            ssb_case=c.ssb_case,
            ssb_bitmap="".join("1" if b else "0" for b in c.ssb_bitmap),
            ssb_first_subcarrier=int(c.ssb_sc0),
            ssb_half_subcarrier=bool(c.ssb_half),
            coreset_symbols=int(c.coreset_symbols),
        )
    return meta


def make_capture(
    rng: np.random.Generator,
    *,
    split: str = "test",
    traffic: Sequence[str] | None = None,
    sample_rate_hz: float = 61.44e6,
    n_samples: int = 2_457_600,
    lte_frames: Sequence[str] | None = None,
) -> tuple[np.ndarray, dict]:
    """One capture of 1–3 NR/LTE downlink carriers in noise.

    Args:
        rng: the only source of randomness; the same generator state gives the same bytes.
        split: "train" draws carrier SNRs from a clipped normal, "val"/"test" uniformly (package docstring).
        traffic: regimes to draw each carrier's from (uniformly); None = all of :data:`TRAFFIC_REGIMES`.
        sample_rate_hz: 61.44 or 30.72 MS/s (15.36 and 122.88 also work).
        n_samples: capture length (default 40 ms at 61.44 MS/s).
        lte_frames: frame structures to draw each LTE carrier's from (uniformly): "fdd", "tdd", "mbsfn"
            (:func:`radiofm.synth.nrlte_alt.lte.with_frame_structure`); None = FDD without MBSFN subframes and no
            extra draws, so captures are the same as before the option existed.

    Returns:
        ``iq`` (n_samples,) complex64 and ``meta`` = {"generator": "nrlte_alt", "sample_rate_hz",
        "noise_power_db", "carriers": [...]} with one dict per carrier (keys in :func:`carrier_meta`).
    """
    regimes = _check(split, traffic, sample_rate_hz, n_samples, lte_frames)
    plans = plan_scene(rng, split=split, regimes=regimes, sample_rate_hz=sample_rate_hz, n_samples=n_samples)
    if lte_frames is not None:
        structures = list(lte_frames)
        plans = [
            replace(p, cell=with_frame_structure(p.cell, str(rng.choice(structures)), rng)) if p.kind == "LTE" else p
            for p in plans
        ]
    y = np.zeros(n_samples, np.complex64)
    for plan in plans:
        x, _ = render_carrier(plan, rng, sample_rate_hz, n_samples)
        y += x
    noise = rng.standard_normal(2 * n_samples, dtype=np.float32).view(np.complex64)
    noise *= np.float32(np.sqrt(0.5))
    y += noise
    gain_db, phase_deg = float(rng.uniform(-1.0, 1.0)), float(rng.uniform(-3.0, 3.0))
    y = ch.iq_imbalance(y, gain_db, phase_deg)
    dc_db = float(rng.uniform(-35.0, -10.0)) if rng.random() < 0.8 else None
    if dc_db is not None:
        y += np.complex64(10 ** (dc_db / 20) * np.exp(2j * np.pi * rng.random()))
    target_db = float(rng.uniform(*CAPTURE_POWER_DB))
    scale = np.sqrt(10 ** (target_db / 10) / float(np.mean(np.abs(y) ** 2)))
    y *= np.float32(scale)
    noise_power_db = float(20 * np.log10(scale))  # σ² = 1 before scaling
    noise_psd_db = noise_power_db - 10 * np.log10(sample_rate_hz)
    meta = {
        "generator": "nrlte_alt",
        "sample_rate_hz": float(sample_rate_hz),
        "noise_power_db": noise_power_db,
        "capture_power_db": target_db,
        "iq_imbalance_db_deg": [gain_db, phase_deg],
        "dc_offset_db": dc_db,  # LO leakage power re the noise power, None if absent
        "carriers": [carrier_meta(p, sample_rate_hz, n_samples, noise_psd_db) for p in plans],
    }
    return y.astype(np.complex64, copy=False), meta
