"""Hopping, chirped and cellular classes: Bluetooth (BR/EDR piconets), cellular (GSM or an LTE downlink) and LoRa.

Sources: Bluetooth — Core Specification v5.x Vol 2 Part A: GFSK BT 0.5, modulation index 0.28–0.35, 1 Msym/s,
79 channels at 2402 + k MHz, 1600 hops/s, 625 µs slots, DH1/DH3/DH5 packets up to 366 / 1622 / 2870 µs. GSM —
3GPP TS 45.004 (GMSK, BT 0.3, 270.833 kb/s), TS 45.002 (TDMA frame 4.615 ms of 8 timeslots of 156.25 bits, normal
burst 148 bits + 8.25 guard), TS 45.005 (200 kHz carriers); the BCCH carrier transmits in every timeslot. LTE —
see :mod:`.ofdm`. LoRa — Semtech AN1200.22 and SX127x data sheets: chirp spread spectrum, symbol 2^SF / BW,
SF 7–12, BW 125/250/500 kHz, preamble of programmable length (8 by default) + 2 sync symbols + 2.25 down-chirps.
"""

from __future__ import annotations

import numpy as np

from radiofm.synth import emitters
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
from radiofm.synth.signals.ofdm import LTE_N_RB, lte_downlink

# ------------------------------------------------------------------------------------------------- Bluetooth

_BT_SLOT_S = 625e-6
_BT_PACKETS = ((1, 366e-6), (1, 126e-6), (3, 1622e-6), (5, 2870e-6))  # (slots, air time): DH1, POLL/NULL, DH3, DH5


def bluetooth(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """1–3 Bluetooth BR piconets hopping over 79 × 1 MHz channels (1600 hops/s, 20–90 % of slots used); the
    capture sees the packets whose channel falls in its band. The primary piconet always shows ≥ 1 packet."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    capture_mhz = float(rng.uniform(0.0, 78.0))  # capture centre, MHz above 2402 MHz
    primary, others, bursts = np.zeros(n_samples, np.complex64), np.zeros(n_samples, np.complex64), []
    for p in range(int(rng.integers(1, 4))):
        activity = float(rng.uniform(0.2, 0.9))
        level = 1.0 if p == 0 else 10 ** (float(rng.uniform(-20, 3)) / 20)
        t = -float(rng.uniform(0, _BT_SLOT_S))
        forced = False
        while t < dur or (p == 0 and not bursts and not forced):
            if t >= dur:  # primary piconet showed nothing: key one packet on a visible channel
                forced, t = True, float(rng.uniform(0, max(dur - 400e-6, 0)))
            slots, air = _BT_PACKETS[int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))]
            ch = capture_mhz + float(rng.uniform(-0.5, 0.5)) if forced else float(rng.integers(0, 79))
            off = (ch - capture_mhz) * 1e6
            if (forced or rng.random() < activity) and abs(off) < fs / 2 + 0.5e6 and t + air > 0:
                w = emitters.bluetooth(rng, air)
                add(primary if p == 0 else others, w.iq * level, w.sample_rate_hz, fs, off, start=round(t * fs))
                if p == 0:  # annotate the part of the 0.9 MHz channel inside the capture band
                    lo, hi = max(off - 0.45e6, -fs / 2), min(off + 0.45e6, fs / 2)
                    bursts.append(Burst(t, air, (lo + hi) / 2, hi - lo))
            if forced:
                break
            t += slots * _BT_SLOT_S
    scale = on_power_scale(primary, bursts, fs)
    first = bursts[0]
    comps = [
        Component(primary * scale, bursts, first.center_offset_hz, 0.9e6),
        Component(others * scale, [], 0.0, 0.9e6),
    ]
    return Emission(comps, {"center_freq_hz": (2402 + capture_mhz) * 1e6})


# -------------------------------------------------------------------------------------------------- cellular

_GSM_RATE_HZ = 1.024e6  # native rate: 3.78 samples per bit, room for the ±135 kHz GMSK spectrum
_GSM_BIT_S = 48 / 13e6
_GSM_SLOT_S = 156.25 * _GSM_BIT_S


def _gsm_carrier(rng: np.random.Generator, n: int, dur: float, bcch: bool) -> tuple[np.ndarray, list]:
    """One GSM downlink carrier at the native rate: GMSK, with the power ramping down
    over each 8.25-bit guard period; a BCCH carrier fills every timeslot, a traffic carrier 20–90 % of them."""
    t0 = -float(rng.uniform(0, _GSM_SLOT_S))
    n_slots = int(np.ceil((dur - t0) / _GSM_SLOT_S)) + 1
    load = 1.0 if bcch else float(rng.uniform(0.2, 0.9))
    active = rng.random(n_slots) < load if not bcch else np.ones(n_slots, bool)
    bits = 2.0 * random_bits(rng, int(n_slots * 156.25) + 8) - 1
    held = wf.hold(bits, n, _GSM_RATE_HZ, 1 / _GSM_BIT_S, start_s=t0)
    x = wf.fm(
        wf.gaussian_smooth(held, _GSM_RATE_HZ, 1 / _GSM_BIT_S, 0.3) * (0.25 / _GSM_BIT_S), _GSM_RATE_HZ
    )  # ±67.7 kHz
    ivs = [(t0 + s * _GSM_SLOT_S + 4 * _GSM_BIT_S, 148 * _GSM_BIT_S) for s in range(n_slots) if active[s]]
    return x * wf.keyed_envelope(ivs, n, _GSM_RATE_HZ, rise_s=2 * _GSM_BIT_S), ivs


def cellular(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A cellular downlink: GSM (40 %; 1–5 carriers on the 200 kHz raster, a continuous BCCH carrier plus TDMA
    traffic carriers) or an FDD LTE carrier (60 %; 1.4–20 MHz; tuned inside it, covering ≥ 3/4 of the band)."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    if rng.random() < 0.4:
        n = native_length(n_samples, fs, _GSM_RATE_HZ)
        base = draw_offset(rng, fs, 400e3)
        slots = [k for k in range(-12, 13) if k and abs(base + k * 200e3) < fs / 2 - 150e3]
        x, ivs = _gsm_carrier(rng, n, dur, bcch=True)
        bursts = [Burst(s, d, base, 250e3) for s, d in ivs if s + d > 0 and s < dur]
        others, other_bursts = [], []
        for k in rng.permutation(slots)[: int(rng.integers(0, 5))] if slots else []:
            o = base + float(k) * 200e3
            xo, ivo = _gsm_carrier(rng, n, dur, bcch=rng.random() < 0.3)
            others.append((xo, _GSM_RATE_HZ, o, 10 ** (float(rng.uniform(-15, 5)) / 20)))
            other_bursts += [Burst(s, d, o, 250e3) for s, d in ivo if s + d > 0 and s < dur]
        comps = with_background(x, _GSM_RATE_HZ, base, bursts, 250e3, others, other_bursts, n_samples, fs)
        return Emission(comps, {"system": "gsm", "carriers": 1 + len(others)})
    bw_hz = float(rng.choice(list(LTE_N_RB), p=[0.1, 0.1, 0.2, 0.3, 0.1, 0.2]))
    n_rb = LTE_N_RB[bw_hz]
    occupied = n_rb * 180e3
    if occupied < fs - 2 * 0.06 * fs:
        carrier = draw_offset(rng, fs, occupied)
    else:  # tuned inside the carrier: it covers at least 3/4 of the capture band
        carrier = float(rng.uniform(-1, 1)) * (occupied / 2 - fs / 4)
    x, rate, shift = lte_downlink(rng, n_samples, fs, n_rb=n_rb, carrier_offset_hz=carrier)
    lead = int(rng.integers(0, 2048))
    iq = place(x[lead:], rate, n_samples, fs, shift)
    lo, hi = max(carrier - occupied / 2, -fs / 2), min(carrier + occupied / 2, fs / 2)
    burst = Burst(0.0, dur, (lo + hi) / 2, hi - lo)
    comp = Component(unit_power(iq, [burst], fs), [burst], burst.center_offset_hz, burst.bandwidth_hz)
    return Emission([comp], {"system": "lte", "bandwidth_hz": bw_hz, "carrier_offset_hz": carrier})


# ------------------------------------------------------------------------------------------------------ LoRa


def lora_symbols(sf: int, bw_hz: float, shifts: list[float], rate_hz: float, *, down: list[bool]) -> np.ndarray:
    """Instantaneous frequency (Hz) of chirp symbols: each 2^SF/BW long, sweeping −BW/2 → +BW/2 (or down), starting
    at cyclic shift ``shift`` (in chips, may be fractional for the quarter down-chirp)."""
    m = 2**sf
    sps = m / bw_hz * rate_hz
    out = []
    for s, d in zip(shifts, down):
        u = (np.arange(int(round(sps))) / sps + s / m) % 1.0
        f = (u - 0.5) * bw_hz
        out.append(-f if d else f)
    return np.concatenate(out)


def lora(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A LoRa packet: SF 7–12, BW 125 kHz (80 %) / 250 / 500 kHz; 8-symbol up-chirp preamble, 2 sync symbols,
    2.25 down-chirps, 8–60 payload symbols (random cyclic shifts); the capture sees a random part of it."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    sf = int(rng.integers(7, 13))
    bw = float(rng.choice([125e3, 250e3, 500e3], p=[0.8, 0.1, 0.1]))
    m, rate = 2**sf, 4 * bw
    payload = [float(v) for v in rng.integers(0, m, int(rng.integers(8, 61)))]
    shifts = [0.0] * 8 + [float(m // 32 * 3), float(m // 32 * 4)] + [0.0, 0.0, 0.0] + payload
    down = [False] * 10 + [True, True, True] + [False] * len(payload)
    freq = lora_symbols(sf, bw, shifts, rate, down=down)
    sym_n = int(round(m / bw * rate))
    freq = np.concatenate([freq[: 12 * sym_n + sym_n // 4], freq[13 * sym_n :]])  # the 3rd down-chirp is 1/4 long
    on_s = freq.size / rate
    start = float(rng.uniform(-on_s + min(0.2 * dur, 0.5 * on_s), 0.8 * dur))
    n = native_length(n_samples, fs, rate)
    i0 = int(round(start * rate))
    track = np.zeros(n)
    a, b = max(i0, 0), min(i0 + freq.size, n)
    if b > a:
        track[a:b] = freq[a - i0 : b - i0]
    env = wf.keyed_envelope([(start, on_s)], n, rate, rise_s=20e-6)
    x = env * wf.fm(track, rate)
    off = draw_offset(rng, fs, bw)
    burst = Burst(start, on_s, off, bw)
    iq = unit_power(place(x, rate, n_samples, fs, off), [burst], fs)
    info = {"sf": sf, "bw_hz": bw, "symbol_s": m / bw, "chirp_rate_hz_per_s": bw * bw / m, "start_s": start}
    return Emission([Component(iq, [burst], off, bw)], info)
