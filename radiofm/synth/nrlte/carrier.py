"""One NR or LTE carrier of a chosen configuration in a 40 ms capture: for tests and benchmarks of the cell search.

:func:`single_carrier` fixes what :func:`radiofm.synth.nrlte.make_frame` draws at random (standard, bandwidth,
SCS, load, SNR, position) and adds the receiver-side impairments a real capture has: a carrier frequency offset
and an unknown start (the capture is rotated by a random number of samples, so frames and symbols start
anywhere). Everything else (PSS/SSS/PBCH, CRS or DMRS, PDSCH, fading channel, random cell ID and SSB position)
is the generator's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from radiofm.errors import ConfigError
from radiofm.synth.impairments import apply_cfo
from radiofm.synth.nrlte import lte, nr, scene
from radiofm.synth.nrlte.ofdm import FRAME_SAMPLES, SAMPLE_RATE_HZ

LTE_REFERENCE_CHANNEL = {1.4: "R.4", 3: "R.5", 5: "R.6", 10: "R.7", 15: "R.8", 20: "R.9"}  # by bandwidth (MHz)


def single_carrier(
    kind: str,
    rng: np.random.Generator,
    *,
    bandwidth_mhz: float | None = None,
    scs_hz: float = 15e3,
    snr_db: float = 10.0,
    load: float = 1.0,
    centre_hz: float = 0.0,
    cfo_hz: float = 0.0,
    time_shift: int | None = None,
    frame_structure: str = "fdd",
    traffic: str | None = None,
) -> tuple[np.ndarray, dict]:
    """A 40 ms capture at 61.44 MS/s holding one carrier: (iq complex64 (FRAME_SAMPLES,), metadata dict).

    ``kind`` "NR" or "LTE"; ``bandwidth_mhz`` a channel bandwidth of 36.101 (LTE: 1.4 .. 20) or of the
    generator's NR table at ``scs_hz`` (None: drawn); ``load`` the PRB load (1 = fully loaded); ``snr_db`` the
    in-band SNR of a loaded resource element; ``centre_hz`` the carrier centre from the capture centre (snapped
    to the SCS grid); ``cfo_hz`` a frequency offset applied to the whole capture; ``time_shift`` the rotation of
    the capture in samples (None: drawn uniformly); ``frame_structure`` (LTE) "fdd", "tdd" or "mbsfn", its
    configuration drawn (:func:`~radiofm.synth.nrlte.lte.draw_frame_structure`); ``traffic`` a traffic regime of
    :mod:`~radiofm.synth.nrlte.traffic` in place of the one ``load`` implies (``"idle"``: an NR cell of SSB and
    CORESET only, with no DMRS to find). The metadata is the
    generator's carrier dict (edges, cell ID, SSB offset, channel, ...) plus ``cfo_hz`` and ``time_shift``.
    """
    regime = traffic or ("full" if load >= 1.0 else "random")  # the grid regime that honours ``load``
    if kind == "LTE":
        cfg = lte.draw_lte(rng, traffic_regime=regime)
        if bandwidth_mhz is not None:
            if bandwidth_mhz not in LTE_REFERENCE_CHANNEL:
                raise ConfigError(f"LTE bandwidth must be one of {sorted(LTE_REFERENCE_CHANNEL)} MHz")
            rc = LTE_REFERENCE_CHANNEL[bandwidth_mhz]
            bw, n_rb, mod = lte.REFERENCE_CHANNELS[rc]
            cfi = 4 if n_rb <= 10 else 3 if n_rb <= 25 else 2
            cfg = dataclasses.replace(cfg, reference_channel=rc, bandwidth_mhz=bw, n_rb=n_rb, modulation=mod, cfi=cfi)
        if frame_structure != "fdd":
            cfg = lte.draw_frame_structure(cfg, rng, lte.frame_mix([frame_structure]))
    elif kind == "NR":
        if frame_structure != "fdd":
            raise ConfigError(f"frame_structure {frame_structure!r} is an LTE one; NR takes its TDD from the draw")
        cfg = nr.draw_nr(rng, traffic_regime=regime)
        if bandwidth_mhz is not None:
            if bandwidth_mhz not in nr.NR_N_RB.get(scs_hz, {}):
                raise ConfigError(f"NR {scs_hz / 1e3:g} kHz bandwidth must be one of {sorted(nr.NR_N_RB[scs_hz])}")
            n_rb = nr.NR_N_RB[scs_hz][bandwidth_mhz]
            offset = int(rng.integers(0, n_rb - nr.SSB_RB - (cfg.ssb_sc_offset > 0) + 1))
            case = "A" if scs_hz == 15e3 else cfg.ssb_case if cfg.ssb_case != "A" else "B"
            tdd = cfg.tdd_pattern if scs_hz == 30e3 else None
            k_max = n_rb // 6
            groups = min(cfg.coreset_rb // 6, k_max)
            cfg = dataclasses.replace(
                cfg, scs_hz=scs_hz, bandwidth_mhz=bandwidth_mhz, n_rb=n_rb, ssb_rb_offset=offset, ssb_case=case,
                tdd_pattern=tdd, tdd_special_dl_symbols=cfg.tdd_special_dl_symbols if tdd else None,
                coreset_rb=6 * groups, coreset_rb_offset=6 * int(rng.integers(0, k_max - groups + 1)),
            )  # fmt: skip
    else:
        raise ConfigError(f"kind must be 'NR' or 'LTE', got {kind!r}")
    # the capture's own rotation (``time_shift``) sets where frames start; no extra per-carrier symbol shift
    cfg = dataclasses.replace(cfg, load=float(load), time_shift_symbols=0)
    carrier = scene.Carrier(kind, cfg, int(round(centre_hz / cfg.scs_hz)), 0.0, 0, FRAME_SAMPLES)
    iq = scene.synthesize([carrier], -float(snr_db), rng).copy()
    if cfo_hz:
        iq = apply_cfo(iq, SAMPLE_RATE_HZ, cfo_hz)
    shift = int(rng.integers(0, FRAME_SAMPLES)) if time_shift is None else int(time_shift)
    iq = np.roll(iq, shift)
    return iq, carrier.to_dict(-float(snr_db)) | {"cfo_hz": float(cfo_hz), "time_shift": shift}
