"""A second, independent NR + LTE downlink generator, used only to validate NR/LTE identification.

Written from the 3GPP specifications (TS 36.211/36.213/36.101/36.104 for LTE; TS 38.211/38.213/38.214/
38.101-1/TR 38.901 for NR) without reading radiofm's main generator: its own sequences, resource grids,
OFDM modulator, traffic, channel and impairments. A model trained on the main generator and scored here is
scored on signals it has never seen the texture of.

``make_capture(rng, split="test", traffic=None, sample_rate_hz=61.44e6, n_samples=2_457_600)`` returns
``iq`` (n_samples,) complex64 and ``meta = {"generator": "nrlte_alt", "sample_rate_hz", "noise_power_db",
"capture_power_db", "iq_imbalance_db_deg", "dc_offset_db", "carriers": [...]}``. Each carrier dict has the
shared schema — ``type`` ("NR"/"LTE"), ``traffic``, ``bandwidth_hz`` (channel), ``scs_hz``,
``lower_edge_hz``/``upper_edge_hz`` (occupied band = outermost used subcarriers ± Δf/2, LTE spanning its
null DC, relative to the capture centre, CFO not included), ``sample_start``/``sample_count`` (the active
span), ``snr_db``, ``psd_db`` — and extras: ``inner_traffic`` (what fills a gated carrier), ``center_hz``,
``pci``, ``n_rb``, ``duplex``, ``tdd_pattern``, ``timing_offset_samples``, ``channel``, ``delay_spread_ns``,
``doppler_hz``, ``cfo_hz``, ``window_len``, ``tx_filter``; LTE: ``cfi``, ``crs_ports``, ``crs_boost_db``,
``matlab_rc`` (and ``special_subframe_config`` / ``mbsfn_subframes`` where drawn); NR: ``ssb_period_ms``,
``ssb_case``, ``ssb_bitmap``, ``ssb_first_subcarrier``, ``ssb_half_subcarrier`` (an odd k_SSB at 30 kHz: the SSB
15 kHz above the carrier's grid), ``coreset_symbols``.

Levels. Noise is complex white Gaussian. ``snr_db`` is the in-band SNR of a fully loaded carrier: the power
of a 0 dB (unit) RE against the noise power in one subcarrier bandwidth, i.e. the carrier's PSD with every
RE filled over the noise PSD (reference/sync signals can sit above it when boosted, empty REs below).
``psd_db`` is that full-load PSD in dB re full scale per Hz. Split "test"/"val": SNR ~ U(−5, 30) dB;
"train": N(12, 7²) clipped to [−5, 30]. The capture's mean power is set to U(−15, −5) dB re 1 (full scale
|I|, |Q| ≈ 1), and ``noise_power_db`` reports the resulting noise power per sample.

Scene (:mod:`.scene`): 1/2/3 carriers with probability 0.25/0.4/0.35, each NR or LTE with probability ½,
channels (nominal bandwidths) non-overlapping inside |f| < 0.95·fs/2 in random order with Dirichlet-random
gaps; each carrier's frame timing is random over 0–20 ms.

Randomised knobs (source of each value):

- LTE (:mod:`.lte`): bandwidth 1.4/3/5/10/15/20 MHz → N_RB 6/15/25/50/75/100 (TS 36.104 Table 5.6-1); PCI
  0–503; CRS ports 1/2/4 (p = 0.3/0.5/0.2), every port's CRS present, each through a random complex gain as
  one receive antenna sees them (port 0 gain 1); CRS boost 0/3 dB; CFI 1–3 (+1 symbol at N_RB ≤ 10,
  TS 36.211 Table 6.7-1); PHICH N_g ∈ {1/6, 1/2, 1, 2}; P_B ∈ {0, 1} (TS 36.213 Table 5.2-1). Frame structure:
  FDD unless ``make_capture(lte_frames=...)`` asks for others, drawn uniformly per LTE carrier: ``tdd`` (TS 36.211
  uplink-downlink configuration 0–6 and special subframe configuration 0–9, uniformly; silent uplink) or
  ``mbsfn`` (FDD with a random non-empty set of subframes 1/2/3/6/7/8 sending only their first 1–2 symbols).
- NR (:mod:`.nr`): SCS 15 kHz (5–50 MHz) or 30 kHz (10–100 MHz), N_RB from TS 38.101-1 Table 5.3.2-1,
  limited to what fits the band; PCI 0–1007; FDD, or TDD (p = 0.3 at 15 kHz, 0.8 at 30 kHz) with a pattern
  from DDDSU/DDSUU/DDDDDDDSUU/DDDSUDDSUU and 6/10/11/12 downlink symbols in the special slot; SSB case A
  (15 kHz) or B/C (30 kHz), L = 4 or 8 with a random bitmap (≥ 1 block), period 5/10/20 ms, position: a
  random RB plus, half the time, a random subcarrier offset 0–11; SSB EPRE +0..6 dB, PSS +0/3 dB over SSS;
  CORESET 1–3 symbols over a random run of 6-RB groups (≥ ¼ of them), non-interleaved or interleaved
  (L ∈ {2, 3, 6}, R ∈ {2, 3, 6}, random shift); PDSCH DMRS type 1 (p = 0.7) or 2, l0 = 2/3, 0–3 additional
  positions, 1–3 CDM groups without data; TRS (density 3, 10/20 ms) in half the non-idle cells.
- Traffic (:mod:`.traffic`): ``random``, ``matlab`` (MathWorks' spectrum-sensing example allocation), ``full``,
  ``idle``, ``gated`` (on for a ≥ 5 ms run of whole slots starting and ending inside the capture, filled by
  one of the other four) — chosen uniformly per carrier from ``traffic``. PDSCH modulation QPSK..256QAM.
- Transmitter: WOLA windowing over 0–50 % of the short cyclic prefix (:mod:`.ofdm`); with p = ½ a Kaiser
  channel filter flat over the occupied band and 50 dB down at the channel edge (:mod:`.channel`).
- Channel (:mod:`.channel`): 10 % none, else EPA/EVA/ETU (TS 36.101 Annex B.2.1) or TDL-A..E (TR 38.901
  Tables 7.7.2-1..5, delay spread 30/100/300 ns) uniformly; max Doppler U(0, 300) Hz by sum of sinusoids;
  CFO U(−350, 350) Hz (±0.1 ppm at 3.5 GHz).
- Receiver: IQ imbalance (gain U(−1, 1) dB, phase U(−3, 3)°); LO leakage with probability 0.8 at
  U(−35, −10) dB re the noise power.

NOT modelled: channel coding and real payloads (MIB, SIBs, DCIs, transport blocks are random QPSK/QAM, so
no receiver can decode them); the LTE PDCCH CCE interleaver (REG-level random fill instead) and PHICH
spreading; MIMO precoding and multiple receive antennas; PT-RS, CSI-RS other than TRS, PRS, PMCH (MBSFN subframes
are left empty past their first symbols), LTE TDD's UpPTS and uplink (silent),
NR 60 kHz and FR2, BWPs other than the whole carrier, mixed numerologies; ISI and intra-symbol Doppler are
included only through the time-domain TDL (delays rounded to the sample); phase noise, AGC, ADC
quantisation/clipping, adjacent-band interferers other than the drawn carriers.

Cost: one 40 ms capture with two carriers at 61.44 MS/s takes ≈ 0.4 s of one core (CPU time measured on a
loaded shared machine; see the final report); tests use shorter captures.
"""

from radiofm.synth.nrlte_alt.capture import make_capture
from radiofm.synth.nrlte_alt.traffic import TRAFFIC_REGIMES

__all__ = ["TRAFFIC_REGIMES", "make_capture"]
