"""Narrowband digital FSK-family classes: AIS (GMSK), POCSAG (2-FSK), RTTY (2-FSK), packet (AFSK on NBFM),
digital speech (DMR/P25-like 4FSK) and the RS41 radiosonde (GFSK).

Sources: AIS — ITU-R M.1371-5: 9600 b/s GMSK, BT 0.4, NRZI, HDLC framing (24-bit training, 0x7E flags, 168 data
bits, 16-bit FCS), 26.67 ms slots (2250 per minute), channels 161.975 / 162.025 MHz. POCSAG — ITU-R M.584-2 and its
usual FSK air interface: ±4.5 kHz, 512/1200/2400 b/s, ≥576-bit 1010… preamble, batches of a sync codeword
(0x7CD215D8) and 16 codewords (idle 0x7A89C197). RTTY — ITA2 start/5 data/1.5 stop bits; amateur 45.45 Bd with
170 Hz shift, DWD weather 50 Bd/450 Hz, narrow-shift 50 Bd/85 Hz. Packet — Bell 202 AFSK (1200 Hz mark, 2200 Hz
space, 1200 Bd) carrying AX.25 (NRZI, bit-stuffed, 0x7E flags) on NBFM with ±3–5 kHz deviation (APRS practice).
Digital speech — ETSI TS 102 361-1 (DMR): 4FSK at 4800 sym/s, deviations ±648 / ±1944 Hz, root-raised-cosine
α = 0.2, 2-slot TDMA with 30 ms slots and 27.5 ms bursts; P25 phase 1 C4FM: 4800 sym/s, ±600 / ±1800 Hz, continuous.
RS41 — GFSK, 4800 Bd, ±2.4 kHz deviation, one frame per second (320 bytes, 518 with XDATA), sync word
0x086D53884469481F (SDRangel radiosonde demodulator documentation; rs1729/RS decoders).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from radiofm.synth.signals import waveforms as wf
from radiofm.synth.signals.common import (
    Burst,
    Component,
    Emission,
    burst_train,
    bytes_to_bits,
    draw_offset,
    native_length,
    place,
    random_bits,
    unit_power,
    with_background,
)

_RATE_HZ = 48e3  # native rate of every class in this module


def _nrzi(bits: np.ndarray) -> np.ndarray:
    """NRZI as HDLC/AX.25/AIS use it: a 0 toggles the line, a 1 keeps it. Returns ±1 levels."""
    return np.where(np.cumsum(1 - np.asarray(bits)) % 2 == 0, 1.0, -1.0)


def _stuff(bits: np.ndarray) -> np.ndarray:
    """HDLC bit stuffing: a 0 after every five consecutive 1s."""
    out, run = [], 0
    for b in bits:
        out.append(int(b))
        run = run + 1 if b else 0
        if run == 5:
            out.append(0)
            run = 0
    return np.array(out, np.int8)


_FLAG = bytes_to_bits([0x7E])


def _fsk(levels: np.ndarray, n: int, baud: float, deviation_hz: float, *, start_s: float, bt: float) -> np.ndarray:
    """Frequency track (n,) Hz of ``levels`` (±1, or 4FSK ±1/±1/3) from ``start_s``, Gaussian-smoothed (BT)."""
    return wf.gaussian_smooth(wf.hold(levels, n, _RATE_HZ, baud, start_s=start_s), _RATE_HZ, baud, bt) * deviation_hz


def _component(x: np.ndarray, bursts: list[Burst], n_samples: int, fs: float, off: float, bw: float) -> Component:
    return Component(unit_power(place(x, _RATE_HZ, n_samples, fs, off), bursts, fs), bursts, off, bw)


# ------------------------------------------------------------------------------------------------------ AIS

_AIS_SLOT_S = 60.0 / 2250


def ais(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """AIS: SOTDMA bursts on 26.67 ms slots of channels A and B (50 kHz apart). Each burst: 8-bit ramp-up,
    24-bit training sequence, flag, 168 data bits + FCS (bit-stuffed), flag, NRZI, GMSK 9600 b/s BT 0.4
    (±2.4 kHz). The primary ship sends one burst in the capture; other ships fill 5–50 % of the slots."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    n = native_length(n_samples, fs, _RATE_HZ)
    pair = draw_offset(rng, fs, 70e3)  # centre between the two channels
    bw = 10e3
    slot0 = -float(rng.uniform(0, _AIS_SLOT_S))
    starts = slot0 + _AIS_SLOT_S * np.arange(int(np.ceil((dur - slot0) / _AIS_SLOT_S)))
    inside = np.flatnonzero((starts >= 0) & (starts + 0.025 <= dur))
    overlapping = np.flatnonzero((starts + 0.025 > 0) & (starts < dur))
    mine_slot = int(rng.choice(inside if inside.size else overlapping))
    mine_ch = int(rng.choice([-1, 1]))
    busy = float(rng.uniform(0.05, 0.5))
    bufs = {c: np.zeros(n, np.complex64) for c in ("mine", -1, 1)}  # baseband, per channel
    bursts, other_bursts = [], []
    for s, t0 in enumerate(starts):
        for ch in (-1, 1):
            mine = s == mine_slot and ch == mine_ch
            if not mine and rng.random() >= busy:
                continue
            data = np.concatenate([random_bits(rng, 168), random_bits(rng, 16)])
            body = np.concatenate([np.tile([0, 1], 12), _FLAG, _stuff(data), _FLAG])
            levels = np.concatenate([np.zeros(8), _nrzi(body)])  # ramp-up: unmodulated carrier
            on_s = levels.size / 9600
            env = wf.keyed_envelope([(t0, on_s)], n, _RATE_HZ, rise_s=0.5e-3)
            x = env * wf.fm(_fsk(levels, n, 9600, 2400, start_s=t0, bt=0.4), _RATE_HZ)
            burst = Burst(float(t0), on_s, pair + ch * 25e3, bw)
            if mine:
                bufs["mine"] += x.astype(np.complex64)
                bursts.append(burst)
            else:
                bufs[ch] += (x * 10 ** (float(rng.uniform(-25, 5)) / 20)).astype(np.complex64)
                other_bursts.append(burst)
    background = [(bufs[c], _RATE_HZ, pair + c * 25e3, 1.0) for c in (-1, 1)]
    off = pair + mine_ch * 25e3
    comps = with_background(bufs["mine"], _RATE_HZ, off, bursts, bw, background, other_bursts, n_samples, fs)
    info = {"slot_occupancy": busy, "channel": "A" if mine_ch < 0 else "B"}
    return Emission(comps, {**info, "carrier_hz": 161.975e6 if mine_ch < 0 else 162.025e6})


# --------------------------------------------------------------------------------------------------- POCSAG

_POCSAG_SYNC, _POCSAG_IDLE = 0x7CD215D8, 0x7A89C197


def _codeword_bits(word: int) -> np.ndarray:
    return np.array([(word >> (31 - i)) & 1 for i in range(32)], np.int8)


def pocsag(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A POCSAG transmission at 512/1200/2400 b/s: 576-bit 1010… preamble, then 1–8 batches (sync codeword +
    16 address/message/idle codewords), NRZ 2-FSK ±4.5 kHz (high tone = 0) with mild Gaussian shaping; the
    capture sees a random part of it."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    baud = float(rng.choice([512, 1200, 2400]))
    batches = int(rng.integers(1, 9))
    words = []
    for _ in range(batches):
        words.append(_codeword_bits(_POCSAG_SYNC))
        for _ in range(16):
            words.append(_codeword_bits(_POCSAG_IDLE) if rng.random() < 0.3 else random_bits(rng, 32))
    bits = np.concatenate([np.tile([1, 0], 288)] + words)
    on_s = bits.size / baud
    start = float(rng.uniform(-on_s + min(0.2 * dur, on_s * 0.5), 0.8 * dur))
    n = native_length(n_samples, fs, _RATE_HZ)
    env = wf.keyed_envelope([(start, on_s)], n, _RATE_HZ, rise_s=1e-3)
    x = env * wf.fm(_fsk(1.0 - 2.0 * bits, n, baud, 4.5e3, start_s=start, bt=float(rng.uniform(0.5, 1.0))), _RATE_HZ)
    bw = 9e3 + 2 * baud
    off = draw_offset(rng, fs, 30e3)
    burst = Burst(start, on_s, off, bw)
    return Emission([_component(x, [burst], n_samples, fs, off, bw)], {"baud": baud, "batches": batches})


# ----------------------------------------------------------------------------------------------------- RTTY

_RTTY_PRESETS = ((45.45, 170.0, 0.6), (50.0, 450.0, 0.25), (50.0, 85.0, 0.15))  # (Bd, shift Hz, probability)


def rtty(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """RTTY: continuous-phase 2-FSK of ITA2 characters (start bit, 5 bits, 1.5 stop bits; mark idle between
    words), 45.45 Bd/170 Hz (60 %), 50 Bd/450 Hz (25 %) or 50 Bd/85 Hz (15 %), for the whole capture."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    k = int(rng.choice(len(_RTTY_PRESETS), p=[p for *_, p in _RTTY_PRESETS]))
    baud, shift, _ = _RTTY_PRESETS[k]
    half = []  # half-bit levels: +1 mark, −1 space
    while len(half) / (2 * baud) < dur + 1.0:
        if rng.random() < 0.1:
            half += [1] * int(rng.integers(2, 30))  # idle mark between words
        data = list(rng.integers(0, 2, 5) * 2 - 1)
        half += [-1, -1] + [b for b in data for _ in (0, 1)] + [1, 1, 1]
    n = native_length(n_samples, fs, _RATE_HZ)
    start = -float(rng.uniform(0, 0.5))
    freq = _fsk(np.array(half, float), n, 2 * baud, shift / 2, start_s=start, bt=1.5)
    x = wf.fm(freq, _RATE_HZ)
    bw = shift + 2.5 * baud
    off = draw_offset(rng, fs, 10e3)
    burst = Burst(0.0, dur, off, bw)
    return Emission([_component(x, [burst], n_samples, fs, off, bw)], {"baud": baud, "shift_hz": shift})


# --------------------------------------------------------------------------------------------------- packet


def packet(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """An AX.25 packet (APRS-like): 100–400 ms of 0x7E flags (TXDELAY), a 30–200 byte frame, 2 end flags; NRZI,
    bit-stuffed; Bell 202 AFSK (1200 Hz mark / 2200 Hz space, phase continuous, optional 750 µs pre-emphasis
    "twist") on NBFM with ±3–5 kHz deviation."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    txdelay = int(rng.uniform(0.1, 0.4) * 1200 / 8)
    frame = _stuff(random_bits(rng, 8 * int(rng.integers(30, 201))))
    bits = np.concatenate([np.tile(_FLAG, txdelay), frame, _FLAG, _FLAG])
    tones = np.where(_nrzi(bits) > 0, 1200.0, 2200.0)
    on_s = bits.size / 1200
    start = float(rng.uniform(-on_s + min(0.2 * dur, 0.5 * on_s), 0.8 * dur))
    n = native_length(n_samples, fs, _RATE_HZ)
    audio = wf.audio_tone(
        wf.hold(tones, n, _RATE_HZ, 1200, start_s=start) + 1200 * (np.arange(n) / _RATE_HZ < start), _RATE_HZ
    )
    if rng.random() < 0.5:  # pre-emphasis: +6 dB/octave above ~212 Hz, i.e. 2200 Hz ≈ 5 dB above 1200 Hz
        b, a = scipy.signal.bilinear([750e-6, 1.0], [750e-6 / 30, 1.0], _RATE_HZ)
        audio = scipy.signal.lfilter(b, a, audio)
        audio /= np.max(np.abs(audio)) + 1e-12
    dev = float(rng.uniform(3e3, 5e3))
    env = wf.keyed_envelope([(start, on_s)], n, _RATE_HZ, rise_s=2e-3)
    x = env * wf.fm(dev * audio, _RATE_HZ)
    bw = 2 * (dev + 2200)
    off = draw_offset(rng, fs, 30e3)
    burst = Burst(start, on_s, off, bw)
    return Emission([_component(x, [burst], n_samples, fs, off, bw)], {"deviation_hz": dev, "bytes": len(bits) // 8})


# --------------------------------------------------------------------------------------------- digital speech


def _rrc(alpha: float, sps: int, span: int) -> np.ndarray:
    t = np.arange(-span * sps, span * sps + 1) / sps
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (np.sin(np.pi * t * (1 - alpha)) + 4 * alpha * t * np.cos(np.pi * t * (1 + alpha))) / (
            np.pi * t * (1 - (4 * alpha * t) ** 2)
        )
    h[t == 0] = 1 - alpha + 4 * alpha / np.pi
    edge = np.isclose(np.abs(t), 1 / (4 * alpha))
    h[edge] = (
        alpha
        / np.sqrt(2)
        * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * alpha)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * alpha)))
    )
    return h / h.sum()


def digital_speech(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """DMR-like 4FSK voice at 4800 sym/s: a mobile (one TDMA slot: 27.5 ms bursts every 60 ms; 50 %), a repeater
    (both slots, continuous; 30 %) or P25 phase 1 C4FM (continuous; 20 %); root-raised-cosine (α 0.2) frequency
    pulses, deviations ±648/±1944 Hz (DMR) or ±600/±1800 Hz (P25)."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    mode = str(rng.choice(["dmr-ms", "dmr-bs", "p25"], p=[0.5, 0.3, 0.2]))
    outer = 1800.0 if mode == "p25" else 1944.0
    sps = int(_RATE_HZ / 4800)
    n = native_length(n_samples, fs, _RATE_HZ)
    t0 = -float(rng.uniform(0, 0.06))
    n_sym = int((dur - t0) * 4800) + 64
    symbols = rng.choice(np.array([-1.0, -1 / 3, 1 / 3, 1.0]), n_sym)
    impulses = np.zeros(n_sym * sps)
    impulses[::sps] = symbols * sps
    freq = scipy.signal.oaconvolve(impulses, _rrc(0.2, sps, 6), mode="same")
    freq *= np.sqrt(np.mean(symbols**2) / np.mean(freq**2)) * outer
    start = int(round(-t0 * _RATE_HZ))
    freq = np.pad(freq, (0, max(0, n + start - freq.size)))[start : start + n]
    if mode == "dmr-ms":
        ivs = burst_train(rng, dur, period_s=0.06, on_s=0.0275)
    else:
        ivs = [(0.0, dur)]
    env = wf.keyed_envelope(ivs, n, _RATE_HZ, rise_s=0.75e-3) if mode == "dmr-ms" else np.ones(n, np.float32)
    x = env * wf.fm(freq, _RATE_HZ)
    bw = 8e3
    off = draw_offset(rng, fs, 25e3)
    bursts = [Burst(s, d, off, bw) for s, d in ivs]
    return Emission([_component(x, bursts, n_samples, fs, off, bw)], {"mode": mode})


# ----------------------------------------------------------------------------------------------------- RS41

_RS41_SYNC = bytes.fromhex("086D53884469481F")


def rs41(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A Vaisala RS41 radiosonde: one frame per second — 320 bytes (0.53 s) or 518 bytes with XDATA (0.86 s) —
    of sync word + whitened (random-looking) data, GFSK 4800 Bd BT 0.5, ±2.4 kHz; idle between frames."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    frame_bytes = 518 if rng.random() < 0.3 else 320
    on_s = frame_bytes * 8 / 4800
    ivs = burst_train(rng, dur, period_s=1.0, on_s=on_s)
    n = native_length(n_samples, fs, _RATE_HZ)
    freq = np.zeros(n)
    for s, _ in ivs:
        bits = np.concatenate([bytes_to_bits(_RS41_SYNC), random_bits(rng, 8 * (frame_bytes - 8))])
        freq += _fsk(2.0 * bits - 1.0, n, 4800, 2.4e3, start_s=s, bt=0.5)
    env = wf.keyed_envelope(ivs, n, _RATE_HZ, rise_s=1e-3)
    x = env * wf.fm(freq, _RATE_HZ)
    bw = 8.5e3
    off = draw_offset(rng, fs, 30e3)
    bursts = [Burst(s, d, off, bw) for s, d in ivs]
    return Emission([_component(x, bursts, n_samples, fs, off, bw)], {"frame_bytes": frame_bytes})
