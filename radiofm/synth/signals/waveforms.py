"""Modulation primitives shared by the signal-class generators: FM/FSK phase tracks, pulse shaping, keying
envelopes, and voice- and music-like audio. Pure numpy/scipy; every random draw comes from the ``rng`` passed in.

Symbols are placed at fractional samples per symbol (``hold``), so a 45.45 Bd RTTY or a 270.833 kb/s GSM burst
needs no special native rate: the symbol value at sample ``i`` is that of symbol ``floor((i / fs - t0) * Rs)``.
"""

from __future__ import annotations

import numpy as np
import scipy.signal


def fm(freq_hz: np.ndarray, sample_rate_hz: float, *, phase_rad: float = 0.0) -> np.ndarray:
    """Frequency modulation of an instantaneous-frequency track: exp(j(2π·cumsum(f)/fs + φ0)).

    freq_hz: (N,) Hz. Returns complex64 (N,), unit envelope.
    """
    phase = np.cumsum(np.asarray(freq_hz, np.float64)) * (2 * np.pi / sample_rate_hz) + phase_rad
    phase = np.mod(phase, 2 * np.pi).astype(np.float32)  # wrapped first: float32 keeps 1e-6 rad precision
    out = np.empty(phase.size, np.complex64)
    out.real, out.imag = np.cos(phase), np.sin(phase)
    return out


def hold(
    symbols: np.ndarray, n: int, sample_rate_hz: float, symbol_rate_hz: float, *, start_s: float = 0.0
) -> np.ndarray:
    """Sample-and-hold: (n,) float64 whose sample i carries symbol ``floor((i/fs - start_s)·Rs)`` (0 outside)."""
    sym = np.asarray(symbols, np.float64)
    idx = np.floor((np.arange(n) / sample_rate_hz - start_s) * symbol_rate_hz).astype(np.int64)
    ok = (idx >= 0) & (idx < sym.size)
    out = np.zeros(n)
    out[ok] = sym[idx[ok]]
    return out


def gaussian_smooth(x: np.ndarray, sample_rate_hz: float, symbol_rate_hz: float, bt: float) -> np.ndarray:
    """Convolve a held symbol track with the Gaussian frequency pulse of bandwidth-time product ``bt``
    (σ = √ln2 / (2π·BT) symbol periods, unit DC gain), as in GMSK/GFSK transmitters. Returns (N,) float64."""
    sps = sample_rate_hz / symbol_rate_hz
    sigma = np.sqrt(np.log(2)) / (2 * np.pi * bt) * sps
    half = int(np.ceil(3 * sigma))
    t = np.arange(-half, half + 1)
    g = np.exp(-(t**2) / (2 * sigma**2))
    return scipy.signal.oaconvolve(x, g / g.sum(), mode="same")


def raised_cosine_smooth(x: np.ndarray, sample_rate_hz: float, symbol_rate_hz: float, alpha: float) -> np.ndarray:
    """Smooth a held symbol track with a raised-cosine (in frequency) transition of roll-off ``alpha``:
    convolution with a Hann window ``alpha`` symbols long. Returns (N,) float64."""
    m = max(1, int(round(alpha * sample_rate_hz / symbol_rate_hz)))
    w = np.hanning(m + 2)[1:-1]
    return scipy.signal.oaconvolve(x, w / w.sum(), mode="same")


def keyed_envelope(intervals: list[tuple[float, float]], n: int, sample_rate_hz: float, *, rise_s: float) -> np.ndarray:
    """On/off keying envelope (n,) float32: 1 inside each ``(start_s, duration_s)`` interval, with raised-cosine
    edges of ``rise_s`` (10–90 %), which keeps keying clicks out of the spectrum as real transmitters do."""
    iv = np.asarray(intervals, np.float64).reshape(-1, 2)
    a = np.clip(np.rint(iv[:, 0] * sample_rate_hz), 0, n).astype(np.int64)
    b = np.clip(np.rint((iv[:, 0] + iv[:, 1]) * sample_rate_hz), 0, n).astype(np.int64)
    edges = np.zeros(n + 1, np.int32)
    np.add.at(edges, a, 1)
    np.add.at(edges, b, -1)
    rect = (np.cumsum(edges[:n]) > 0).astype(np.float32)  # overlapping intervals merge
    m = int(round(rise_s * sample_rate_hz))
    if m < 2:
        return rect
    w = np.hanning(m + 2)[1:-1]
    return scipy.signal.oaconvolve(rect, (w / w.sum()).astype(np.float32), mode="same").astype(np.float32)


def lowpass(x: np.ndarray, sample_rate_hz: float, cutoff_hz: float, *, numtaps: int = 129) -> np.ndarray:
    """Linear-phase FIR low-pass (Hamming window), same length as ``x``."""
    taps = scipy.signal.firwin(numtaps, min(cutoff_hz, 0.49 * sample_rate_hz), fs=sample_rate_hz)
    return scipy.signal.oaconvolve(x, taps, mode="same")


def bandpass(x: np.ndarray, sample_rate_hz: float, lo_hz: float, hi_hz: float, *, numtaps: int = 257) -> np.ndarray:
    """Linear-phase FIR band-pass (Hamming window), same length as ``x``."""
    taps = scipy.signal.firwin(numtaps, [lo_hz, min(hi_hz, 0.49 * sample_rate_hz)], pass_zero=False, fs=sample_rate_hz)
    return scipy.signal.oaconvolve(x, taps, mode="same")


def tone_track(segments: list[tuple[float, float]], n: int, sample_rate_hz: float) -> np.ndarray:
    """A piecewise-constant frequency track from ``(freq_hz, duration_s)`` segments, held at its last value and
    padded to ``n`` samples. Returns (n,) float64 Hz; used for SSTV/VIS tone sequences and AFSK."""
    out = np.empty(n)
    t_edges = np.cumsum([0.0] + [d for _, d in segments])
    idx = np.searchsorted(t_edges, np.arange(n) / sample_rate_hz, side="right") - 1
    freqs = np.array([f for f, _ in segments] + [segments[-1][0]])
    out[:] = freqs[np.clip(idx, 0, len(segments))]
    return out


def audio_tone(freq_hz: np.ndarray, sample_rate_hz: float, *, phase_rad: float = 0.0) -> np.ndarray:
    """Real, phase-continuous audio tone following ``freq_hz`` (N,): cos(2π·cumsum(f)/fs + φ0). float64 (N,)."""
    return np.cos(np.cumsum(freq_hz) * (2 * np.pi / sample_rate_hz) + phase_rad)


def talk_spurts(rng: np.random.Generator, duration_s: float) -> list[tuple[float, float]]:
    """Syllable-like on-intervals ``(start_s, duration_s)``: 80–320 ms syllables separated by 30–150 ms gaps, with a
    longer 0.3–0.8 s pause now and then (roughly the 4–5 syllables/s rhythm of speech)."""
    t, out = -float(rng.uniform(0, 0.3)), []
    while t < duration_s:
        d = float(rng.uniform(0.08, 0.32))
        out.append((t, d))
        t += d + (float(rng.uniform(0.3, 0.8)) if rng.random() < 0.12 else float(rng.uniform(0.03, 0.15)))
    return out


def voice_audio(
    rng: np.random.Generator, n: int, sample_rate_hz: float, *, band_hz: tuple[float, float] = (300.0, 2700.0)
) -> np.ndarray:
    """Speech-like audio (n,) float32 with unit peak: a glottal harmonic series (pitch 90–240 Hz with slow
    intonation and jitter) shaped by three formants that move every syllable, gated by syllable envelopes,
    with occasional unvoiced (noise) fricatives, band-limited to ``band_hz`` like a radio voice channel.

    Not intelligible speech, but with speech's spectral and temporal statistics: harmonics spaced by the pitch,
    formant peaks, a 4–5 Hz syllabic envelope and pauses — what a spectrogram of voice traffic shows.
    """
    fs = sample_rate_hz
    t = np.arange(n) / fs
    f0 = float(rng.uniform(90, 240)) * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.2, 0.7) * t + rng.uniform(0, 6)))
    f0 *= 1 + 0.01 * np.interp(t, np.linspace(0, t[-1] + 1e-9, 64), rng.standard_normal(64))
    phase = np.cumsum(f0) * (2 * np.pi / fs)
    spurts = talk_spurts(rng, n / fs)
    # formant centres per syllable, interpolated in time (vowel transitions)
    knots_t = np.array([s for s, _ in spurts] + [n / fs])
    f1 = np.interp(t, knots_t, rng.uniform(300, 800, knots_t.size))
    f2 = np.interp(t, knots_t, rng.uniform(900, 2200, knots_t.size))
    f3 = np.interp(t, knots_t, rng.uniform(2300, 3000, knots_t.size))
    voiced = np.zeros(n)
    step = max(1, int(fs / 1000))  # formant gains change slowly: evaluate them every 1 ms, hold in between
    f0c, f1c, f2c, f3c = (a[::step] for a in (f0, f1, f2, f3))
    formants = ((f1c, 90, 1.0), (f2c, 120, 0.5), (f3c, 160, 0.25))  # (centre Hz, width Hz, gain)
    for k in range(1, int(band_hz[1] / 90) + 1):
        fk = k * f0c
        gain = sum(np.exp(-0.5 * ((fk - fc) / bw) ** 2) * a for fc, bw, a in formants) * (fk < band_hz[1])
        voiced += np.repeat(gain, step)[:n] * np.sin(k * phase)
    env = keyed_envelope(spurts, n, fs, rise_s=0.03)
    noise = bandpass(rng.standard_normal(n), fs, 2000.0, min(band_hz[1] + 500, 0.45 * fs)) * 0.6
    fric = keyed_envelope([(s + d * 0.7, d * 0.4) for s, d in spurts if rng.random() < 0.3], n, fs, rise_s=0.01)
    x = bandpass(voiced * env + noise * fric, fs, band_hz[0], band_hz[1])
    return (x / (np.max(np.abs(x)) + 1e-12)).astype(np.float32)


def music_audio(rng: np.random.Generator, n: int, sample_rate_hz: float, *, max_hz: float = 15000.0) -> np.ndarray:
    """Music-like audio (n,) float32 with unit peak: overlapping harmonic notes (decaying, 1–8 per second) over a
    pink-ish noise bed with percussive hits, low-passed at ``max_hz`` (15 kHz: the FM broadcast audio band)."""
    fs = sample_rate_hz
    t = np.arange(n) / fs
    x = np.zeros(n)
    n_notes = 1 + int(rng.poisson(4 * n / fs))
    for _ in range(n_notes):
        t0, f = float(rng.uniform(-0.3, n / fs)), float(110 * 2 ** (rng.integers(0, 48) / 12))
        env = np.where(t >= t0, np.exp(-(t - t0) / rng.uniform(0.1, 0.8)), 0.0)
        for k in range(1, 7):
            if k * f < max_hz:
                x += env * np.sin(2 * np.pi * k * f * t + rng.uniform(0, 6)) / k
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1 / fs), 20.0))  # 1/f power: pink-ish
    bed = np.fft.irfft(spec, n)
    beat = keyed_envelope(
        [(float(s), 0.04) for s in np.arange(rng.uniform(0, 0.5), n / fs, rng.uniform(0.3, 0.6))], n, fs, rise_s=0.01
    )
    bed = bed / (np.std(bed) + 1e-12) * (0.3 + 1.5 * beat)
    x = x / (np.std(x) + 1e-12) + float(rng.uniform(0.2, 0.8)) * bed
    x = lowpass(x, fs, max_hz, numtaps=255)
    x = np.tanh(1.5 * x / (np.std(x) * 3 + 1e-12))  # broadcast-style compression/limiting
    return (x / (np.max(np.abs(x)) + 1e-12)).astype(np.float32)


def morse_intervals(rng: np.random.Generator, duration_s: float, wpm: float) -> list[tuple[float, float]]:
    """Key-down intervals of random Morse text at ``wpm`` words per minute (PARIS timing, ITU-R M.1677-1: dot =
    1 unit = 1.2/wpm s, dash 3, element gap 1, letter gap 3, word gap 7), starting mid-message."""
    unit = 1.2 / wpm
    t, out = -float(rng.uniform(0, 2.0)), []
    while t < duration_s:
        for _ in range(int(rng.integers(2, 7))):  # letters of a word
            for _ in range(int(rng.integers(1, 5))):  # elements of a letter
                d = unit * (3 if rng.random() < 0.45 else 1)
                out.append((t, d))
                t += d + unit
            t += 2 * unit  # letter gap = 3 units in all
        t += 4 * unit  # word gap = 7 units in all
    return [(s, d) for s, d in out if s + d > 0 and s < duration_s]
