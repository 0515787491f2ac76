"""Keyed-carrier classes: ADS-B (1090 MHz pulse-position modulation), 433 MHz OOK sensors, remote keyless entry,
Morse (CW).

Sources: ADS-B — ICAO Annex 10 Vol. IV §3.1.2 / RTCA DO-260B as summarised in J. Sun, "The 1090 Megahertz Riddle"
(mode-s.org): 1 Mb/s PPM, 0.5 µs pulses, 8 µs preamble with pulses at 0, 1, 3.5 and 4.5 µs, 112-bit extended
squitter (DF17) and 56-bit short messages (DF11 acquisition squitter), 24-bit parity with generator 0x1FFF409;
Mode A/C replies: framing pulses F1/F2 20.3 µs apart, 0.45 µs pulses on a 1.45 µs grid. OOK sensors — the pulse
codings rtl_433 decodes (PWM, PPM, Manchester; packets repeated several times). Keyless entry — Microchip HCS301
data sheet (KeeLoq): TE 400 µs typical, 23-TE 50 % duty preamble, 10-TE header, 66 PWM bits of 3 TE, 39-TE guard,
≈108 ms per code word, repeated while the button is held. Morse — ITU-R M.1677-1 timing (dot = 1.2/wpm s).
"""

from __future__ import annotations

import numpy as np

from radiofm.synth.signals import waveforms as wf
from radiofm.synth.signals.common import (
    Burst,
    Component,
    Emission,
    add,
    draw_offset,
    native_length,
    on_power_scale,
    place,
    random_bits,
    unit_power,
    with_background,
)

# ---------------------------------------------------------------------------------------------------- ADS-B

_ADSB_RATE_HZ = 16e6  # native rate: 8 samples per 0.5 µs pulse
_ADSB_BW_HZ = 2.6e6  # 99 % power bandwidth of 0.5 µs pulses with 0.1 µs edges, before the receiver's filter
_CRC_POLY = 0x1FFF409


def modes_parity(bits: np.ndarray) -> np.ndarray:
    """24 Mode S parity bits (CRC, generator 0x1FFF409) of the message ``bits`` (K,), returned as (24,) int8."""
    reg = 0
    for b in np.concatenate([bits, np.zeros(24, np.int8)]):
        reg = (reg << 1) | int(b)
        if reg & (1 << 24):
            reg ^= _CRC_POLY
    return np.array([(reg >> (23 - i)) & 1 for i in range(24)], np.int8)


def _modes_frame(rng: np.random.Generator, icao: np.ndarray, *, long: bool) -> np.ndarray:
    """Bits of a DF17 extended squitter (112) or a DF11 acquisition squitter (56) from aircraft ``icao``."""
    head = np.array([1, 0, 0, 0, 1] if long else [0, 1, 0, 1, 1], np.int8)
    body = np.concatenate([head, rng.integers(0, 2, 3).astype(np.int8), icao])
    if long:
        body = np.concatenate([body, random_bits(rng, 56)])
    return np.concatenate([body, modes_parity(body)])


def _pulse_envelope(starts_us: np.ndarray, width_us: float, rng: np.random.Generator) -> np.ndarray:
    """Envelope at the native rate of pulses starting at ``starts_us``, 0.05–0.1 µs edges, 8 µs of padding."""
    pad = 8.0
    n = int((starts_us.max() + width_us + 2 * pad) * _ADSB_RATE_HZ * 1e-6)
    intervals = [((s + pad) * 1e-6, width_us * 1e-6) for s in starts_us]
    return wf.keyed_envelope(intervals, n, _ADSB_RATE_HZ, rise_s=float(rng.uniform(0.05e-6, 0.1e-6)))


def _adsb_frame(rng: np.random.Generator, icao: np.ndarray, long: bool) -> np.ndarray:
    bits = _modes_frame(rng, icao, long=long)
    starts = np.concatenate([[0.0, 1.0, 3.5, 4.5], 8.0 + np.arange(bits.size) + 0.5 * (1 - bits)])
    return _pulse_envelope(starts, 0.5, rng)


def _modeac_reply(rng: np.random.Generator) -> np.ndarray:
    info = np.flatnonzero(rng.random(13) < 0.5) + 1  # information pulse positions between F1 and F2 (X is 7)
    info = info[info != 7]
    starts = np.concatenate([[0.0], info * 1.45, [20.3]])
    return _pulse_envelope(starts, 0.45, rng)


def adsb(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """1090 MHz traffic: one primary aircraft's DF17/DF11 squitters plus 3–40 other aircraft (DF17, DF11 and
    Mode A/C replies), all pulse-position modulated bursts of 64/120 µs (Mode A/C: 21 µs) at random times."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    center = draw_offset(rng, fs, min(_ADSB_BW_HZ, 0.8 * fs))
    bw = min(_ADSB_BW_HZ, fs)
    primary, others, bursts = np.zeros(n_samples, np.complex64), np.zeros(n_samples, np.complex64), []
    n_aircraft = int(rng.integers(4, 41))
    for k in range(n_aircraft):
        icao = random_bits(rng, 24)
        off = center + float(rng.uniform(-150e3, 150e3)) * (k > 0)  # transponder frequency tolerance
        gain = 1.0 if k == 0 else 10 ** (float(rng.uniform(-25.0, 3.0)) / 20)
        rate = float(rng.uniform(4.0, 12.0))  # squitters + replies per second
        times = np.cumsum(rng.exponential(1 / rate, int(rate * dur * 3) + 3)) - float(rng.uniform(0, 1 / rate))
        times = times[(times > -130e-6) & (times < dur)]
        if k == 0 and times.size == 0:
            times = np.array([float(rng.uniform(0, max(dur - 130e-6, 0)))])
        for t in times:
            kind = rng.random()
            env = _adsb_frame(rng, icao, kind < 0.75) if (k == 0 or kind < 0.85) else _modeac_reply(rng)
            frame = env * (gain * np.exp(2j * np.pi * rng.random()))
            add(primary if k == 0 else others, frame, _ADSB_RATE_HZ, fs, off, start=int(round((t - 8e-6) * fs)))
            if k == 0:
                bursts.append(Burst(float(t), env.size / _ADSB_RATE_HZ - 16e-6, center, bw))
    # one scale for both, so the other aircraft keep their levels relative to the primary
    scale = on_power_scale(primary, bursts, fs)
    comps = [Component(primary * scale, bursts, center, bw), Component(others * scale, [], center, bw)]
    return Emission(comps, {"aircraft": n_aircraft})


# ------------------------------------------------------------------------------------------------ OOK sensors

_OOK_RATE_HZ = 256e3


def _ook_packet(rng: np.random.Generator) -> tuple[list[tuple[float, float]], dict]:
    """Key-down intervals (relative to the packet start) of one sensor packet and its coding parameters."""
    n_bits = int(rng.integers(24, 73))
    bits = random_bits(rng, n_bits)
    coding = str(rng.choice(["pwm", "ppm", "manchester"]))
    if coding == "pwm":  # short pulse = 1, long pulse = 0, fixed period
        short, long_ = float(rng.uniform(150e-6, 400e-6)), 0.0
        long_ = short * float(rng.uniform(2.0, 3.0))
        period = long_ + short
        ivs = [(i * period, short if b else long_) for i, b in enumerate(bits)]
    elif coding == "ppm":  # fixed pulse, gap length carries the bit
        pulse = float(rng.uniform(300e-6, 600e-6))
        gaps = (float(rng.uniform(0.8e-3, 1.2e-3)), float(rng.uniform(1.8e-3, 4.2e-3)))
        t, ivs = 0.0, []
        for b in bits:
            ivs.append((t, pulse))
            t += pulse + gaps[b]
    else:  # Manchester at 0.5–4 kbit/s: each bit a half-period high then low, or low then high
        half = 0.5 / float(rng.uniform(500, 4000))
        ivs = [((2 * i + 1 - int(b)) * half, half) for i, b in enumerate(bits)]
    return ivs, {"coding": coding, "bits": n_bits}


def _keyed_with_chirp(
    rng: np.random.Generator, ivs: list[tuple[float, float]], n: int, rate: float, rise_s: float
) -> np.ndarray:
    """OOK carrier: raised-cosine keyed envelope times a frequency pull of a few kHz that decays after each key-on
    (the start-up chirp of cheap SAW/crystal oscillators)."""
    env = wf.keyed_envelope(ivs, n, rate, rise_s=rise_s)
    pull = np.zeros(n)
    tau, depth = float(rng.uniform(30e-6, 200e-6)), float(rng.uniform(0.5e3, 5e3))
    t = np.arange(n) / rate
    for s, _ in ivs:
        i0 = max(int(s * rate), 0)
        i1 = min(n, i0 + int(5 * tau * rate))
        pull[i0:i1] += depth * np.exp(-(t[i0:i1] - s) / tau)
    return env * wf.fm(pull, rate)


def ook(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A 433.92 MHz sensor transmission: one packet (24–72 bits, PWM/PPM/Manchester OOK) repeated 3–10 times with
    4–12 ms gaps; keyed edges of 10–40 µs with an oscillator start-up chirp."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    ivs, info = _ook_packet(rng)
    packet_s = ivs[-1][0] + ivs[-1][1]
    repeats, gap = int(rng.integers(3, 11)), float(rng.uniform(4e-3, 12e-3))
    t0 = float(rng.uniform(-(packet_s + gap) * (repeats - 1), dur * 0.7))
    starts = [t0 + r * (packet_s + gap) for r in range(repeats)]
    starts = [s for s in starts if s + packet_s > 0 and s < dur] or [float(rng.uniform(0, max(dur - packet_s, 0)))]
    all_ivs = [(s + a, d) for s in starts for a, d in ivs]
    rate = _OOK_RATE_HZ
    x = _keyed_with_chirp(rng, all_ivs, native_length(n_samples, fs, rate), rate, float(rng.uniform(10e-6, 40e-6)))
    bw = 30e3  # nominal 99 % bandwidth (keying edges + start-up chirp)
    off = draw_offset(rng, fs, 100e3)
    bursts = [Burst(s, packet_s, off, bw) for s in starts]
    comp = Component(unit_power(place(x, rate, n_samples, fs, off), bursts, fs), bursts, off, bw)
    return Emission([comp], {**info, "repeats": repeats, "packet_s": packet_s})


# ----------------------------------------------------------------------------------------- remote keyless entry


def keyless(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A key-fob press at 315/433.92 MHz: rolling-code words repeated while the button is held — KeeLoq-style
    OOK PWM (TE 200–400 µs, preamble, header, 66 bits, guard: ≈54–108 ms per word) or, as many current fobs do,
    2-FSK Manchester at 2.4–10 kBd with ±15–40 kHz deviation and a 0101… preamble ([ours] parameters)."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    rate = _OOK_RATE_HZ
    n_native = native_length(n_samples, fs, rate)
    if rng.random() < 0.6:
        te = float(rng.choice([200e-6, 400e-6])) * float(rng.uniform(0.9, 1.1))
        bits = random_bits(rng, 66)
        pre = [(2 * i * te, te) for i in range(12)]
        data = [((33 + 3 * i) * te, te * (1 if b else 2)) for i, b in enumerate(bits)]
        word_ivs, word_s = pre + data, 270 * te  # 23 preamble + 10 header + 66 x 3 bit TEs + 39 guard
        words = int(rng.integers(2, 9))
        t0 = float(rng.uniform(-word_s * (words - 1), dur * 0.6))
        starts = [t0 + w * word_s for w in range(words)]
        ivs = [(s + a, d) for s in starts for a, d in word_ivs]
        x = _keyed_with_chirp(rng, ivs, n_native, rate, float(rng.uniform(8e-6, 30e-6)))
        bw, on_s, info = 25e3, 231 * te, {"modulation": "ook-pwm", "te_s": te, "words": words}
    else:
        baud, dev = float(rng.uniform(2.4e3, 10e3)), float(rng.uniform(15e3, 40e3))
        n_bits = int(rng.integers(64, 161))
        bits = np.concatenate([np.tile([0, 1], 16), random_bits(rng, n_bits)])
        chips = np.stack([bits, 1 - bits], axis=1).reshape(-1) * 2.0 - 1.0  # Manchester
        on_s = chips.size / (2 * baud)
        gap = float(rng.uniform(10e-3, 40e-3))
        words = int(rng.integers(2, 7))
        t0 = float(rng.uniform(-(on_s + gap) * (words - 1), dur * 0.6))
        starts = [t0 + w * (on_s + gap) for w in range(words)]
        freq = sum(wf.hold(chips, n_native, rate, 2 * baud, start_s=s) for s in starts)
        freq = wf.gaussian_smooth(freq, rate, 2 * baud, 1.0) * dev
        env = wf.keyed_envelope([(s, on_s) for s in starts], n_native, rate, rise_s=20e-6)
        x = env * wf.fm(freq, rate)
        bw, info = 2 * dev + 2 * baud, {"modulation": "2fsk-manchester", "baud": baud, "deviation_hz": dev}
    starts = [s for s in starts if s + on_s > 0 and s < dur] or [0.0]
    off = draw_offset(rng, fs, 2 * bw)
    bursts = [Burst(s, on_s, off, bw) for s in starts]
    comp = Component(unit_power(place(x, rate, n_samples, fs, off), bursts, fs), bursts, off, bw)
    return Emission([comp], info)


# ---------------------------------------------------------------------------------------------------- Morse

_CW_RATE_HZ = 8e3


def _cw_station(rng: np.random.Generator, n_samples: int, fs: float, wpm: float) -> tuple[np.ndarray, list]:
    """One CW station at the native rate and its key-down intervals."""
    dur = n_samples / fs
    for _ in range(20):  # a capture of a Morse transmission shows at least one whole element
        ivs = wf.morse_intervals(rng, dur, wpm)
        if any(s >= 0 and s + d <= dur for s, d in ivs) or (ivs and dur < 3.6 / wpm):
            break
    else:
        ivs = [(float(rng.uniform(0, max(dur - 1.2 / wpm, 0))), 1.2 / wpm)]
    n = native_length(n_samples, fs, _CW_RATE_HZ)
    env = wf.keyed_envelope(ivs, n, _CW_RATE_HZ, rise_s=float(rng.uniform(3e-3, 8e-3)))
    drift = np.linspace(0, float(rng.uniform(-5, 5)) * dur, n)  # slow VFO drift, Hz
    return env * wf.fm(drift, _CW_RATE_HZ), ivs


def morse(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """CW Morse at 10–30 wpm (random text, 3–8 ms keying edges, slight drift), plus 0–3 other CW stations within
    ±15 kHz at −20…0 dB, as in a busy HF CW segment."""
    fs = sample_rate_hz
    off = draw_offset(rng, fs, 40e3)
    wpm = float(rng.uniform(10, 30))
    bw = 100.0
    x, ivs = _cw_station(rng, n_samples, fs, wpm)
    others, other_bursts = [], []
    for _ in range(int(rng.integers(0, 4))):
        o = off + float(rng.choice([-1, 1])) * float(rng.uniform(0.3e3, 15e3))
        xo, ivo = _cw_station(rng, n_samples, fs, float(rng.uniform(10, 35)))
        others.append((xo, _CW_RATE_HZ, o, 10 ** (float(rng.uniform(-20.0, 0.0)) / 20)))
        other_bursts += [Burst(s, d, o, bw) for s, d in ivo]
    bursts = [Burst(s, d, off, bw) for s, d in ivs]
    comps = with_background(x, _CW_RATE_HZ, off, bursts, bw, others, other_bursts, n_samples, fs)
    return Emission(comps, {"wpm": wpm, "unit_s": 1.2 / wpm})
