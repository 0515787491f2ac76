"""Analogue-modulation classes: airband voice (AM), FM broadcast (stereo + RDS), NOAA APT, SSTV, VOR.

Sources: airband — ICAO Annex 10 Vol. III/V: DSB-AM (A3E) voice on 118–137 MHz, 25 kHz and 8.33 kHz channels,
audio 300–2500 Hz (8.33 kHz) / 300–3000 Hz, modulation depth ≥ 85 %. FM broadcast — ITU-R BS.450-3: ±75 kHz peak
deviation, 50/75 µs pre-emphasis, pilot 19 kHz (≈9 % of deviation), L−R DSB-SC on 38 kHz; RDS (IEC 62106):
1187.5 b/s biphase BPSK on 57 kHz. APT — NOAA KLM User's Guide §4.2: 2400 Hz subcarrier amplitude-modulated
(≈87 %) by 4160 words/s, 2 lines/s of 2080 words (sync A: 7 cycles of 1040 Hz; sync B: 7 pulses at 832 pps), FM
on 137.1–137.9125 MHz with ±17 kHz deviation. SSTV — J. L. Barber, "Proposal for SSTV mode specifications"
(Dayton 2000): 1200 Hz sync, 1500 (black) – 2300 (white) Hz video; Martin M1 line 446.446 ms (4.862 ms sync),
Scottie S1 428.22 ms (9 ms sync), Robot 36 150 ms (9 ms sync); on HF upper sideband or VHF NBFM. VOR — ICAO Annex
10 Vol. I §3.3: carrier AM 30 % by the 30 Hz variable signal and 30 % by a 9960 Hz subcarrier frequency-modulated
±480 Hz by the 30 Hz reference; 1020 Hz Morse ident (≈7 % depth); 108–117.95 MHz.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from radiofm.synth.signals import waveforms as wf
from radiofm.synth.signals.common import (
    Burst,
    Component,
    Emission,
    draw_offset,
    native_length,
    place,
    unit_power,
    with_background,
)

_AUDIO_RATE_HZ = 32e3  # native rate of the narrowband analogue classes (AM voice, VOR, NBFM audio)


def _ptt(rng: np.random.Generator, dur: float, lo_s: float, hi_s: float) -> tuple[float, float]:
    """A push-to-talk transmission ``(start_s, duration_s)`` of lo–hi s overlapping the capture by ≥ 20 %."""
    length = float(rng.uniform(lo_s, hi_s))
    start = float(rng.uniform(-length + 0.2 * dur, 0.8 * dur))
    return start, length


def _am_voice(rng: np.random.Generator, n_samples: int, fs: float, spacing_hz: float) -> tuple[np.ndarray, tuple]:
    """Native-rate AM voice of one push-to-talk transmission and its ``(start_s, duration_s)``."""
    dur = n_samples / fs
    n = native_length(n_samples, fs, _AUDIO_RATE_HZ)
    band = (300.0, 2500.0) if spacing_hz < 10e3 else (300.0, 3000.0)
    depth = float(rng.uniform(0.85, 0.95))
    start, length = _ptt(rng, dur, 1.5, 8.0)
    key = wf.keyed_envelope([(start, length)], n, _AUDIO_RATE_HZ, rise_s=5e-3)
    return (key * (1 + depth * wf.voice_audio(rng, n, _AUDIO_RATE_HZ, band_hz=band))).astype(np.complex64), (
        start,
        length,
    )


def airband(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """VHF airband voice: a DSB-AM push-to-talk transmission (1.5–8 s, 85–95 % depth, speech-like audio) on an
    8.33 or 25 kHz channel, plus 0–2 other channels of the same raster active at −20…0 dB."""
    fs = sample_rate_hz
    spacing = float(rng.choice([8.33e3, 25e3]))
    off = draw_offset(rng, fs, 400e3)
    bw = 4e3 if spacing < 10e3 else 5e3
    x, (start, length) = _am_voice(rng, n_samples, fs, spacing)
    others, other_bursts = [], []
    for _ in range(int(rng.integers(0, 3))):
        o = off + spacing * float(rng.choice([k for k in range(-20, 21) if abs(k) >= 2]))
        xo, (so, lo) = _am_voice(rng, n_samples, fs, spacing)
        others.append((xo, _AUDIO_RATE_HZ, o, 10 ** (float(rng.uniform(-20.0, 0.0)) / 20)))
        other_bursts.append(Burst(so, lo, o, bw))
    bursts = [Burst(start, length, off, bw)]
    comps = with_background(x, _AUDIO_RATE_HZ, off, bursts, bw, others, other_bursts, n_samples, fs)
    return Emission(comps, {"channel_spacing_hz": spacing})


# ---------------------------------------------------------------------------------------------- FM broadcast

_MPX_RATE_HZ = 512e3
_FM_AUDIO_RATE_HZ = 64e3


def _preemphasis(x: np.ndarray, fs: float, tau_s: float) -> np.ndarray:
    b, a = scipy.signal.bilinear([tau_s, 1.0], [tau_s / 20, 1.0], fs)  # +1 pole well above 15 kHz: realisable
    return scipy.signal.lfilter(b, a, x)


def _rds(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """RDS baseband: differentially encoded bits as biphase (Manchester) symbols at 1187.5 b/s, smoothed."""
    bits = np.cumsum(rng.integers(0, 2, int(n / fs * 1187.5) + 2)) % 2 * 2.0 - 1.0
    chips = np.stack([bits, -bits], axis=1).reshape(-1)
    return wf.raised_cosine_smooth(wf.hold(chips, n, fs, 2 * 1187.5), fs, 2 * 1187.5, 1.0)


def _fm_station(rng: np.random.Generator, n_samples: int, fs: float) -> np.ndarray:
    """One station's FM signal at the native MPX rate."""
    n_mpx = native_length(n_samples, fs, _MPX_RATE_HZ)
    n_audio = n_mpx // 8 + 2
    talk = rng.random() < 0.3
    if talk:
        left = wf.voice_audio(rng, n_audio, _FM_AUDIO_RATE_HZ, band_hz=(60.0, 7000.0))
        right = left.copy()
    else:
        left = wf.music_audio(rng, n_audio, _FM_AUDIO_RATE_HZ)
        right = 0.6 * left + 0.4 * wf.music_audio(rng, n_audio, _FM_AUDIO_RATE_HZ)
    tau = float(rng.choice([50e-6, 75e-6]))
    drive = float(rng.uniform(1.5, 4.0))  # broadcast processing: pre-emphasis, then a soft limiter
    lr = [np.tanh(drive * _preemphasis(ch, _FM_AUDIO_RATE_HZ, tau)) for ch in (left, right)]
    left, right = (scipy.signal.resample_poly(ch, 8, 1)[:n_mpx] for ch in lr)
    t = np.arange(n_mpx) / _MPX_RATE_HZ
    pilot_phase = 2 * np.pi * 19e3 * t + rng.uniform(0, 2 * np.pi)
    stereo = rng.random() < 0.85
    mpx = 0.45 * (left + right) / 2 * (1.0 if stereo else 2.0)
    if stereo:
        mpx += 0.45 * (left - right) / 2 * np.cos(2 * pilot_phase) + 0.09 * np.sin(pilot_phase)
    if rng.random() < 0.8:
        mpx += float(rng.uniform(0.02, 0.05)) * _rds(rng, n_mpx, _MPX_RATE_HZ) * np.sin(3 * pilot_phase)
    peak_dev = float(rng.uniform(50e3, 75e3))  # the peak deviation this station reaches in the capture
    return wf.fm(mpx * (peak_dev / max(float(np.max(np.abs(mpx))), 1e-9)), _MPX_RATE_HZ, phase_rad=rng.uniform(0, 6.3))


def fm_broadcast(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """Wideband FM broadcast: music (70 %) or talk, pre-emphasised, stereo MPX with 19 kHz pilot (85 %), RDS
    (80 %), 50–75 kHz peak deviation; plus 0–4 other stations on the 100/200 kHz raster at −25…0 dB."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    off = draw_offset(rng, fs, 250e3)
    bw = 150e3
    raster = float(rng.choice([100e3, 200e3]))
    slots = [k for k in range(-12, 13) if abs(k) >= 2 and abs(off + k * raster) < fs / 2 - 150e3]
    others, other_bursts = [], []
    for k in rng.permutation(slots)[: int(rng.integers(0, 5))] if slots else []:
        o = off + float(k) * raster
        others.append((_fm_station(rng, n_samples, fs), _MPX_RATE_HZ, o, 10 ** (float(rng.uniform(-25.0, 0.0)) / 20)))
        other_bursts.append(Burst(0.0, dur, o, bw))
    x = _fm_station(rng, n_samples, fs)
    comps = with_background(x, _MPX_RATE_HZ, off, [Burst(0.0, dur, off, bw)], bw, others, other_bursts, n_samples, fs)
    return Emission(comps, {"stations": 1 + len(others), "raster_hz": raster})


# ------------------------------------------------------------------------------------------------------ APT

_APT_RATE_HZ = 128e3
_APT_WORDS_S = 4160.0


def _apt_line_words(rng: np.random.Generator, n_lines: int) -> np.ndarray:
    """(n_lines · 2080,) word values in [0, 255]: sync A, space A, image A, telemetry A, then the B channel."""
    sync_a = np.array([0] * 4 + [255, 255, 0, 0] * 7 + [0] * 7, float)  # 7 cycles of 1040 Hz (4 words)
    sync_b = np.array([0] * 4 + [255, 255, 255, 0, 0] * 7, float)  # 7 pulses at 832 pps (5 words)
    lines = []
    base_a, base_b = np.cumsum(rng.standard_normal(909)) * 6, np.cumsum(rng.standard_normal(909)) * 6
    for i in range(n_lines):
        img_a = np.clip(120 + base_a + np.cumsum(rng.standard_normal(909)) * 2 + 8 * i, 0, 255)
        img_b = np.clip(150 + base_b + np.cumsum(rng.standard_normal(909)) * 2, 0, 255)
        wedge = float(rng.integers(0, 8)) * 32
        lines.append(
            np.concatenate(
                [
                    sync_a,
                    np.full(47, 0.0 if i % 120 else 255.0),
                    img_a,
                    np.full(45, wedge),
                    sync_b,
                    np.full(47, 255.0),
                    img_b,
                    np.full(45, wedge),
                ]
            )
        )
    return np.concatenate(lines)


def apt(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """NOAA APT: 2400 Hz subcarrier AM (87 %) by the 4160 words/s line stream (2 lines/s, starting at a random
    point of a line), FM at ±17 kHz, with satellite Doppler drift of −70…0 Hz/s."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    n = native_length(n_samples, fs, _APT_RATE_HZ)
    phase0 = float(rng.uniform(0, 0.5))
    words = _apt_line_words(rng, int(np.ceil((dur + phase0) * 2)) + 1)
    level = wf.hold(words, n, _APT_RATE_HZ, _APT_WORDS_S, start_s=-phase0)
    level = wf.raised_cosine_smooth(level, _APT_RATE_HZ, _APT_WORDS_S, 1.0)
    t = np.arange(n) / _APT_RATE_HZ
    audio = (0.13 + 0.87 * level / 255) * np.sin(2 * np.pi * 2400 * t)
    drift = float(rng.uniform(-70, 0))
    x = wf.fm(17e3 * audio + drift * t, _APT_RATE_HZ)
    bw = 38e3
    off = draw_offset(rng, fs, 80e3)
    burst = Burst(0.0, dur, off, bw)
    iq = unit_power(place(x, _APT_RATE_HZ, n_samples, fs, off), [burst], fs)
    return Emission([Component(iq, [burst], off, bw)], {"line_phase_s": phase0, "doppler_rate_hz_s": drift})


# ----------------------------------------------------------------------------------------------------- SSTV

# (sync s, [(freq or None for video, duration s), ...]) per line; None = a video scan of that length
_SSTV_MODES = {
    "martin-m1": [(1200, 4.862e-3), (1500, 0.572e-3), (None, 146.432e-3), (1500, 0.572e-3), (None, 146.432e-3),
                  (1500, 0.572e-3), (None, 146.432e-3), (1500, 0.572e-3)],
    "scottie-s1": [(1500, 1.5e-3), (None, 138.24e-3), (1500, 1.5e-3), (None, 138.24e-3), (1200, 9e-3),
                   (1500, 1.5e-3), (None, 138.24e-3)],
    "robot-36": [(1200, 9e-3), (1500, 3e-3), (None, 88e-3), (1500, 4.5e-3), (1900, 1.5e-3), (None, 44e-3)],
}  # fmt: skip


def _sstv_track(rng: np.random.Generator, mode: str, n: int, fs: float, start_s: float) -> np.ndarray:
    """Audio frequency track (n,) Hz: lines of ``mode`` from ``start_s`` (negative: the image started earlier)."""
    segs: list[tuple[float, float]] = []
    line = _SSTV_MODES[mode]
    line_s = sum(d for _, d in line)
    px_s = 0.5e-3  # video changes on this time scale (≈ 300 pixels per scan)
    t = start_s
    while t < n / fs:
        for f, d in line:
            if f is not None:
                segs.append((f, d))
                continue
            k = int(round(d / px_s))
            lum = np.clip(0.5 + np.cumsum(rng.standard_normal(k)) * 0.05 + rng.uniform(-0.3, 0.3), 0, 1)
            segs.extend((1500 + 800 * v, d / k) for v in lum)
        t += line_s
    track = wf.tone_track(segs, int(round(-start_s * fs)) + n, fs)
    return track[int(round(-start_s * fs)) :]


def sstv(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """Slow-scan TV (Martin M1 / Scottie S1 / Robot 36, random image lines) as a phase-continuous audio tone,
    sent on HF upper sideband (the RF is the tone itself, 1.2–2.3 kHz above the suppressed carrier; 60 %) or
    on VHF NBFM with ±3–5 kHz deviation (40 %)."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    mode = str(rng.choice(list(_SSTV_MODES)))
    line_s = sum(d for _, d in _SSTV_MODES[mode])
    n = native_length(n_samples, fs, _AUDIO_RATE_HZ)
    track = _sstv_track(rng, mode, n, _AUDIO_RATE_HZ, -float(rng.uniform(0, line_s)))
    if rng.random() < 0.6:
        x, bw, center_in = wf.fm(track, _AUDIO_RATE_HZ), 1.3e3, 1750.0
        info = {"mode": mode, "carrier": "usb", "line_s": line_s}
    else:
        dev = float(rng.uniform(3e3, 5e3))
        audio = wf.audio_tone(track, _AUDIO_RATE_HZ)
        x, bw, center_in = wf.fm(dev * audio, _AUDIO_RATE_HZ), 2 * (dev + 2300), 0.0
        info = {"mode": mode, "carrier": "nbfm", "deviation_hz": dev, "line_s": line_s}
    carrier = draw_offset(rng, fs, 2 * bw + 4e3)
    off = carrier + center_in
    burst = Burst(0.0, dur, off, bw)
    iq = unit_power(place(x, _AUDIO_RATE_HZ, n_samples, fs, carrier), [burst], fs)
    return Emission([Component(iq, [burst], off, bw)], info)


# ------------------------------------------------------------------------------------------------------ VOR


def vor(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A VOR beacon: carrier AM 30 % by the 30 Hz variable signal (random bearing) and 30 % by the 9960 Hz
    subcarrier FM ±480 Hz by the 30 Hz reference, a 1020 Hz Morse ident (7 wpm, ≈7 % depth, keyed for ~4 s of
    each ~10 s cycle) and, at 30 % of stations, ATIS-like voice at 30 % depth."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    n = native_length(n_samples, fs, _AUDIO_RATE_HZ)
    t = np.arange(n) / _AUDIO_RATE_HZ
    bearing, ph = float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))
    ref = 2 * np.pi * 30 * t + ph
    sub = 2 * np.pi * 9960 * t + 16 * np.sin(ref) + float(rng.uniform(0, 2 * np.pi))  # index 480/30 = 16
    m = 1 + 0.3 * np.cos(ref - bearing) + 0.3 * np.cos(sub)
    cycle0 = float(rng.uniform(-10, 0))
    ident = [(cycle0 + c * 10 + s, d) for c in range(int(dur / 10) + 2) for s, d in wf.morse_intervals(rng, 4.0, 7.0)]
    m += 0.07 * wf.keyed_envelope(ident, n, _AUDIO_RATE_HZ, rise_s=5e-3) * np.cos(2 * np.pi * 1020 * t)
    voice = rng.random() < 0.3
    if voice:
        m += 0.3 * wf.voice_audio(rng, n, _AUDIO_RATE_HZ, band_hz=(300.0, 3000.0))
    bw = 22e3
    off = draw_offset(rng, fs, 40e3)
    burst = Burst(0.0, dur, off, bw)
    iq = unit_power(place(m.astype(np.complex64), _AUDIO_RATE_HZ, n_samples, fs, off), [burst], fs)
    return Emission([Component(iq, [burst], off, bw)], {"bearing_deg": float(np.degrees(bearing)), "voice": voice})
