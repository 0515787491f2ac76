"""Signal builders of ``benchmarks/annotate_noncellular.py`` (its ``SPECS`` lists the captures): 40 ms at
61.44 MS/s (:data:`N` complex64 samples) of emitters that are neither NR nor LTE, the short-range ones from
:mod:`radiofm.synth.emitters`, ISM scenes from :mod:`radiofm.synth.ism` (its cellular source left out), CommRad classes
from :mod:`radiofm.synth.signals`, and the rest (tones, combs, chirps, radar, FM, DVB-T, OFDM, WiMAX, RRC QAM) here.
The noise has unit power over the 61.44 MHz band; each signal is scaled to its in-band SNR (its mean power while on,
over the noise in its nominal bandwidth). :func:`render` draws capture ``i`` from ``default_rng([56 + seed, i])``
(seed 0: the set session 56's review measured, byte for byte); ISM scenes and CommRad captures take their own seeds
plus ``1000 x seed``.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from radiofm.synth import emitters
from radiofm.synth import impairments as imp
from radiofm.synth.signals.capture import json_ready

FS = 61.44e6
N = 2_457_600
DUR = N / FS
ENTROPY = 56  # capture i draws from default_rng([ENTROPY + seed, i])


def place(buf, x, rate, offset_hz, start):
    """Add ``x`` (at ``rate``) into ``buf`` shifted by ``offset_hz``, from sample ``start`` on (phase-continuous)."""
    if rate == FS:
        y = np.asarray(x, np.complex64) * emitters.tone(len(x), offset_hz / FS)
    else:
        y = emitters.to_band(np.asarray(x), rate, FS, offset_hz)
    y = y * np.complex64(np.exp(2j * np.pi * offset_hz * start / FS))
    a, b = max(start, 0), min(start + y.size, buf.size)
    if b > a:
        buf[a:b] += y[a - start : b - start]


def scale_to_snr(x, snr_db, bw_hz, duty):
    """``x`` scaled so its mean power while on is snr x bw / FS (the noise: unit power over FS)."""
    p_on = float(np.mean(np.abs(x) ** 2)) / max(duty, 1e-9)
    return (x * np.sqrt(10 ** (snr_db / 10) * bw_hz / FS / p_on)).astype(np.complex64)


def noise(rng, power=1.0):
    return imp.thermal_noise(N, power=power, rng=rng)


def bursts(rng, busy, dmin, dmax, gap_min):
    """(start_s, duration_s) bursts covering about ``busy`` of the 40 ms."""
    out, t = [], float(rng.uniform(0, 1e-3))
    while t < DUR:
        d = float(rng.uniform(dmin, dmax))
        out.append((t, d))
        mean_gap = d * (1 - busy) / busy
        t += d + gap_min + float(rng.exponential(max(mean_gap - gap_min, 1e-6)))
    return out


def duty_of(spans):
    m = np.zeros(N, bool)
    for t, d in spans:
        m[max(int(t * FS), 0) : min(int((t + d) * FS), N)] = True
    return float(m.mean())


def on_mask(spans):
    m = np.zeros(N, np.float32)
    for t, d in spans:
        m[int(t * FS) : int((t + d) * FS)] = 1
    return m


def qam(rng, shape, order):
    if order == 2:
        return rng.choice([-1.0, 1.0], size=shape).astype(np.complex128)
    m = int(round(np.sqrt(order)))
    lv = np.arange(-(m - 1), m, 2, dtype=float)
    s = rng.choice(lv, size=shape) + 1j * rng.choice(lv, size=shape)
    return s / np.sqrt(2 * (order - 1) / 3)


def ofdm(rng, n_sym, fft, used_k, cp, order=16, pilots=None):
    """CP-OFDM at the native rate: QAM on subcarriers ``used_k`` (centred on 0), ``pilots(l) -> (k, values)``
    overriding some; a cyclic prefix of ``cp`` samples (an int, or one per symbol)."""
    g = np.zeros((n_sym, fft), np.complex128)
    g[:, used_k % fft] = qam(rng, (n_sym, used_k.size), order)
    if pilots is not None:
        for l in range(n_sym):
            k, v = pilots(l)
            g[l, k % fft] = v
    s = np.fft.ifft(g, axis=1) * np.sqrt(fft)
    cps = [cp] * n_sym if np.isscalar(cp) else cp
    return np.concatenate([np.concatenate([s[l, -cps[l] :] if cps[l] else s[l, :0], s[l]]) for l in range(n_sym)])


def rrc(alpha, sps, span=12):
    """Root-raised-cosine taps (unit energy), ``span`` symbols either side."""
    t = np.arange(-span * sps, span * sps + 1) / sps
    h = np.zeros_like(t)
    for i, ti in enumerate(t):
        if abs(ti) < 1e-12:
            h[i] = 1 - alpha + 4 * alpha / np.pi
        elif abs(abs(ti) - 1 / (4 * alpha)) < 1e-9:
            a = np.pi / (4 * alpha)
            h[i] = alpha / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(a) + (1 - 2 / np.pi) * np.cos(a))
        else:
            num = np.sin(np.pi * ti * (1 - alpha)) + 4 * alpha * ti * np.cos(np.pi * ti * (1 + alpha))
            h[i] = num / (np.pi * ti * (1 - (4 * alpha * ti) ** 2))
    return h / np.sqrt(np.sum(h**2))


# Generators. The scaled ones return (clean signal at FS, bandwidth for the SNR, duty, info); the raw ones
# (RAW) return (capture, centre frequency or None, info).


def g_wifi(rng, *, bw=20e6, busy=0.4, continuous=False, offset=0.0):
    buf = np.zeros(N, np.complex64)
    spans = [(0.0, DUR + 1e-4)] if continuous else bursts(rng, busy, 0.2e-3, 2.5e-3, 34e-6)
    for t, d in spans:
        w = emitters.wifi_ofdm(rng, d, bandwidth_hz=bw)
        place(buf, w.iq, w.sample_rate_hz, offset, int(t * FS))
        if not continuous and rng.random() < 0.9:  # an ACK after SIFS
            a = emitters.wifi_ofdm(rng, 20e-6 + 4e-6 * int(rng.integers(2, 7)), bandwidth_hz=bw)
            place(buf, a.iq * 0.5, a.sample_rate_hz, offset, int((t + d + 16e-6) * FS))
    occupied = 16.6e6 if bw == 20e6 else 36.6e6
    return buf, occupied, (1.0 if continuous else duty_of(spans)), {"bw": bw, "busy": busy, "continuous": continuous}


def g_dsss(rng, *, busy=0.3):
    buf = np.zeros(N, np.complex64)
    spans = bursts(rng, busy, 0.3e-3, 3e-3, 50e-6)
    for t, d in spans:
        w = emitters.wifi_dsss(rng, d)
        place(buf, w.iq, w.sample_rate_hz, 5e6, int(t * FS))
    return buf, 22e6, duty_of(spans), {"busy": busy}


def g_bluetooth(rng, *, piconets=3, activity=0.8, fc=2441e6):
    buf = np.zeros(N, np.complex64)
    spans = []
    for p in range(piconets):
        level = 1.0 if p == 0 else 10 ** (rng.uniform(-10, 0) / 20)
        t = -float(rng.uniform(0, 625e-6))
        while t < DUR:
            if rng.random() < activity:
                k = int(rng.integers(79))
                d = float(rng.choice([126e-6, 366e-6, 1622e-6, 2870e-6], p=[0.3, 0.4, 0.2, 0.1]))
                off = 2402e6 + k * 1e6 - fc
                if abs(off) < FS / 2 - 1e6:
                    w = emitters.bluetooth(rng, d)
                    place(buf, w.iq * level, w.sample_rate_hz, off, int(t * FS))
                    spans.append((t, d))
                t += 625e-6 * (1 if d < 400e-6 else 3 if d < 2e-3 else 5)
            t += 625e-6
    return buf, 1e6, duty_of(spans), {"piconets": piconets, "activity": activity}  # SNR per packet, in 1 MHz


def g_ble(rng, *, advertisers=6, fc=2440e6):
    buf = np.zeros(N, np.complex64)
    spans = []
    for _ in range(advertisers):
        interval = float(rng.uniform(5e-3, 20e-3))
        d = 1e-6 * int(rng.integers(128, 377))
        t = -float(rng.uniform(0, interval))
        while t < DUR:
            tc = t
            for f in (2402e6, 2426e6, 2480e6):  # the three advertising channels
                if abs(f - fc) < FS / 2 - 1e6 and tc + d > 0:
                    w = emitters.ble(rng, d)
                    place(buf, w.iq, w.sample_rate_hz, f - fc, int(tc * FS))
                    spans.append((tc, d))
                tc += d + float(rng.uniform(0.15e-3, 1e-3))
            t += interval + float(rng.uniform(0, 10e-3))
    return buf, 1.2e6, duty_of(spans), {"advertisers": advertisers}


def g_zigbee(rng, *, channels=(2425e6, 2440e6, 2460e6), busy=0.5, fc=2440e6):
    buf = np.zeros(N, np.complex64)
    spans = []
    for f in channels:
        bl = bursts(rng, busy, 0.5e-3, 4.256e-3, 0.5e-3)
        for t, d in bl:
            w = emitters.zigbee(rng, d)
            place(buf, w.iq, w.sample_rate_hz, f - fc, int(t * FS))
        spans += bl
    return buf, 2.4e6, duty_of(spans) * len(channels), {"channels": [c / 1e6 for c in channels], "busy": busy}


def g_microwave(rng, *, sweep=20e6, fc=2450e6):
    buf = np.zeros(N, np.complex64)
    period = 1 / 50.0  # on for half of each mains cycle
    centre = float(rng.uniform(2.450e9, 2.460e9))
    spans = []
    t = -float(rng.uniform(0, period))
    while t < DUR:
        w = emitters.microwave(rng, 0.5 * period, sweep_hz=sweep)
        place(buf, w.iq, w.sample_rate_hz, centre - fc, int(t * FS))
        spans.append((t, 0.5 * period))
        t += period
    return buf, sweep + 1e6, duty_of(spans), {"sweep": sweep}


def g_noise_band(rng, *, bw=10e6, busy=1.0, offset=3e6):
    spec = np.fft.fft(noise(rng))
    spec[np.abs(np.fft.fftfreq(N, 1 / FS) - offset) > bw / 2] = 0
    x = np.fft.ifft(spec).astype(np.complex64)
    duty = 1.0
    if busy < 1.0:
        m = on_mask(bursts(rng, busy, 0.3e-3, 3e-3, 0.2e-3))
        x *= m
        duty = float(m.mean())
    return x, bw, duty, {"bw": bw, "busy": busy}


def g_tones(rng, *, freqs, bw=1e6):
    t = np.arange(N) / FS
    x = np.zeros(N, np.complex64)
    for f in freqs:
        x += np.exp(1j * (2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))).astype(np.complex64)
    return x, bw, 1.0, {"freqs_hz": [float(f) for f in freqs][:8], "n_tones": len(freqs)}


def g_comb(rng, *, spacing, n_tones, offset=0.0):
    k = np.arange(n_tones) - n_tones // 2
    spec = np.zeros(N, np.complex128)
    spec[np.round((offset + k * spacing) * N / FS).astype(int) % N] = np.exp(2j * np.pi * rng.random(n_tones))
    return np.fft.ifft(spec).astype(np.complex64), spacing * n_tones, 1.0, {"spacing_hz": spacing, "n_tones": n_tones}


def g_chirp(rng, *, sweep=20e6, period=200e-6):
    tm = np.mod(np.arange(N) / FS, period)
    phase = 2 * np.pi * (-sweep / 2 * tm + 0.5 * sweep / period * tm**2)
    return np.exp(1j * phase).astype(np.complex64), sweep, 1.0, {"sweep": sweep, "period": period}


def g_radar(rng, *, pw=20e-6, bw=5e6, pri=0.5e-3, offset=-8e6):
    x = np.zeros(N, np.complex64)
    n_p = int(pw * FS)
    tp = np.arange(n_p) / FS
    pulse = np.exp(1j * 2 * np.pi * (-bw / 2 * tp + 0.5 * bw / pw * tp**2)) if bw > 0 else np.ones(n_p)
    starts = np.arange(float(rng.uniform(0, pri)), DUR - pw, pri)
    for s in starts:
        a = int(s * FS)
        x[a : a + n_p] = pulse * np.exp(2j * np.pi * offset * (a + np.arange(n_p)) / FS)
    return x, max(bw, 1 / pw), len(starts) * pw / DUR, {"pw": pw, "bw": bw, "pri": pri}


def fm_station(rng, dev=75e3):
    """Wideband FM of 15 kHz noise audio and a 19 kHz pilot."""
    ar = 256e3
    n_a = int(DUR * ar) + 2
    b, c = scipy.signal.butter(4, 15e3, fs=ar)
    a = scipy.signal.lfilter(b, c, rng.standard_normal(n_a))
    a = a / (np.max(np.abs(a)) + 1e-9) * 0.85
    ta = np.arange(n_a) / ar
    m = np.interp(np.arange(N) / FS, ta, a + 0.1 * np.sin(2 * np.pi * 19e3 * ta))
    return np.exp(1j * 2 * np.pi * dev * np.cumsum(m) / FS).astype(np.complex64)


def g_fm(rng, *, n_stations=1, span=20e6):
    x = np.zeros(N, np.complex64)
    if n_stations == 1:
        offs, levels = [2.3e6], [1.0]
    else:
        offs = rng.choice(np.arange(-span / 2, span / 2, 200e3), n_stations, replace=False)
        levels = [1.0] + list(10 ** (rng.uniform(-25, 0, n_stations - 1) / 20))
    for o, level in zip(offs, levels):
        x += level * fm_station(rng) * emitters.tone(N, o / FS)
    return x / np.sqrt(np.sum(np.square(levels))), 200e3, 1.0, {"stations": n_stations}


def g_dvbt(rng, *, mode="8k", guard=0.25, offset=1.5e6):
    rate = 64e6 / 7
    fft, n_k = (8192, 6817) if mode == "8k" else (2048, 1705)
    cp = int(fft * guard)
    n_sym = int(np.ceil(DUR * rate / (fft + cp))) + 1
    k = np.arange(n_k) - (n_k - 1) // 2

    def pilots(l):  # scattered pilots on every 12th carrier, shifted by 3 per symbol, boosted 4/3
        kk = k[(np.arange(n_k) % 12) == (3 * (l % 4))]
        return kk, (4 / 3) * rng.choice([-1.0, 1.0], kk.size)

    x = ofdm(rng, n_sym, fft, k, cp, order=64, pilots=pilots)
    buf = np.zeros(N, np.complex64)
    place(buf, x, rate, offset, -int(rng.integers(0, 4000)))
    return buf, n_k * rate / fft, 1.0, {"mode": mode, "guard": guard, "scs_hz": rate / fft}


def g_ofdm(rng, *, rate, fft, n_used, cp, dc_null=True, order=64, offset=0.0, busy=1.0):
    k = np.arange(-(n_used // 2), n_used // 2 + (0 if dc_null else 1))
    if dc_null:
        k = k[k != 0]
    x = ofdm(rng, int(np.ceil(DUR * rate / (fft + cp))) + 1, fft, k, cp, order=order)
    buf = np.zeros(N, np.complex64)
    duty = 1.0
    if busy >= 1.0:
        place(buf, x, rate, offset, -int(rng.integers(0, fft)))
    else:  # bursts cut from the continuous signal
        spans = bursts(rng, busy, 0.3e-3, 2.5e-3, 0.1e-3)
        for t, d in spans:
            n = int(d * rate)
            a = int(rng.integers(0, x.size - n))
            place(buf, x[a : a + n], rate, offset, int(t * FS))
        duty = duty_of(spans)
    info = {"scs_hz": rate / fft, "fft": fft, "cp": cp, "n_used": int(k.size), "busy": busy}
    return buf, k.size * rate / fft, duty, info


def g_wimax(rng, *, offset=-4e6):
    rate, fft, cp = 11.2e6, 1024, 128
    k = np.array([i for i in range(-420, 421) if i != 0])
    frame_syms = int(5e-3 / ((fft + cp) / rate))  # 48 symbols of 102.86 us per 5 ms frame
    dl = 29  # downlink symbols; the uplink part is silent here
    out = []
    for _ in range(int(np.ceil(DUR / 5e-3)) + 1):
        pre = np.zeros(fft, np.complex128)
        kp = k[(k + 420) % 3 == 0]
        pre[kp % fft] = 2 * np.sqrt(2) * rng.choice([-1.0, 1.0], kp.size)
        pre_t = np.fft.ifft(pre) * np.sqrt(fft)
        out += [np.concatenate([pre_t[-cp:], pre_t]), ofdm(rng, dl - 1, fft, k, cp, order=16)]
        out.append(np.zeros((frame_syms - dl) * (fft + cp)))
    buf = np.zeros(N, np.complex64)
    place(buf, np.concatenate(out), rate, offset, -int(rng.integers(0, 5000)))
    return buf, k.size * rate / fft, dl / frame_syms, {"scs_hz": rate / fft, "tdd_dl_fraction": dl / frame_syms}


def g_scqam(rng, *, rs=10e6, alpha=0.25, order=16, offset=0.0, busy=1.0):
    sps = 4
    n_s = int(DUR * rs) + 64
    up = np.zeros(n_s * sps, np.complex128)
    up[::sps] = qam(rng, (n_s,), order)
    buf = np.zeros(N, np.complex64)
    place(buf, scipy.signal.oaconvolve(up, rrc(alpha, sps), mode="same"), rs * sps, offset, 0)
    duty = 1.0
    if busy < 1.0:
        m = on_mask(bursts(rng, busy, 0.5e-3, 3e-3, 0.2e-3))
        buf *= m
        duty = float(m.mean())
    return buf, rs * (1 + alpha), duty, {"rs": rs, "alpha": alpha, "order": order, "busy": busy}


def g_pure_noise(rng, *, dc=False, agc=False):
    iq = noise(rng)
    if dc:
        imp.apply_iq_imbalance_(iq, gain_db=0.5, phase_deg=3.0)
        imp.add_dc_offset_(iq, 0.3 * np.exp(1j * 0.7))
    if agc:
        imp.apply_agc_steps_(iq, [(N // 3, 6.0), (2 * N // 3, 2.0)])
    return iq, None, {"dc": dc, "agc": agc}


def g_ism_mix(rng, *, seed):
    """The first ISM corpus recording from ``seed`` on with something in it, drawn without the cellular source."""
    from radiofm.synth import ism, ism_scene

    saved = ism_scene._SOURCES
    ism_scene._SOURCES = tuple(s for s in saved if s.__name__ != "_cellular")
    try:
        cfg = ism.CorpusConfig(sample_rate_choices_hz=(FS,), duration_s_range=(DUR, DUR),
                               center_freq_range_hz=(2.425e9, 2.455e9), snr_db_range=(0.0, 30.0))  # fmt: skip
        for s in range(seed, seed + 50):
            iq, anns, info = ism.synthesize_recording(np.random.SeedSequence(s), cfg)
            if anns and iq.size == N:
                break
    finally:
        ism_scene._SOURCES = saved
    labels = sorted({a["core:label"] for a in anns})
    if {"lte", "nr"} & set(labels):
        raise RuntimeError(f"ISM scene {s} holds a cellular emission: {labels}")
    counts = {lab: sum(a["core:label"] == lab for a in anns) for lab in labels}
    snrs = sorted({a["radiofm:snr_db"] for a in anns})
    return iq, info["center_freq_hz"], {"ism_seed": s, "emissions": counts, "snr_db": snrs}


def g_commrad(rng, *, snr, name, seed):
    """A CommRad class rendered at 7.68 MS/s (channel, noise, SDR front end), moved up to 61.44 MS/s with white
    noise of the same density outside its band (for "cellular": the first GSM capture from ``seed`` on)."""
    from radiofm.synth.signals import CaptureConfig, synthesize_capture

    cfg = CaptureConfig(sample_rate_hz=7.68e6, duration_s=DUR, snr_db_range=(snr, snr))
    for s in range(seed, seed + 200):
        iq, meta = synthesize_capture(name, s, cfg)
        if name != "cellular" or meta["info"].get("system") == "gsm":
            break
    if name == "cellular" and meta["info"].get("system") != "gsm":
        raise RuntimeError(f"no GSM capture among CommRad cellular seeds {seed}..{seed + 199}")
    fs0 = cfg.sample_rate_hz
    up = emitters.to_band(iq, fs0, FS, 0.0)[:N]
    density = 1.0 / meta["receiver"]["full_scale"] ** 2  # noise power over fs0 after the capture's scaling
    spec = np.fft.fft(noise(rng, power=density * FS / fs0))
    spec[np.abs(np.fft.fftfreq(N, 1 / FS)) < fs0 / 2] = 0
    up = (up + np.fft.ifft(spec).astype(np.complex64)).astype(np.complex64)
    info = {"class": name, "commrad_seed": s, "info": meta["info"], "bandwidth_hz": meta["bandwidth_hz"]}
    return up, float(meta["center_freq_hz"]), info


RAW = (g_pure_noise, g_ism_mix, g_commrad)
SEEDED = (g_ism_mix, g_commrad)  # take a seed of their own (plus 1000 x the benchmark's)


def render(
    i: int, gen: str, snr_db: float | None, kwargs: dict, seed: int = 0
) -> tuple[np.ndarray, float | None, dict]:
    """(complex64 samples, centre frequency in Hz or None: the caller's, info) of capture ``i``, made by ``g_<gen>``
    with ``kwargs`` at ``snr_db``."""
    fn = globals()[f"g_{gen}"]
    rng = np.random.default_rng([ENTROPY + seed, i])
    kw = dict(kwargs)
    if fn in SEEDED:
        kw["seed"] += 1000 * seed
    if fn is g_commrad:
        kw["snr"] = snr_db
    if fn in RAW:
        iq, fc, info = fn(rng, **kw)
        return iq.astype(np.complex64), fc, json_ready(info)
    x, bw, duty, info = fn(rng, **kw)
    iq = (scale_to_snr(x, snr_db, bw, duty) + noise(rng)).astype(np.complex64)
    return iq, None, json_ready(info | {"bw_for_snr_hz": bw, "duty": round(duty, 3)})
