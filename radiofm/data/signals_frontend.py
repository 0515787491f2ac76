"""The signal-identification front end: a recording -> one (1, H, W) dB image, with up to three frequency scales.

Rows of the image, top to bottom (row 0 = most negative frequency within each part, as every radiofm spectrogram):

1. **the whole band**, the STFT's ``fft_size`` bins resized to the rows left over (2 kHz bins at 2.048 MS/s);
2. **the zoom** (``zoom_rows`` > 0): that many STFT bins, one per row, centred on the strongest emission
   (:func:`zoom_band`); resizing 1024 bins to 32 rows averages 32 bins per row in dB, so without it every
   narrowband class (AIS, POCSAG, packet, ...) is the same faint line (docs/RESULTS.md, session 27);
3. **the fine zoom** (``fine_rows`` > 0): that many bins of a longer FFT (``fine_fft_size``, 125 Hz at 16384
   points and 2.048 MS/s), centred on the strongest emission near the zoom's centre (:func:`fine_band`): the
   structure under one 2 kHz bin — RTTY's two tones 170-850 Hz apart, an SSTV line's 1200-2300 Hz tones, a Morse
   or OOK carrier's single line (docs/RESULTS.md, session 29).

Columns are time over the whole used span, each part resized to the image width (anti-aliased bilinear, as
:func:`radiofm.dsp.resize`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiofm.errors import ConfigError, DatasetError

DC_NOTCH = 1  # bins each side of DC replaced before the peak search (a receiver's DC/LO spike is no emission)
PEAK_SMOOTH = 5  # bins of the moving average the peak search runs on
FINE_SEARCH = 2  # the fine zoom's peak is searched within this many coarse bins of the coarse peak


@dataclass(frozen=True)
class SignalSpectrogramParams:
    """How a signal-identification recording becomes a (1, H, W) dB image, with the pretraining front end's
    conventions (:func:`radiofm.dsp.spectrogram`: periodic Hann, DC-centred rows, 10·log10(|X|² + 1e-12);
    :func:`radiofm.dsp.resize`: anti-aliased bilinear). Unlike paper B's 16 ms segments, the image spans the capture
    (0.25 s by default): a class shows itself by its timing (frames, bursts, lines), which 16 ms would cut off.

    ``zoom_rows`` and ``fine_rows`` (both 0: the one-scale image) select the scales of the module docstring; the
    whole band keeps H - zoom_rows - fine_rows >= 1 rows."""

    fft_size: int = 1024  # FFT length; 2 kHz bins at 2.048 MS/s
    win_length: int = 1024  # Hann window length, samples (<= fft_size)
    hop: int = 1024  # frame advance, samples; 0.25 s at 2.048 MS/s → 500 frames, averaged down to the width
    duration_s: float | None = None  # seconds of the recording used (from offset_s); None = all of it
    offset_s: float = 0.0  # where the used span starts, seconds
    image_size: tuple[int, int] = (224, 224)  # (H = frequency, W = time) after resizing
    nonfinite: str = "error"  # NaN/Inf samples: "error" or "repair" (zeroed, with a warning)
    zoom_rows: int = 0  # > 0: rows showing this many FFT bins around the strongest emission
    fine_rows: int = 0  # > 0: rows showing this many bins of the fine_fft_size FFT around that emission
    fine_fft_size: int = 16384  # the fine zoom's FFT length (and Hann window, and hop); 125 Hz at 2.048 MS/s
    sample_rate_hz: float | None = None  # the training rate: other rates get FFTs scaled to its bin width (below)

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        if len(self.image_size) != 2 or min(self.image_size) < 1 or max(self.image_size) > 8192:
            raise ConfigError(f"image size must be two positive sizes up to 8192, got {self.image_size}")
        zoom, fine = self.zoom_rows, self.fine_rows
        if not 0 <= zoom <= self.fft_size or not 0 <= fine or (zoom + fine and zoom + fine >= self.image_size[0]):
            raise ConfigError(
                f"zoom rows must be in [0, fft_size], fine rows >= 0 and both together below the image height, got "
                f"{zoom} and {fine} (fft_size {self.fft_size}, image {self.image_size})"
            )
        if fine and not fine <= self.fine_fft_size or self.fine_fft_size < 16:
            raise ConfigError(f"fine rows must be in [0, fine_fft_size >= 16], got {fine} of {self.fine_fft_size}")
        if self.win_length <= 0 or self.hop <= 0 or self.fft_size < self.win_length:
            raise ConfigError(
                f"need fft_size >= win_length > 0 and hop > 0, got fft_size={self.fft_size}, "
                f"win_length={self.win_length}, hop={self.hop}"
            )
        if (self.duration_s is not None and not self.duration_s > 0) or self.offset_s < 0:
            raise ConfigError(f"duration_s must be > 0 and offset_s >= 0, got {self.duration_s}, {self.offset_s}")
        if self.nonfinite not in ("error", "repair"):
            raise ConfigError(f"nonfinite must be 'error' or 'repair', got {self.nonfinite!r}")
        if self.sample_rate_hz is not None and not 0 < self.sample_rate_hz < 1e11:
            raise ConfigError(f"sample_rate_hz must be a positive rate, got {self.sample_rate_hz}")


def signal_spectrogram(recording, params: SignalSpectrogramParams | None = None) -> np.ndarray:
    """A recording (path or :class:`~radiofm.data.Recording`) as a float32 (1, H, W) dB spectrogram image: rows are
    frequency (row 0 = most negative, as the pretraining spectrograms), columns time.

    With ``params.sample_rate_hz`` set and a recording at another rate, every FFT, window and hop is scaled by the
    rate ratio (1024 points at 2.048 MS/s become 1200 at 2.4 MS/s): the same 2 kHz bins and 0.5 ms frames as in
    training. The whole captured band is kept (a wider one is resized into the band rows like any other; a narrower
    one is padded with each frame's median power to the training band). Measured against resampling the samples and
    against cutting the spectrum to the training band, this kept the most accuracy (docs/RESULTS.md, session 29)."""
    from radiofm.data.recording import Recording
    from radiofm.data.recording_open import open_recording
    from radiofm.dsp import resize, spectrogram

    params = params or SignalSpectrogramParams()
    rec = recording if isinstance(recording, Recording) else open_recording(recording)
    fs = rec.sample_rate_hz
    start = int(round(params.offset_s * fs))
    count = rec.n_samples - start if params.duration_s is None else int(round(params.duration_s * fs))
    target = params.sample_rate_hz
    scale = 1.0 if target is None or abs(fs - target) <= 1e-6 * target else fs / target
    need = round(max(params.win_length, params.fine_fft_size if params.fine_rows else 0) * scale)
    if start + count > rec.n_samples or count < need:
        raise DatasetError(
            f"{rec.path}: needs {max(count, need) / fs:g} s from {params.offset_s:g} s (at least one {need}-sample "
            f"window) but holds {rec.n_samples / fs:g} s"
        )
    iq = rec.read(start, count, nonfinite=params.nonfinite)

    def stft(fft_size: int, win_length: int, hop: int, log: bool) -> np.ndarray:
        if scale == 1.0:
            return spectrogram(iq, fft_size=fft_size, win_length=win_length, hop=hop, log=log)
        n = [max(1, round(v * scale)) for v in (fft_size, win_length, hop)]
        power = spectrogram(iq, fft_size=n[0], win_length=n[1], hop=n[2], log=False)
        power = power if power.shape[0] >= fft_size else pad_band(power, fft_size)
        power /= np.float32(scale**2)  # |X|^2 of a tone and of noise of the same PSD both grow with the window^2
        return _db(power) if log else power

    (h, w), z, f = params.image_size, params.zoom_rows, params.fine_rows
    if not z and not f:
        spec = stft(params.fft_size, params.win_length, params.hop, True)
        return resize(spec, params.image_size, mode="bilinear").astype(np.float32, copy=False)[None]
    power = stft(params.fft_size, params.win_length, params.hop, False)
    mean = power.mean(axis=1)
    db = _db(power)
    parts = [resize(db, (h - z - f, w), mode="bilinear")]
    if z:
        lo = zoom_band(mean, z)
        parts.append(resize(db[lo : lo + z], (z, w), mode="bilinear"))
    if f:
        n = params.fine_fft_size
        fine = stft(n, n, n, False)
        lo = fine_band(fine.mean(axis=1), f, coarse_peak=emission_bin(mean), coarse_bins=len(mean))
        parts.append(resize(_db(fine[lo : lo + f]), (f, w), mode="bilinear"))
    return np.concatenate(parts).astype(np.float32, copy=False)[None]


def _db(power: np.ndarray) -> np.ndarray:
    """10·log10(power + 1e-12), as :func:`radiofm.dsp.spectrogram` with ``log=True``."""
    return 10.0 * np.log10(power + np.float32(1e-12))


def pad_band(power: np.ndarray, bins: int) -> np.ndarray:
    """A DC-centred power spectrogram (F', T) of F' < ``bins`` rows widened to ``bins`` rows of the same width, DC
    on row ``bins // 2``: the rows a narrower recording did not capture hold each frame's median power (its noise
    floor)."""
    have, t = power.shape
    out = np.empty((bins, t), dtype=power.dtype)
    out[...] = np.median(power, axis=0)
    c = bins // 2 - have // 2
    out[c : c + have] = power
    return out


def emission_bin(mean_power: np.ndarray) -> int:
    """The strongest emission's bin in a DC-centred mean power spectrum (F,): the DC bin and its ``DC_NOTCH``
    neighbours each side are replaced by the median of the 5 bins beyond them on both sides, the spectrum is
    smoothed over ``PEAK_SMOOTH`` bins, and its maximum taken."""
    f = mean_power.shape[0]
    avg = np.asarray(mean_power, dtype=np.float64).copy()
    dc, n = f // 2, DC_NOTCH
    side = np.r_[avg[max(dc - n - 5, 0) : max(dc - n, 0)], avg[dc + n + 1 : dc + n + 6]]
    if side.size:
        avg[max(dc - n, 0) : dc + n + 1] = np.median(side)
    return int(np.argmax(np.convolve(avg, np.ones(PEAK_SMOOTH) / PEAK_SMOOTH, mode="same")))


def zoom_band(mean_power: np.ndarray, rows: int) -> int:
    """First bin of the ``rows``-bin window centred on the strongest emission (:func:`emission_bin`) of a DC-centred
    mean power spectrum (F,), shifted inside the band at the edges."""
    f = mean_power.shape[0]
    if not 0 < rows <= f:
        raise ConfigError(f"zoom of {rows} rows does not fit a {f}-bin spectrum")
    return min(max(emission_bin(mean_power) - rows // 2, 0), f - rows)


def fine_band(fine_power: np.ndarray, rows: int, *, coarse_peak: int, coarse_bins: int) -> int:
    """First bin of the ``rows``-bin window of a finer DC-centred mean power spectrum (Ff,) centred on its strongest
    emission within ``FINE_SEARCH`` coarse bins of ``coarse_peak`` (a bin of the ``coarse_bins``-bin spectrum of the
    same span), shifted inside the band at the edges. Both spectra put DC at bin F // 2. The window is centred on the
    strongest line (one of FSK's tones, say), not on the emission's middle: measured better for RTTY than centring
    on the power within one coarse bin (docs/RESULTS.md, session 29)."""
    ff = fine_power.shape[0]
    if not 0 < rows <= ff:
        raise ConfigError(f"fine zoom of {rows} rows does not fit a {ff}-bin spectrum")
    ratio = ff / coarse_bins
    centre = (coarse_peak - coarse_bins // 2) * ratio + ff // 2
    lo, hi = max(int(centre - FINE_SEARCH * ratio), 0), min(int(centre + FINE_SEARCH * ratio) + 1, ff)
    near = np.zeros(ff, dtype=np.float64)
    near[lo:hi] = fine_power[lo:hi]
    return min(max(emission_bin(near) - rows // 2, 0), ff - rows)
