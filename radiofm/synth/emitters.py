"""Baseband waveform generators for the 2.4 GHz ISM band and its LTE/NR neighbours.

Each generator returns a :class:`Waveform`: a complex64 burst at the emitter's own (native) sample rate,
normalised to unit mean power, with the occupied bandwidth the corpus annotates. :func:`to_band` then
resamples a burst to the recording's rate and moves it to its frequency offset in one FFT round trip, so
the emitters never need to know the receiver's sample rate.

Waveforms are spectrally faithful, not bit-exact: payload bits are random, coding and scrambling are
left out, and preambles keep their shape (periodic short training field, long training field) rather than
the standard's exact values.

| generator | modulation | native rate | annotated bandwidth |
|---|---|---|---|
| :func:`wifi_ofdm` | 802.11a/g/n OFDM, 312.5 kHz subcarriers, 0.8 µs GI | 20 / 40 MHz | 16.6 / 36.6 MHz |
| :func:`wifi_dsss` | 802.11b, 11 Mchip/s Barker, DBPSK preamble + DQPSK | 44 MHz | 22 MHz |
| :func:`gfsk` via :func:`bluetooth` / :func:`ble` | GFSK BT=0.5, h=0.32 / 0.5, 1 Msym/s | 8 MHz | 1 / 1.2 MHz |
| :func:`zigbee` | 802.15.4 O-QPSK half-sine, 2 Mchip/s | 8 MHz | 2.4 MHz |
| :func:`microwave` | swept magnetron carrier | 32 MHz | sweep span |
| :func:`ofdm_carrier` | LTE / NR OFDM, 15 / 30 kHz SCS, normal CP | fft · SCS | used subcarriers · SCS |
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.fft
import scipy.signal


@dataclass
class Waveform:
    """A baseband burst at its native rate.

    iq: (N,) complex64, unit mean power. ``bandwidth_hz`` is the occupied bandwidth to annotate, centred on
    ``center_offset_hz`` from the emitter's nominal carrier (non-zero for, e.g., an uplink RB allocation).
    """

    iq: np.ndarray
    sample_rate_hz: float
    bandwidth_hz: float
    center_offset_hz: float = 0.0


def _unit_power(x: np.ndarray) -> np.ndarray:
    p = float(np.mean(np.abs(x) ** 2)) if x.size else 0.0
    return (x / np.sqrt(p) if p > 0 else x).astype(np.complex64, copy=False)


def ramp(x: np.ndarray, n_ramp: int) -> np.ndarray:
    """Raised-cosine power ramp over the first and last ``n_ramp`` samples of ``x`` (in place; returns x)."""
    n_ramp = min(int(n_ramp), x.size // 2)
    if n_ramp > 0:
        w = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n_ramp) + 0.5) / n_ramp)).astype(np.float32)
        x[:n_ramp] *= w
        x[-n_ramp:] *= w[::-1]
    return x


def to_band(x: np.ndarray, native_rate_hz: float, sample_rate_hz: float, offset_hz: float) -> np.ndarray:
    """Resample ``x`` from ``native_rate_hz`` to ``sample_rate_hz`` and shift it by ``offset_hz``.

    x: (N,) complex at the native rate. Returns (round(N · sample_rate_hz / native_rate_hz),) complex64 at
    the output rate with the same mean power per unit time. Done in the frequency domain: the spectrum is
    moved by a whole number of bins, every component that would land outside ±sample_rate_hz/2 is dropped
    (an ideal receiver anti-alias filter, so nothing wraps), and the sub-bin remainder is a phasor.
    """
    n_in = x.size
    n_out = int(round(n_in * sample_rate_hz / native_rate_hz))
    if n_in == 0 or n_out == 0:
        return np.zeros(n_out, np.complex64)
    ratio = Fraction(int(round(sample_rate_hz)), int(round(native_rate_hz)))
    q = ratio.denominator if ratio.denominator <= 4096 else 1
    # pad so the output length is exact and both FFT lengths are cheap
    n_fft_in = q * scipy.fft.next_fast_len(-(-n_in // q))
    n_fft_out = int(round(n_fft_in * sample_rate_hz / native_rate_hz))
    spec = scipy.fft.fft(np.asarray(x, np.complex64), n=n_fft_in)
    shift = int(round(offset_hz * n_fft_in / native_rate_hz))
    k_in = np.fft.fftfreq(n_fft_in, 1.0 / n_fft_in).astype(np.int64)
    k_out = k_in + shift
    keep = (k_out >= -(n_fft_out // 2)) & (k_out <= (n_fft_out - 1) // 2)
    out_spec = np.zeros(n_fft_out, np.complex64)
    out_spec[k_out[keep] % n_fft_out] = spec[keep]
    out_spec *= np.float32(n_fft_out / n_fft_in)
    y = scipy.fft.ifft(out_spec, overwrite_x=True)[:n_out]
    residual_hz = offset_hz - shift * native_rate_hz / n_fft_in
    if residual_hz != 0.0:
        y *= tone(n_out, residual_hz / sample_rate_hz)
    return y


def tone(n: int, cycles_per_sample: float, *, block: int = 1024) -> np.ndarray:
    """exp(j·2π·f·k) for k = 0…n−1 as complex64 (n,), built as an outer product of two short tables
    (block starts × offsets inside a block), which is exact to float32 and far cheaper than n exponentials."""
    n_blocks = -(-n // block)
    w = 2 * np.pi * cycles_per_sample
    starts = np.exp(1j * w * block * np.arange(n_blocks)).astype(np.complex64)
    inner = np.exp(1j * w * np.arange(block)).astype(np.complex64)
    return (starts[:, None] * inner[None, :]).reshape(-1)[:n]


# ---------------------------------------------------------------------------------------------- Wi-Fi OFDM

_WIFI_SCS_HZ = 312_500.0
# deterministic stand-ins for the training-field values: a fixed BPSK/QPSK pattern, not the standard's table
_TRAINING = np.random.default_rng(802_11).choice(np.array([1, -1]), size=(2, 64))


def _legacy_bins(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Subcarrier indices (−32…31) and values of the legacy short (STF) or long (LTF) training field."""
    if kind == "stf":
        k = np.array([k for k in range(-24, 25, 4) if k != 0])
        return k, np.sqrt(13 / 6) * (_TRAINING[0, : k.size] + 1j * _TRAINING[0, k.size : 2 * k.size])
    k = np.array([k for k in range(-26, 27) if k != 0])
    return k, _TRAINING[1, : k.size].astype(np.complex128)


def _qam(rng: np.random.Generator, shape: tuple[int, ...], order: int) -> np.ndarray:
    """Unit-power square QAM (order 2 = BPSK, 4, 16, 64)."""
    if order == 2:
        return rng.choice(np.array([-1.0, 1.0]), size=shape).astype(np.complex128)
    m = int(round(np.sqrt(order)))
    levels = np.arange(-(m - 1), m, 2, dtype=np.float64)
    sym = rng.choice(levels, size=shape) + 1j * rng.choice(levels, size=shape)
    return sym / np.sqrt(2 * (order - 1) / 3)


def wifi_ofdm(rng: np.random.Generator, duration_s: float, *, bandwidth_hz: float = 20e6) -> Waveform:
    """An 802.11a/g/n PPDU of about ``duration_s``: legacy STF (8 µs), LTF (8 µs), SIG, then data symbols.

    20 MHz: 64-point IFFT, 52 used subcarriers (48 data + pilots ±7, ±21), null DC. 40 MHz: 128-point, legacy
    preamble duplicated in both halves, then 114 used subcarriers (pilots ±11, ±25, ±53; nulls at DC ±1).
    4 µs symbols (3.2 µs + 0.8 µs GI). Native rate = ``bandwidth_hz``.
    """
    m = int(round(bandwidth_hz / 20e6))
    if m not in (1, 2):
        raise ValueError(f"Wi-Fi OFDM bandwidth must be 20 or 40 MHz, got {bandwidth_hz / 1e6:g} MHz")
    n_fft, cp = 64 * m, 16 * m
    copies = [0] if m == 1 else [-32, 32]

    def legacy(kind: str) -> np.ndarray:
        grid = np.zeros(n_fft, np.complex128)
        k, v = _legacy_bins(kind)
        for c in copies:
            grid[(k + c) % n_fft] = v
        return np.fft.ifft(grid) * np.sqrt(n_fft)

    stf = np.tile(legacy("stf"), 3)[: 10 * 16 * m]  # ten 0.8 µs repetitions
    ltf_sym = legacy("ltf")
    ltf = np.concatenate([ltf_sym[-2 * cp :], ltf_sym, ltf_sym])

    if m == 1:
        used = np.array([k for k in range(-26, 27) if k != 0])
        pilots = np.array([-21, -7, 7, 21])
    else:
        used = np.array([k for k in range(-58, 59) if abs(k) > 1])
        pilots = np.array([-53, -25, -11, 11, 25, 53])
    n_data = max(1, int(round((duration_s - 20e-6) / 4e-6)))
    order = int(rng.choice([2, 4, 16, 64]))
    grid = np.zeros((n_data + 1, n_fft), np.complex128)
    grid[:, used % n_fft] = _qam(rng, (n_data + 1, used.size), order)
    grid[0, used % n_fft] = _qam(rng, (used.size,), 2)  # SIG is BPSK
    grid[:, pilots % n_fft] = rng.choice(np.array([-1.0, 1.0]), size=(n_data + 1, 1))
    sym = np.fft.ifft(grid, axis=1) * np.sqrt(n_fft)
    sym = np.concatenate([sym[:, -cp:], sym], axis=1).reshape(-1)
    x = np.concatenate([stf, ltf, sym])
    occupied = (2 * (26 if m == 1 else 58) + 1) * _WIFI_SCS_HZ
    return Waveform(ramp(_unit_power(x), 2 * m), bandwidth_hz, occupied)


# ---------------------------------------------------------------------------------------------- Wi-Fi DSSS

_BARKER = np.array([1, -1, 1, 1, -1, 1, 1, 1, -1, -1, -1], np.float64)
_DSSS_RATE_HZ = 44e6  # 4 samples per chip
_DSSS_TAPS = scipy.signal.firwin(41, 8.5e6, fs=_DSSS_RATE_HZ)


def wifi_dsss(rng: np.random.Generator, duration_s: float, *, short_preamble: bool = False) -> Waveform:
    """An 802.11b PPDU of about ``duration_s``: 1 Mbit/s DBPSK preamble + header, then DQPSK payload.

    Each 1 µs symbol is spread by the 11-chip Barker code (11 Mchip/s); chips are low-pass shaped to the
    ~22 MHz main lobe. Native rate 44 MHz.
    """
    n_sym = max(2, int(round(duration_s * 1e6)))
    n_pre = min(n_sym, 96 if short_preamble else 192)
    steps = np.concatenate(
        [rng.integers(0, 2, n_pre) * 2, rng.integers(0, 4, n_sym - n_pre)]
    )  # phase steps in quarter turns: DBPSK uses {0, π}, DQPSK {0, π/2, π, 3π/2}
    phase = np.cumsum(steps) * (np.pi / 2)
    chips = (np.exp(1j * phase)[:, None] * _BARKER[None, :]).reshape(-1)
    x = np.repeat(chips, 4)
    x = scipy.signal.oaconvolve(x, _DSSS_TAPS, mode="same")
    return Waveform(ramp(_unit_power(x), 44), _DSSS_RATE_HZ, 22e6)


# ------------------------------------------------------------------------------------------------ GFSK

_GFSK_SPS = 8


def gfsk(bits: np.ndarray, *, symbol_rate_hz: float = 1e6, bt: float = 0.5, h: float = 0.5) -> np.ndarray:
    """Gaussian FSK: cumulative phase of a Gaussian-filtered NRZ. bits: (K,) 0/1. Returns (K·8,) complex64."""
    sps = _GFSK_SPS
    nrz = np.repeat(2.0 * np.asarray(bits, np.float64) - 1.0, sps)
    t = np.arange(-1.5 * sps, 1.5 * sps + 1) / sps  # ±1.5 symbols
    sigma = np.sqrt(np.log(2)) / (2 * np.pi * bt)
    g = np.exp(-(t**2) / (2 * sigma**2))
    g /= g.sum()
    freq = np.convolve(nrz, g, mode="same") * (h / 2)  # cycles per symbol
    phase = 2 * np.pi * np.cumsum(freq) / sps
    return np.exp(1j * phase).astype(np.complex64)


def bluetooth(rng: np.random.Generator, duration_s: float) -> Waveform:
    """A Bluetooth BR packet: 1 Msym/s GFSK, BT = 0.5, h = 0.32 (random bits). Native rate 8 MHz."""
    n = max(8, int(round(duration_s * 1e6)))
    h = float(rng.uniform(0.28, 0.35))
    x = gfsk(rng.integers(0, 2, n), bt=0.5, h=h)
    return Waveform(ramp(x, 4 * _GFSK_SPS), _GFSK_SPS * 1e6, 1e6)


_BLE_ADV_AA = 0x8E89BED6


def ble(rng: np.random.Generator, duration_s: float) -> Waveform:
    """A BLE 1M advertising packet: preamble 0xAA, access address 0x8E89BED6, random PDU; GFSK h = 0.5."""
    n = max(40, int(round(duration_s * 1e6)))
    head = np.array([(0xAA >> i) & 1 for i in range(8)] + [(_BLE_ADV_AA >> i) & 1 for i in range(32)])
    bits = np.concatenate([head, rng.integers(0, 2, n - head.size)])
    x = gfsk(bits, bt=0.5, h=0.5)
    return Waveform(ramp(x, 4 * _GFSK_SPS), _GFSK_SPS * 1e6, 1.2e6)


# ------------------------------------------------------------------------------------------------ Zigbee

_ZIGBEE_RATE_HZ = 8e6  # 4 samples per 0.5 µs chip


def zigbee(rng: np.random.Generator, duration_s: float) -> Waveform:
    """An 802.15.4 2.4 GHz packet: 2 Mchip/s O-QPSK with half-sine pulses (MSK-like). Native rate 8 MHz.

    Even chips ride on I, odd chips on Q delayed by one chip; each pulse lasts two chips (1 µs).
    """
    n_pairs = max(4, int(round(duration_s * 1e6)))  # one I chip and one Q chip per µs
    pulse = np.sin(np.pi * (np.arange(8) + 0.5) / 8)
    i_chips = rng.choice(np.array([-1.0, 1.0]), n_pairs)
    q_chips = rng.choice(np.array([-1.0, 1.0]), n_pairs)
    i = (i_chips[:, None] * pulse[None, :]).reshape(-1)
    q = (q_chips[:, None] * pulse[None, :]).reshape(-1)
    x = np.zeros(i.size + 4, np.complex128)
    x[:-4] += i
    x[4:] += 1j * q
    return Waveform(ramp(_unit_power(x), 8), _ZIGBEE_RATE_HZ, 2.4e6)


# --------------------------------------------------------------------------------------------- microwave

_MICROWAVE_RATE_HZ = 32e6


def microwave(rng: np.random.Generator, duration_s: float, *, sweep_hz: float) -> Waveform:
    """One on-period of a microwave oven magnetron: a carrier swept over ``sweep_hz`` (up then down across
    the half mains cycle), with frequency jitter and a half-sine envelope. Native rate 32 MHz."""
    rate = _MICROWAVE_RATE_HZ
    n = max(16, int(round(duration_s * rate)))
    u = np.arange(n) / n
    sweep = float(min(sweep_hz, 0.8 * rate))
    # a smooth random wander on top of the sweep, made cheaply at a low rate then interpolated
    knots = rng.standard_normal(33).cumsum()
    knots = (knots - knots.mean()) / (np.ptp(knots) + 1e-9)
    wander = np.interp(u, np.linspace(0, 1, knots.size), knots) * 0.15 * sweep
    f = sweep * (0.45 - 0.45 * np.cos(2 * np.pi * u)) - 0.45 * sweep + wander
    # magnetron noise as fast random FM (≈ 2 µs correlation), which broadens the line but keeps it in band
    jitter = rng.standard_normal(max(2, n // 64))
    f += np.interp(np.arange(n), np.linspace(0, n - 1, jitter.size), jitter) * 150e3
    f = np.clip(f, -sweep / 2, sweep / 2)
    phase = 2 * np.pi * np.cumsum(f) / rate
    env = np.sqrt(np.sin(np.pi * (u + 0.5 / n)))
    return Waveform(_unit_power(env * np.exp(1j * phase)), rate, sweep + 1e6)


# --------------------------------------------------------------------------------------------- LTE / NR


def ofdm_carrier(
    rng: np.random.Generator,
    duration_s: float,
    *,
    scs_hz: float,
    n_rb: int,
    fft_size: int,
    rb_start: int = 0,
    rb_count: int | None = None,
    dc_null: bool = True,
) -> Waveform:
    """A light LTE/NR OFDM signal: ``n_rb`` resource blocks of 12 subcarriers, QAM on the allocated
    ``rb_start … rb_start + rb_count`` (all by default), normal CP (≈7 %), native rate ``fft_size · scs_hz``.

    The returned bandwidth and centre offset describe the allocated RBs, so an uplink allocation on part of
    the carrier is annotated where it really sits. ``dc_null`` leaves the DC subcarrier empty (LTE).
    """
    rb_count = n_rb - rb_start if rb_count is None else rb_count
    rate = fft_size * scs_hz
    cp = fft_size * 9 // 128
    n_samples = max(1, int(round(duration_s * rate)))
    n_sym = -(-n_samples // (fft_size + cp))
    n_sc = 12 * n_rb
    k = np.arange(n_sc) - n_sc // 2  # subcarrier indices centred on DC
    if dc_null:
        k = np.where(k >= 0, k + 1, k)
    alloc = k[12 * rb_start : 12 * (rb_start + rb_count)]
    grid = np.zeros((n_sym, fft_size), np.complex64)
    order = int(rng.choice([4, 16, 64]))
    grid[:, alloc % fft_size] = _qam(rng, (n_sym, alloc.size), order)
    sym = scipy.fft.ifft(grid, axis=1, workers=1) * np.sqrt(fft_size)
    x = np.concatenate([sym[:, -cp:], sym], axis=1).reshape(-1)[:n_samples]
    center = 0.5 * (alloc[0] + alloc[-1]) * scs_hz
    bw = (alloc[-1] - alloc[0] + 1) * scs_hz
    return Waveform(ramp(_unit_power(x), 8), rate, bw, center)
