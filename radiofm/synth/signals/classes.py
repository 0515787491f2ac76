"""The 20 CommRad RF classes: names, generators and the documented parameters each one is tested against.

Class names are the file-name prefixes of the CommRad RF spectrogram images as the authors' follow-up code reads
them (``ads-b_123.png`` → ``ads-b``), so a model trained on this generator's data and a real CommRad test set share
one class list. ``bandwidth_hz`` is the nominal 99 %-power bandwidth of one transmission as the capture sees it
(clipped to the capture band for wider signals); ``bandwidth_range_hz`` is the tolerance the tests allow for the
measured 99 % bandwidth of a clean transmission (modulation content, modes and presets vary per capture).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from radiofm.errors import ConfigError
from radiofm.synth.signals import analog, digital, ofdm, pulsed, wideband
from radiofm.synth.signals.common import Emission


@dataclass(frozen=True)
class SignalClass:
    """One class: its generator and what it is (for docs, tests and SigMF metadata)."""

    name: str  # label, as the CommRad RF image file-name prefix
    generate: Callable[..., Emission]  # generator(rng, n_samples, sample_rate_hz) -> Emission
    modulation: str  # what modulates what
    rate: str  # symbol / bit / line rate
    bandwidth_hz: float  # nominal 99 % bandwidth of one transmission, Hz ("capture" = fills the capture)
    bandwidth_range_hz: tuple[float, float]  # measured 99 % bandwidth must fall here (at 2.048 MS/s)
    timing: str  # burst / frame structure
    channel: str  # propagation model: "los", "mobile", "multipath" or "hf"
    carriers_hz: tuple[float, ...]  # typical carrier frequencies (SigMF core:frequency of the capture)
    source: str  # where the parameters come from


_C = SignalClass
# fmt: off
CLASS_TABLE: tuple[SignalClass, ...] = (
    _C("ads-b", pulsed.adsb, "PPM pulses (0.5 µs), Mode S DF17/DF11 + Mode A/C", "1 Mb/s", 2.6e6, (1.5e6, 2.05e6),
       "8 µs preamble + 56/112 µs data; 4–12 msgs/s per aircraft, 4–40 aircraft", "los", (1090e6,),
       "ICAO Annex 10 Vol IV; RTCA DO-260B; mode-s.org"),
    _C("airband", analog.airband, "DSB-AM voice (85–95 %)", "audio 300–2500/3000 Hz", 4e3, (1e3, 7e3),
       "push-to-talk 1.5–8 s; 8.33/25 kHz channels", "mobile", (118.1e6, 121.5e6, 124.35e6, 132.0e6),
       "ICAO Annex 10 Vol III/V"),
    _C("ais", digital.ais, "GMSK BT 0.4, NRZI, HDLC", "9600 b/s", 10e3, (7e3, 13e3),
       "26.67 ms SOTDMA slots, ≈24 ms bursts on 2 channels 50 kHz apart", "mobile", (161.975e6, 162.025e6),
       "ITU-R M.1371-5"),
    _C("automatic-picture-transmission", analog.apt, "FM ±17 kHz of 2400 Hz AM subcarrier", "4160 words/s",
       38e3, (25e3, 50e3), "2 lines/s, sync A 1040 Hz / sync B 832 pps", "mobile", (137.1e6, 137.62e6, 137.9125e6),
       "NOAA KLM User's Guide §4.2"),
    _C("bluetooth", wideband.bluetooth, "GFSK BT 0.5, h 0.28–0.35", "1 Msym/s", 0.9e6, (0.6e6, 1.2e6),
       "1600 hops/s over 79 × 1 MHz; 625 µs slots, packets ≤ 366/1622/2870 µs", "multipath", (2.441e9,),
       "Bluetooth Core v5 Vol 2 Part A"),
    _C("cellular", wideband.cellular, "GSM GMSK BT 0.3 or LTE OFDM 15 kHz", "270.833 kb/s / 15 ksym/s per sc",
       250e3, (150e3, 2.05e6), "GSM 577 µs bursts in 4.615 ms frames; LTE continuous 0.5 ms slots", "multipath",
       (935.2e6, 1842.5e6, 806e6), "3GPP TS 45.002/45.004, TS 36.211/36.104"),
    _C("digital-audio-broadcasting", ofdm.dab, "OFDM π/4-DQPSK, 1536 × 1 kHz", "1.246 ms symbols", 1.536e6,
       (1.45e6, 1.6e6), "96 ms frames, 1.297 ms null symbol", "multipath", (174.928e6, 202.928e6, 225.648e6),
       "ETSI EN 300 401 §14"),
    _C("digital-speech-decoder", digital.digital_speech, "4FSK RRC α 0.2 (DMR / P25 C4FM)", "4800 sym/s", 8e3,
       (5e3, 11e3), "DMR MS: 27.5 ms bursts every 60 ms; BS/P25 continuous", "mobile", (446.1e6, 439.5e6, 851.0e6),
       "ETSI TS 102 361-1; TIA-102"),
    _C("fm", analog.fm_broadcast, "WBFM ±50–75 kHz, stereo MPX + RDS", "audio 15 kHz, pilot 19 kHz", 150e3,
       (70e3, 290e3), "continuous; 100/200 kHz raster", "multipath", (88.5e6, 94.7e6, 101.1e6, 105.3e6),
       "ITU-R BS.450-3; IEC 62106"),
    _C("lora", wideband.lora, "chirp spread spectrum", "SF7–12: 2^SF/BW symbols", 125e3, (110e3, 560e3),
       "8 preamble + 2 sync + 2.25 down-chirps + payload", "mobile", (868.1e6, 868.3e6, 868.5e6, 903.9e6),
       "Semtech AN1200.22, SX127x data sheet"),
    _C("morse", pulsed.morse, "CW on/off keying, 3–8 ms edges", "10–30 wpm", 100.0, (20.0, 400.0),
       "dot 1.2/wpm s, dash 3, gaps 1/3/7", "hf", (7.02e6, 10.11e6, 14.04e6, 18.08e6), "ITU-R M.1677-1"),
    _C("on-off-keying", pulsed.ook, "OOK PWM/PPM/Manchester", "0.5–4 kb/s", 30e3, (2e3, 80e3),
       "24–72-bit packets × 3–10 repeats, 4–12 ms gaps", "mobile", (433.92e6, 315e6, 868.3e6), "rtl_433 codings"),
    _C("packet", digital.packet, "Bell 202 AFSK on NBFM ±3–5 kHz", "1200 Bd", 12e3, (6e3, 16e3),
       "100–400 ms flag preamble + 30–200 byte AX.25 frame", "mobile", (144.39e6, 144.8e6), "Bell 202; AX.25 v2.2"),
    _C("pocsag", digital.pocsag, "2-FSK ±4.5 kHz NRZ", "512/1200/2400 b/s", 12e3, (7e3, 16e3),
       "576-bit preamble + batches of 17 × 32-bit codewords", "mobile", (153.275e6, 466.075e6, 929.6e6),
       "ITU-R M.584-2"),
    _C("Radioteletype", digital.rtty, "continuous-phase 2-FSK, ITA2", "45.45/50 Bd", 280.0, (120.0, 700.0),
       "start + 5 + 1.5 stop bits (7.5 bits/char)", "hf", (14.085e6, 7.04e6, 10.1e6, 4.583e6),
       "ITU-T S.1 (ITA2); amateur/DWD practice"),
    _C("remote-keyless-entry", pulsed.keyless, "OOK PWM (KeeLoq) or 2-FSK Manchester", "0.8–10 kb/s", 25e3,
       (2e3, 120e3), "≈54–108 ms code words repeated while pressed", "mobile", (433.92e6, 315e6),
       "Microchip HCS301 data sheet"),
    _C("RS41-Radiosonde", digital.rs41, "GFSK BT 0.5 ±2.4 kHz", "4800 Bd", 8.5e3, (6e3, 12e3),
       "320/518-byte frame every 1 s", "mobile", (403.0e6, 404.5e6, 405.1e6), "SDRangel radiosonde docs; rs1729/RS"),
    _C("sstv", analog.sstv, "audio tone 1200/1500–2300 Hz on USB or NBFM", "M1 446 ms, S1 428 ms, R36 150 ms lines",
       1.3e3, (0.5e3, 16e3), "line sync 4.862/9 ms at 1200 Hz", "hf", (14.23e6, 145.8e6, 7.171e6),
       "Barber, SSTV mode specifications (2000)"),
    _C("vor", analog.vor, "AM: 30 Hz + 9960 Hz subcarrier FM ±480 Hz + 1020 Hz ident", "30 Hz", 22e3,
       (17e3, 24e3), "continuous; ident ≈4 s per 10 s", "los", (112.5e6, 113.6e6, 115.2e6), "ICAO Annex 10 Vol I §3.3"),
    _C("wifi", ofdm.wifi, "OFDM 312.5 kHz subcarriers (slice), some DSSS", "4 µs symbols", 16.6e6, (1.2e6, 2.05e6),
       "PPDUs 0.1–3 ms + SIFS + ACK; busy 5–60 %", "multipath", (2.412e9, 2.437e9, 2.462e9, 5.18e9),
       "IEEE 802.11-2020 §17"),
)
# fmt: on

CLASSES: tuple[str, ...] = tuple(c.name for c in CLASS_TABLE)
_BY_NAME = {c.name: c for c in CLASS_TABLE}


def signal_class(name: str) -> SignalClass:
    """The :class:`SignalClass` called ``name``; ConfigError naming the valid classes otherwise."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown signal class {name!r}; classes: {', '.join(CLASSES)}") from None
