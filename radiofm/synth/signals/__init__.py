"""Signal identification: IQ captures of the 20 CommRad RF classes (seminar slides, Task 1).

:func:`synthesize_capture` renders one capture of a class from its modulation and timing, through a channel, noise
and an SDR front end; returns ``(iq, meta)`` — (N,) complex64 and a plain dict (class, centre offset, occupied
bandwidth, SNR, burst times, …). Pure: arrays and dicts, an explicit seed, no files (``radiofm.data.signals``
writes datasets).

Sample rate: one common 2.048 MS/s (:data:`SAMPLE_RATE_HZ`, configurable 2–10 MS/s). It is a standard RTL-SDR
rate — the receiver class a CommRad-style over-the-air collection uses — and DAB's own sample rate (T = 1/2.048 MHz,
EN 300 401), so the widest narrowband-receiver class, DAB's 1.536 MHz ensemble, fits whole, as do Bluetooth's
1 MHz channels and LoRa's 125–500 kHz. Wider signals are represented by the part of their spectrum such a receiver
sees, as a real 2 MS/s capture would show them: a slice of a 20/40/80 MHz Wi-Fi channel or of a 3–20 MHz LTE carrier
(band-filling, with an edge when the capture sits near the channel edge), and the ±1 MHz of ADS-B's 2.6 MHz pulse
spectrum. A 20–25 MS/s common rate would keep Wi-Fi whole but shrink Morse (≈100 Hz) and RTTY (≈300 Hz) below one
bin of any practical spectrogram and cost ten times the data; captures of narrowband signals at wideband rates are
not what such datasets hold. Consequence: at 2.048 MS/s the narrowest classes (Morse, RTTY, SSTV on USB) still
occupy ≤ 1 bin of a 1024-point FFT (2 kHz) — they differ by their time pattern there, and by their tones only with
a longer FFT.

Classes (see :data:`CLASS_TABLE` for the documented parameters and sources):

| class | modulation | rate | bandwidth (99 %) | timing |
|---|---|---|---|---|
| ads-b | PPM, 0.5 µs pulses | 1 Mb/s | fills capture (2.6 MHz at RF) | 8 µs preamble, 64/120 µs frames |
| airband | DSB-AM voice | 300–2500/3000 Hz audio | ≈ 1–6 kHz | push-to-talk, 8.33/25 kHz raster |
| ais | GMSK BT 0.4 | 9600 b/s | ≈ 10 kHz | 26.67 ms slots, 2 channels |
| automatic-picture-transmission | FM ±17 kHz, 2.4 kHz AM subcarrier | 4160 words/s | ≈ 38 kHz | 2 lines/s |
| bluetooth | GFSK | 1 Msym/s | ≈ 1 MHz per hop | 1600 hops/s, 625 µs slots |
| cellular | GSM GMSK or LTE OFDM | 270.8 kb/s / 15 kHz SCS | 200 kHz / slice | 577 µs bursts / continuous |
| digital-audio-broadcasting | OFDM π/4-DQPSK | 1 kHz carriers | 1.536 MHz | 96 ms frames, null symbol |
| digital-speech-decoder | 4FSK (DMR/P25) | 4800 sym/s | ≈ 8 kHz | 30 ms TDMA slots |
| fm | WBFM + pilot + RDS | 15 kHz audio | ≈ 200 kHz | continuous |
| lora | CSS | SF 7–12, BW 125–500 kHz | BW | preamble + sync + payload |
| morse | CW OOK | 10–30 wpm | ≈ 100 Hz | PARIS timing |
| on-off-keying | OOK PWM/PPM/Manchester | 0.5–4 kb/s | ≈ 10–50 kHz | repeated packets |
| packet | AFSK 1200/2200 Hz on NBFM | 1200 Bd | ≈ 12 kHz | flags + AX.25 frame |
| pocsag | 2-FSK ±4.5 kHz | 512/1200/2400 b/s | ≈ 10–14 kHz | preamble + batches |
| Radioteletype | 2-FSK 170/450/85 Hz shift | 45.45/50 Bd | ≈ 0.2–0.6 kHz | 7.5-bit characters |
| remote-keyless-entry | OOK PWM or 2-FSK | 0.8–10 kb/s | ≈ 10–100 kHz | repeated code words |
| RS41-Radiosonde | GFSK ±2.4 kHz | 4800 Bd | ≈ 10 kHz | frame every 1 s |
| sstv | tone 1200/1500–2300 Hz, USB or NBFM | 150–446 ms lines | ≈ 1.3 kHz (USB) | line sync |
| vor | AM 30 Hz + 9960 Hz FM subcarrier | 30 Hz | ≈ 21 kHz | continuous + ident |
| wifi | OFDM (slice) + DSSS | 4 µs symbols | fills capture | PPDU + SIFS + ACK |
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CLASSES": "radiofm.synth.signals.classes",
    "CLASS_TABLE": "radiofm.synth.signals.classes",
    "SignalClass": "radiofm.synth.signals.classes",
    "signal_class": "radiofm.synth.signals.classes",
    "CaptureConfig": "radiofm.synth.signals.capture",
    "SAMPLE_RATE_HZ": "radiofm.synth.signals.capture",
    "synthesize_capture": "radiofm.synth.signals.capture",
    "Burst": "radiofm.synth.signals.common",
    "Component": "radiofm.synth.signals.common",
    "Emission": "radiofm.synth.signals.common",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'radiofm.synth.signals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
