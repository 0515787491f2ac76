"""OFDM classes seen through a narrow receiver: Wi-Fi (802.11a/g/n/ac, 20–80 MHz), an LTE downlink carrier (used by
the cellular class) and DAB (mode I).

A 2 MS/s capture sees only a slice of a 20 MHz Wi-Fi or LTE carrier. :func:`ofdm_slice` synthesises exactly that
slice: only the subcarriers that fall inside the capture band are modulated, with a small inverse FFT of size N
(the smallest power of two with N·Δf ≥ fs) whose cyclic prefix keeps the standard's duration (a CP of 1/4 or
144/2048 of the useful symbol is a whole number of samples at every such N). The result equals, inside the band,
what the full-rate waveform would give after the receiver's filter, at a small fraction of the cost.

Sources: Wi-Fi — IEEE 802.11-2020 §17 (OFDM PHY): 312.5 kHz subcarriers, 3.2 µs + 0.8 µs symbols, 52 used
subcarriers of 64 at 20 MHz (±26, null DC), 8 µs short + 8 µs long training fields, SIG; HT/VHT 40/80 MHz use ±58 /
±122; SIFS 16 µs (5 GHz) / 10 µs (2.4 GHz), beacons every 102.4 ms. LTE — 3GPP TS 36.211 §6: 15 kHz subcarriers,
7 symbols per 0.5 ms slot, normal CP 160/144 Ts (Ts = 1/30.72 MHz), CRS every 3rd subcarrier (2 ports) in symbols
0 and 4, PSS/SSS/PBCH on the central 72 subcarriers; TS 36.104: N_RB 6/15/25/50/75/100 for 1.4–20 MHz. DAB — ETSI
EN 300 401 §14: mode I, 1536 carriers at 1 kHz (1.536 MHz), T = 1/2 048 000 s, Tu = 2048 T, guard 504 T, null
symbol 2656 T, 76 symbols per 96 ms frame, π/4-DQPSK.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from radiofm.synth import emitters
from radiofm.synth.signals.common import (
    Burst,
    Component,
    Emission,
    add,
    draw_offset,
    native_length,
    on_power_scale,
    place,
    random_bursts,
)


def slice_fft_size(scs_hz: float, sample_rate_hz: float) -> int:
    """Smallest power of two N (≥ 8) with N·scs ≥ the capture rate."""
    return max(8, 1 << int(np.ceil(np.log2(sample_rate_hz / scs_hz - 1e-9))))


def ofdm_slice(
    grid: np.ndarray,
    k: np.ndarray,
    cp_fraction: np.ndarray,
    *,
    scs_hz: float,
    sample_rate_hz: float,
    carrier_offset_hz: float,
) -> tuple[np.ndarray, float, float]:
    """The part of an OFDM signal that lands in the capture band.

    Args:
        grid: (S, K) complex symbols on subcarriers ``k`` (K,) (integers, 0 = the carrier's centre); an all-zero
            row is a silent symbol (DAB's null symbol).
        cp_fraction: (S,) cyclic-prefix length of each symbol as a fraction of the useful length.
        scs_hz: subcarrier spacing; carrier_offset_hz: the carrier centre relative to the capture centre.

    Returns:
        ``(x, native_rate_hz, shift_hz)``: x (sum of symbol lengths,) complex64 at ``native_rate_hz`` = N·scs, to be
        moved by ``shift_hz`` (|shift| ≤ scs/2) with :func:`~radiofm.synth.signals.common.place`.
    """
    n_fft = slice_fft_size(scs_hz, sample_rate_hz)
    k0 = int(round(-carrier_offset_hz / scs_hz))  # the subcarrier nearest the capture centre
    b = np.asarray(k) - k0
    visible = (np.abs(b) < n_fft // 2) & (np.abs(carrier_offset_hz + np.asarray(k) * scs_hz) < sample_rate_hz / 2)
    freq = np.zeros((grid.shape[0], n_fft), np.complex64)
    freq[:, b[visible] % n_fft] = grid[:, visible]
    sym = scipy.fft.ifft(freq, axis=1, workers=1) * np.float32(np.sqrt(n_fft))
    cps = np.rint(np.asarray(cp_fraction) * n_fft).astype(np.int64)
    if cps.max(initial=0) > n_fft:
        raise ValueError(f"cyclic prefix longer than the symbol ({cps.max()} > {n_fft} samples)")
    starts = np.concatenate([[0], np.cumsum(cps + n_fft)[:-1]])
    out = np.empty(int((cps + n_fft).sum()), np.complex64)
    for c in np.unique(cps):  # one vectorised scatter per distinct CP length
        rows = np.flatnonzero(cps == c)
        block = np.concatenate([sym[rows, n_fft - c :], sym[rows]], axis=1)  # (R, c + N)
        out[starts[rows, None] + np.arange(c + n_fft)] = block
    return out, n_fft * scs_hz, carrier_offset_hz + k0 * scs_hz


def _qam(rng: np.random.Generator, shape: tuple[int, ...], order: int) -> np.ndarray:
    m = int(round(np.sqrt(order)))
    levels = np.arange(-(m - 1), m, 2, dtype=np.float32)
    sym = rng.choice(levels, size=shape) + 1j * rng.choice(levels, size=shape)
    return (sym / np.sqrt(2 * (order - 1) / 3)).astype(np.complex64)


# ----------------------------------------------------------------------------------------------------- Wi-Fi

_WIFI_SCS_HZ = 312.5e3
_WIFI_EDGE = {20: 26, 40: 58, 80: 122}  # highest used subcarrier index per channel width (MHz)
_WIFI_TRAINING = np.random.default_rng(80211).choice(np.array([1.0, -1.0]), size=(2, 256))  # fixed stand-ins


def _wifi_subcarriers(width_mhz: int, carrier_offset: float, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Used subcarriers of a channel that fall in the capture band, and their STF and LTF values."""
    edge = _WIFI_EDGE[width_mhz]
    k = np.arange(-edge, edge + 1)
    k = k[np.abs(k) > (0 if width_mhz == 20 else 1)]
    k = k[np.abs(carrier_offset + k * _WIFI_SCS_HZ) < fs / 2 + _WIFI_SCS_HZ]
    stf = np.where(k % 4 == 0, _WIFI_TRAINING[0, k + 128] * (1 + 1j) * np.sqrt(13 / 12), 0).astype(np.complex64)
    return k, stf, _WIFI_TRAINING[1, k + 128].astype(np.complex64)


def _wifi_ppdus(
    rng: np.random.Generator, n_data: list[int], width_mhz: int, fs: float, carrier_offset: float
) -> tuple[list[np.ndarray], float, float]:
    """PPDUs with ``n_data`` data symbols each: STF (two 4 µs periods of the 0.8 µs pattern), LTF (1.6 µs GI +
    2 × 3.2 µs), BPSK SIG, QAM data. All of them go through one :func:`ofdm_slice` call (one batched transform).
    Returns (the PPDUs at the native rate, native rate, shift) as :func:`ofdm_slice`."""
    k, stf, ltf = _wifi_subcarriers(width_mhz, carrier_offset, fs)
    rows = np.array(n_data) + 5  # STF, STF, LTF, LTF, SIG + data
    grid = _qam(rng, (int(rows.sum()), k.size), int(rng.choice([4, 16, 64, 256])))
    cp = np.full(grid.shape[0], 0.25)
    first = np.concatenate([[0], np.cumsum(rows)[:-1]])
    for j, v, c in ((0, stf, 0.25), (1, stf, 0.25), (2, ltf, 0.5), (3, ltf, 0.0)):
        grid[first + j], cp[first + j] = v, c
    grid[first + 4] = rng.choice(np.array([-1.0, 1.0], np.float32), (first.size, k.size))  # SIG: BPSK
    x, rate, shift = ofdm_slice(grid, k, cp, scs_hz=_WIFI_SCS_HZ, sample_rate_hz=fs, carrier_offset_hz=carrier_offset)
    n_fft = int(round(rate / _WIFI_SCS_HZ))
    lengths = rows * (n_fft + n_fft // 4)  # 1.25 N per symbol on average (the LTF pair shares a 0.5 N prefix)
    return np.split(x, np.cumsum(lengths)[:-1]), rate, shift


def wifi(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A Wi-Fi channel (20/40/80 MHz OFDM) seen through the capture band: the primary station's data PPDUs
    (0.1–3 ms), SIFS-spaced ACKs, other stations' traffic and beacons; channel busy 5–60 % of the time.

    The capture is tuned inside the channel (a slice of it; near the channel's edge ≤ 1/4 of the band is empty);
    802.11b DSSS traffic (11 Mchip/s) is added on 2.4 GHz channels 30 % of the time.
    """
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    width = int(rng.choice([20, 40, 80], p=[0.6, 0.3, 0.1]))
    occupied = (2 * _WIFI_EDGE[width] + 1) * _WIFI_SCS_HZ
    carrier = float(rng.uniform(-1, 1)) * (occupied / 2 - fs / 4)  # the channel covers ≥ 3/4 of the capture band
    dsss = width == 20 and rng.random() < 0.3
    busy = float(rng.uniform(0.05, 0.6))
    sifs = 10e-6 if rng.random() < 0.5 else 16e-6
    mean_len = 1e-3
    starts = [t for t, _ in random_bursts(rng, dur, rate_hz=busy / mean_len / (1 - busy + 1e-3), on_s=mean_len)]
    mine = rng.random(len(starts)) < 0.6
    if not mine.any():  # the primary station sends at least one PPDU in the capture
        mine[int(rng.integers(0, len(starts)))] = True
    n_data = [max(1, int(np.exp(rng.uniform(np.log(0.1e-3), np.log(3e-3))) / 4e-6) - 5) for _ in starts]
    ppdus, rate, shift = _wifi_ppdus(rng, n_data + [2] * len(starts), width, fs, carrier)  # data, then ACKs
    n_native = native_length(n_samples, fs, rate) + 4096
    bufs = [np.zeros(n_native, np.complex64), np.zeros(n_native, np.complex64)]  # primary, others
    bursts = []
    for i, t in enumerate(starts):
        x, ack = ppdus[i], ppdus[len(starts) + i]  # an ACK: 16 µs preamble + SIG + 2 symbols ≈ 28 µs
        _lay(bufs[0 if mine[i] else 1], x * (1.0 if mine[i] else 10 ** (rng.uniform(-20, 3) / 20)), t, rate)
        _lay(bufs[1], ack * 10 ** (rng.uniform(-15, 5) / 20), t + x.size / rate + sifs, rate)
        if mine[i]:
            bursts.append(Burst(t, x.size / rate, 0.0, 0.0))
    lo, hi = max(carrier - occupied / 2, -fs / 2), min(carrier + occupied / 2, fs / 2)
    center, bw = (lo + hi) / 2, hi - lo
    for b in bursts:
        b.center_offset_hz, b.bandwidth_hz = center, bw
    out = [place(buf[2048:], rate, n_samples, fs, shift) for buf in bufs]  # drop the lead-in
    if dsss:  # 802.11b beacons/data at 1–11 Mb/s from another network on an overlapping channel
        for t, d in random_bursts(rng, dur, rate_hz=float(rng.uniform(5, 40)), on_s=float(rng.uniform(0.3e-3, 2e-3))):
            w = emitters.wifi_dsss(rng, d)
            add(out[1], w.iq * 10 ** (rng.uniform(-15, 0) / 20), w.sample_rate_hz, fs, carrier, start=round(t * fs))
    scale = on_power_scale(out[0], bursts, fs)
    comps = [Component(out[0] * scale, bursts, center, bw), Component(out[1] * scale, [], center, bw)]
    return Emission(comps, {"width_mhz": width, "carrier_offset_hz": carrier, "busy": busy, "dsss": dsss})


def _lay(buf: np.ndarray, x: np.ndarray, t: float, rate: float) -> None:
    a = int(round(t * rate)) + 2048  # 2048 samples of lead-in: bursts may start before the capture
    a0, b0 = max(a, 0), min(a + x.size, buf.size)
    if b0 > a0:
        buf[a0:b0] += x[a0 - a : b0 - a]


# ------------------------------------------------------------------------------------------------------- LTE

LTE_N_RB = {1.4e6: 6, 3e6: 15, 5e6: 25, 10e6: 50, 15e6: 75, 20e6: 100}


def lte_downlink(
    rng: np.random.Generator, n_samples: int, sample_rate_hz: float, *, n_rb: int, carrier_offset_hz: float
) -> tuple[np.ndarray, float, float]:
    """A continuous FDD LTE downlink slice: per-subframe PDCCH (1–3 symbols) and PDSCH on 20–100 % of the RBs,
    CRS (two ports: every 3rd subcarrier of symbols 0 and 4 of each slot), PSS/SSS/PBCH on the central 72
    subcarriers. Returns ``(x, native_rate_hz, shift_hz)`` as :func:`ofdm_slice`, starting at a random point of
    the radio frame and covering the capture."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    n_sc = 12 * n_rb
    k = np.arange(n_sc) - n_sc // 2
    k = np.where(k >= 0, k + 1, k)  # DC subcarrier unused
    vis = np.abs(carrier_offset_hz + k * 15e3) < fs / 2  # only the subcarriers the capture sees are drawn
    k, sc = k[vis], np.flatnonzero(vis)
    rb = sc // 12
    first = int(rng.integers(0, 140))  # symbol index within the 10 ms frame at the capture start
    n_sym = int(np.ceil(dur * 14e3)) + 2
    sym_idx = (first + np.arange(n_sym)) % 140
    pos = sym_idx % 7  # position in the slot
    slot = sym_idx // 7
    grid = np.zeros((n_sym, k.size), np.complex64)
    order = int(rng.choice([4, 16, 64]))
    rb_load = float(rng.uniform(0.2, 1.0))
    for s0 in range(0, n_sym, 14):  # one scheduling decision per subframe (approximately aligned)
        cols = (rng.random(n_rb) < rb_load)[rb]
        grid[s0 : s0 + 14, cols] = _qam(rng, (min(14, n_sym - s0), int(cols.sum())), order)
    ctrl = (slot % 2 == 0) & (pos < int(rng.integers(1, 4)))  # PDCCH: first 1–3 symbols of each subframe
    grid[ctrl] = _qam(rng, (int(ctrl.sum()), k.size), 4) * (rng.random((int(ctrl.sum()), k.size)) < 0.7)
    crs = ((pos == 0) | (pos == 4))[:, None] & (sc % 3 == 0)[None, :]
    grid[crs] = np.sqrt(2) * _qam(rng, (int(crs.sum()),), 4)
    centre = np.abs(k) <= 36
    sync = ((slot % 10 == 0) & (pos >= 5)) | ((slot == 1) & (pos < 4))  # PSS/SSS (slots 0, 10) and PBCH
    grid[np.ix_(sync, centre)] = _qam(rng, (int(sync.sum()), int(centre.sum())), 4)
    cp = np.where(pos == 0, 160 / 2048, 144 / 2048)
    return ofdm_slice(grid, k, cp, scs_hz=15e3, sample_rate_hz=fs, carrier_offset_hz=carrier_offset_hz)


# ------------------------------------------------------------------------------------------------------- DAB

DAB_T_S = 1 / 2.048e6


def dab(rng: np.random.Generator, n_samples: int, sample_rate_hz: float) -> Emission:
    """A DAB ensemble (mode I): 96 ms frames of a 1.297 ms null symbol and 76 π/4-DQPSK symbols of 1.246 ms on
    1536 carriers at 1 kHz, starting at a random point of the frame."""
    fs, dur = sample_rate_hz, n_samples / sample_rate_hz
    k = np.array([i for i in range(-768, 769) if i != 0])
    frame_pos = int(rng.integers(0, 77))
    n_sym = int(np.ceil(dur / (2552 * DAB_T_S))) + 2
    idx = (frame_pos + np.arange(n_sym)) % 77  # 0 = null symbol, 1 = phase reference, 2…76 data
    phase = np.cumsum(rng.integers(0, 4, (n_sym, k.size)) * 2 + 1, axis=0) * (np.pi / 4)
    grid = np.exp(1j * (phase + rng.uniform(0, 2 * np.pi, k.size))).astype(np.complex64)
    grid[idx == 0] = 0
    cp = np.where(idx == 0, (2656 - 2048) / 2048, 504 / 2048)
    off = draw_offset(rng, fs, 1.536e6)
    x, rate, shift = ofdm_slice(grid, k, cp, scs_hz=1e3, sample_rate_hz=fs, carrier_offset_hz=off)
    lead = int(round(float(rng.uniform(0, 2552)) * DAB_T_S * rate))  # start mid-symbol
    out = place(x[lead:], rate, n_samples, fs, shift)
    t_sym = np.cumsum(np.concatenate([[0.0], (1 + cp[:-1]) * 2048 * DAB_T_S])) - lead / rate
    nulls = [float(t) for t, i in zip(t_sym, idx) if i == 0 and -2656 * DAB_T_S < t < dur]
    bw = 1.536e6
    burst = Burst(0.0, dur, off, bw)
    comp = Component(out * on_power_scale(out, [burst], fs), [burst], off, bw)
    return Emission([comp], {"null_symbol_starts_s": nulls})
