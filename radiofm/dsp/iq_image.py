"""A quadrature mixer's gain and phase imbalance measured blind and undone: every carrier's mirror image removed.

An imbalanced receiver returns y = α·x + β·x* instead of x: each carrier at +f leaves an image at -f, |β/α|² under
it (image rejection 20-30 dB on an uncalibrated SDR). NR and LTE signals, noise and their sums are proper
(E[x²] = 0), so y's improperness measures the imbalance: E[y²] / E[|y|²] = 2αβ / (|α|² + |β|²). The compensator
z = y - w·y* with w = β/α* leaves z = (|α|² - |β|²)/α* · x: the image is gone, the carriers keep their shape (a
constant complex gain). w is solved from the measured ratio r as w = r (1 + |w|²) / 2 (two fixed-point steps are
exact to float rounding for any realistic imbalance). The mean is removed before measuring: a DC offset is
improper too. A frequency-dependent imbalance (the I and Q branches' own filters) is measured and undone the same
way bin by bin, with a short filter for w (:func:`image_filter`, below). Pure numpy (and scipy.fft).
"""

from __future__ import annotations

import math

import numpy as np

CHUNK = 1 << 16  # samples corrected at a time, through one buffer that stays in cache (5x faster than 1 << 20)


def image_coefficient(x: np.ndarray) -> tuple[complex, float]:
    """(w, image rejection in dB) measured on complex samples ``x``: z = x - w·conj(x) removes the image.
    The rejection is inf for a perfectly balanced (proper) ``x``."""
    y = np.asarray(x, dtype=np.complex128)
    y = y - y.mean()
    power = float(np.mean(y.real**2 + y.imag**2))
    if power <= 0:
        return 0j, math.inf
    return _coefficient(complex(np.mean(y * y)) / power)


def _coefficient(r: complex) -> tuple[complex, float]:
    """(w, image rejection in dB) from r = E[y²] / E[|y|²] of y = x + w·conj(x)-like samples."""
    w = r / 2
    for _ in range(2):
        w = r * (1 + abs(w) ** 2) / 2
    rho = abs(w) ** 2
    return w, (math.inf if rho == 0 else -10 * math.log10(rho))


def band_coefficient(c: np.ndarray, p: np.ndarray) -> tuple[complex, float]:
    """:func:`image_coefficient` from the pair statistics of :func:`pair_statistics`, the bins of narrow lines and
    their mirrors left out (:func:`line_bins`): Σ C(k) / Σ P(k) is the (windowed) E[y²] / E[|y|²]. A spur or LO
    leakage added after the mixer has no image; in the time-domain figure its power dilutes the imbalance (a 19.9 dB
    mixer with four spurs after it measured 21-24 dB, and 38-43 dB on some captures; docs/RESULTS.md, session 38)."""
    lines = line_bins(p)
    keep = ~(lines | lines[(-np.arange(len(p))) % len(p)])
    total = float(p[keep].sum())
    if not total > 0:
        return 0j, math.inf
    return _coefficient(complex(c[keep].sum()) / total)


def remove_image_(x: np.ndarray, w: complex) -> np.ndarray:
    """x - w·conj(x), in place on complex64 ``x`` (a chunk at a time)."""
    c = np.complex64(w)
    buf = np.empty(min(CHUNK, len(x)), dtype=np.complex64)
    for a in range(0, len(x), CHUNK):
        part = x[a : a + CHUNK]
        tmp = buf[: len(part)]
        np.conjugate(part, out=tmp)
        tmp *= c
        part -= tmp
    return x


# --------------------------------------------------------------------------- frequency-dependent imbalance
# A wideband receiver's I and Q branches have their own filters and ADCs: a skew or bandwidth mismatch between them
# makes the imbalance depend on frequency, y = x + b * conj(x) with b a short filter rather than a constant. The
# compensator z = y - h * conj(y) then needs h = b (to first order) across the band. Measured the same way as the
# flat one, bin by bin: with Y(k) the FFT of a segment, conj(y) has conj(Y(-k)) at bin k, and for a proper x
# E[Y(k) Y(-k)] = H(-k) P(k) + H(k) P(-k), P = E|Y|². Solved by weighted least squares for the FIR taps h (each
# bin pair weighted by its statistic's spread, sqrt(P(k) P(-k))); a few steps re-measure what the compensator
# leaves. Where both sides of a pair carry the same power only H(k) + H(-k) is seen, but there no image stands out
# either; a small ridge keeps the unseen part small. (A circularity-based compensator in the spirit of Anttila,
# Valkama & Renfors, "Circularity-based I/Q imbalance compensation in wideband direct-conversion receivers", IEEE
# Trans. Veh. Technol. 57(4), 2008; solved here in one batch on the measured statistics, not adaptively.)
FIR_TAPS = 9  # h spans -4..+4 samples: enough for a few ns of I/Q skew at 61.44 MS/s (the tests' cases)
PAIR_NFFT = 4096  # bins of the pair statistics (15 kHz at 61.44 MS/s: a spur stays one bin, a carrier many)
RIDGE = 1e-3  # Tikhonov weight, relative to the normal matrix's mean diagonal
VISIBLE = 10.0  # a bin's image is "visible" where its mirror carries this many times its own power
SMOOTH_BINS = 33  # bins averaged by strongest_image_db (~500 kHz at 61.44 MS/s: under the narrowest carrier)
LINE_FACTOR = 10.0  # a bin this many times the median of its 8 neighbours holds a narrow line: left out


def pair_statistics(x: np.ndarray, nfft: int = PAIR_NFFT) -> tuple[np.ndarray, np.ndarray]:
    """(C, P) over Hann-windowed segments of ``x`` (mean removed): C(k) = mean Y(k)·Y(-k), P(k) = mean |Y(k)|²,
    natural FFT order, nfft bins each."""
    import scipy.fft

    y = np.asarray(x, dtype=np.complex64)
    k = len(y) // nfft
    if k == 0:
        return np.zeros(nfft, complex), np.zeros(nfft)
    c, p = np.zeros(nfft, complex), np.zeros(nfft)
    mean = np.complex64(y.mean())
    win = np.hanning(nfft).astype(np.float32)
    mirror = (-np.arange(nfft)) % nfft
    step = max(1, CHUNK // nfft)
    for a in range(0, k, step):  # a cache-sized block of segments at a time
        seg = (y[a * nfft : min(k, a + step) * nfft] - mean).reshape(-1, nfft) * win
        f = scipy.fft.fft(seg, axis=1)
        c += (f * f[:, mirror]).sum(0)
        p += (f.real**2 + f.imag**2).sum(0)
    return c / k, p / k


def span_statistics(x: np.ndarray, spans: int, nfft: int = PAIR_NFFT) -> tuple[np.ndarray, np.ndarray]:
    """(C, P) of :func:`pair_statistics` within each of ``spans`` equal consecutive parts of ``x``: (spans, nfft)
    each. A carrier on for part of the time keeps its power in the parts where it is on; averaged over all it is
    diluted, and its mirror pair's statistics mixed with those of the times it was off."""
    size = len(x) // spans
    c, p = zip(*(pair_statistics(x[i * size : (i + 1) * size], nfft) for i in range(spans)))
    return np.stack(c), np.stack(p)


def span_powers(x: np.ndarray, spans: int, nfft: int = PAIR_NFFT) -> np.ndarray:
    """P(k) of :func:`span_statistics` alone: (spans, nfft)."""
    return span_statistics(x, spans, nfft)[1]


def line_bins(p: np.ndarray) -> np.ndarray:
    """Bins (bool, natural order) that hold a narrow line: ``LINE_FACTOR`` times the median of their 8 neighbours
    (4 each side, circular), and the 2 bins either side of such a peak (the Hann window's main lobe). A spur or an
    LO leakage added after the mixer has no image, so it does not follow the imbalance's model; its bin and its
    mirror are left out of the fit."""
    nb = np.stack([np.roll(p, s) for s in (-4, -3, -2, -1, 1, 2, 3, 4)])
    peak = p > LINE_FACTOR * np.median(nb, axis=0)
    return np.any([np.roll(peak, s) for s in (-2, -1, 0, 1, 2)], axis=0)  # the window's main lobe: 2 bins each side


def _fir_step(c: np.ndarray, p: np.ndarray, taps: int) -> np.ndarray:
    """The taps h (n = -L..L) that best explain the pair statistics (c, p) as C(k) = H(-k) P(k) + H(k) P(-k),
    pairs with a narrow line on either side left out. ``c``, ``p``: (nfft,), or (spans, nfft) from
    :func:`span_statistics`, whose spans' equations are solved together: a span where only one side of a mirror pair
    is occupied tells H(k) from H(-k), one where both are says little of either, and each weighs accordingly (their
    average would blend the two)."""
    c2, p2 = np.atleast_2d(c), np.atleast_2d(p)
    nfft = p2.shape[1]
    half = taps // 2
    lines = line_bins(p2.mean(0))
    k = np.arange(nfft // 2 + 1)
    k = k[~(lines[k] | lines[(-k) % nfft])]
    e = np.exp(2j * np.pi * np.outer(k, np.arange(-half, half + 1)) / nfft)  # e^{+j2πkn/N} = the taps' H(-k)
    rows, rhs = [], []
    for cs, ps in zip(c2, p2):
        pk, pm = ps[k], ps[(-k) % nfft]
        spread = np.sqrt(np.maximum(pk * pm, 1e-30))
        rows.append((pk[:, None] * e + pm[:, None] * e.conj()) / spread[:, None])
        rhs.append(cs[k] / spread)
    a, b = (rows[0], rhs[0]) if len(rows) == 1 else (np.concatenate(rows), np.concatenate(rhs))
    normal = a.conj().T @ a
    ridge = RIDGE * float(np.real(np.trace(normal))) / taps
    if not ridge > 0:  # nothing but lines (or silence): nothing to measure
        return np.zeros(taps, complex)
    return np.linalg.solve(normal + ridge * np.eye(taps), a.conj().T @ b)


def fir_response(h: np.ndarray, nfft: int = PAIR_NFFT) -> np.ndarray:
    """H(k) = Σ_n h_n e^{-j2πkn/N} of centred taps ``h`` (n = -L..L), natural FFT order."""
    half = len(h) // 2
    return np.exp(-2j * np.pi * np.outer(np.arange(nfft), np.arange(-half, half + 1)) / nfft) @ np.asarray(h)


def image_bins(p: np.ndarray) -> np.ndarray:
    """Bins (bool) where an image would show: their mirror carries ``VISIBLE`` times their power and times the
    noise floor (the 10th percentile of P), and neither is a narrow line (:func:`line_bins`)."""
    mirror = (-np.arange(len(p))) % len(p)
    lines = line_bins(p)
    low = np.maximum(p, max(float(np.percentile(p, 10)), 1e-30))
    return (p[mirror] >= VISIBLE * low) & ~lines & ~lines[mirror]


def visible_rejection_db(h: np.ndarray, p: np.ndarray, flat: complex = 0j) -> tuple[float, float]:
    """(worst, best) image rejection in dB that the compensator ``h`` measures where an image would show
    (:func:`image_bins`). ``flat``: a constant correction already applied (the rejection of what it leaves).
    (inf, inf) when no bin qualifies."""
    seen = image_bins(p)
    resp = fir_response(h, len(p)) - flat
    if not seen.any():
        return math.inf, math.inf
    mag2 = np.abs(resp[seen]) ** 2
    db = -10 * np.log10(np.maximum(mag2, 1e-30))
    return float(db.min()), float(db.max())


def _smoothed(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(P with narrow lines replaced by the median, its circular ``SMOOTH_BINS`` average, the noise floor: the
    average's 10th percentile, unless carriers fill 90 % of the band)."""
    clean = np.where(line_bins(p), np.median(p), p)  # a line would spread into its neighbours' averages
    power = _smooth(clean)
    return clean, power, max(float(np.percentile(power, 10)), 1e-30)


def _smooth(v: np.ndarray) -> np.ndarray:
    """Circular moving average over ``SMOOTH_BINS`` bins (the bins wrap around at the band's edges)."""
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(v, SMOOTH_BINS, mode="wrap")


def carrier_peak_db(p: np.ndarray, floor: float | None = None) -> float:
    """The strongest carrier's power per bin over the noise floor (dB), both averaged over ``SMOOTH_BINS`` bins,
    narrow lines left out: what sets how far over the noise its image can stand (this minus the rejection).
    ``floor``: the noise floor when known better than from ``p`` (:func:`noise_floor`)."""
    _, power, own = _smoothed(p)
    floor = own if floor is None else floor
    return float(10 * np.log10(max(float(power.max()), 1e-30) / max(floor, 1e-30)))  # all-zero input: 0 dB


def noise_floor(p: np.ndarray) -> float:
    """The noise floor per bin of :func:`carrier_peak_db`: the 10th percentile of ``p`` averaged over ``SMOOTH_BINS``
    bins, narrow lines left out (a carrier level when carriers fill 90 % of the band)."""
    return _smoothed(p)[2]


def strongest_image_db(h: np.ndarray, p: np.ndarray, flat: complex = 0j) -> float:
    """How far (dB) the strongest image that the compensator ``h`` measures stands over what else is in its bin, at
    the bins where an image shows (:func:`image_bins`, where ``h`` is well determined): |H(k) - flat|² P(-k) over
    P(k) minus it, at least the noise floor of :func:`carrier_peak_db`, all averaged over ``SMOOTH_BINS`` bins.
    ``flat``: a constant correction already applied. -inf when no bin qualifies."""
    nfft = len(p)
    seen = image_bins(p)
    if not seen.any():
        return -math.inf
    clean, power, floor = _smoothed(p)
    image = _smooth(np.abs(fir_response(h, nfft) - flat) ** 2 * clean[(-np.arange(nfft)) % nfft])
    rest = np.maximum(power - image, floor)  # what else is in the bin (noisy once the image fills it: then the floor)
    return float(10 * np.log10(max(float(np.max(image[seen] / rest[seen])), 1e-30)))


def image_filter(
    x: np.ndarray, taps: int = FIR_TAPS, *, steps: int = 3, nfft: int = PAIR_NFFT, spans: int = 1, stats=None
) -> tuple[np.ndarray, np.ndarray]:
    """(h, P): the taps of z = y - h * conj(y) (n = -L..L, complex128) that make ``x`` proper bin by bin, and the
    power per bin of ``x`` (for :func:`visible_rejection_db`). ``steps`` - 1 re-measurements of what the
    compensator leaves refine the first solution (its error is second order in the imbalance). ``spans`` > 1: the
    statistics of that many equal parts of ``x`` (:func:`span_statistics`), solved together. ``stats``: those
    statistics of ``x`` ((C, P) of :func:`pair_statistics` or :func:`span_statistics`), when already at hand."""
    if stats is None:
        stats = pair_statistics(x, nfft) if spans == 1 else span_statistics(x, spans, nfft)
    c, p = stats
    power = p if spans == 1 else p.mean(0)
    if not power.any():
        return np.zeros(taps, complex), power
    return refine_filter(x, _fir_step(c, p, taps), steps - 1, nfft=nfft, spans=spans), power


def refine_filter(x: np.ndarray, h: np.ndarray, steps: int, *, nfft: int = PAIR_NFFT, spans: int = 1) -> np.ndarray:
    """``h`` after ``steps`` re-measurements of what it leaves of ``x``'s improperness: :func:`image_filter` with
    ``steps`` more steps, continued from a solution already at hand."""
    y = np.asarray(x, dtype=np.complex64)
    for _ in range(steps):
        z = remove_image_fir(y, h)
        c, p = pair_statistics(z, nfft) if spans == 1 else span_statistics(z, spans, nfft)
        h = h + _fir_step(c, p, len(h))
    return h


def remove_image_fir(x: np.ndarray, h: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """z[t] = x[t] - Σ_n h_n conj(x[t - n]) for t in [lo, hi) (n = -L..L), with x zero outside its bounds;
    complex64 (hi - lo,). Reading L samples either side of a span and keeping [L, len - L) gives the span as
    the whole recording would have it."""
    hi = len(x) if hi is None else hi
    half = len(h) // 2
    coef = np.asarray(h, dtype=np.complex64)
    out = np.array(x[lo:hi], dtype=np.complex64)
    conj = np.zeros(min(CHUNK, max(hi - lo, 1)) + 2 * half, dtype=np.complex64)  # conj(x)[a - L, b + L)
    tmp = np.empty(len(conj) - 2 * half, dtype=np.complex64)
    for a in range(lo, hi, CHUNK):
        b = min(hi, a + CHUNK)
        m = b - a
        s0, s1 = max(a - half, 0), min(b + half, len(x))
        conj[: m + 2 * half] = 0
        np.conjugate(x[s0:s1], out=conj[s0 - (a - half) : s1 - (a - half)])
        dst = out[a - lo : b - lo]
        for j, n in enumerate(range(-half, half + 1)):  # conj(x)[t - n] for t in [a, b)
            np.multiply(conj[half - n : half - n + m], coef[j], out=tmp[:m])
            dst -= tmp[:m]
    return out
