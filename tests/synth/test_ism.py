"""ISM recordings in memory: seeding, annotation geometry and labels, emissions above the noise."""

import numpy as np
import pytest

from radiofm.synth.ism import LABELS, CorpusConfig, synthesize_recording

TINY = {"sample_rate_choices_hz": (10e6, 20e6), "duration_s_range": (0.005, 0.008)}


def recordings(n: int, config: CorpusConfig, seed: int = 0):
    for i in range(n):
        yield synthesize_recording(np.random.SeedSequence(seed, spawn_key=(i,)), config)


def test_recording_seed_is_the_spawned_child():
    child = np.random.SeedSequence(7).spawn(3)[2]
    same = np.random.SeedSequence(7, spawn_key=(2,))
    assert np.array_equal(child.generate_state(4), same.generate_state(4))
    config = CorpusConfig(**TINY)
    a, b = synthesize_recording(child, config), synthesize_recording(same, config)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_annotations_lie_inside_the_recording_and_band():
    config = CorpusConfig(sample_rate_choices_hz=(10e6, 40e6), duration_s_range=(0.01, 0.02))
    seen = set()
    for iq, anns, info in recordings(8, config):
        fc, fs = info["center_freq_hz"], info["sample_rate_hz"]
        assert iq.dtype == np.complex64 and np.isfinite(iq).all()
        for a in anns:  # SigMF annotation dicts
            start, count = a["core:sample_start"], a["core:sample_count"]
            assert a["core:label"] in LABELS
            assert count > 0 and start >= 0 and start + count <= iq.size
            assert fc - fs / 2 <= a["core:freq_lower_edge"] < a["core:freq_upper_edge"] <= fc + fs / 2
            assert set(a) >= {"radiofm:snr_db", "radiofm:channel", "radiofm:cfo_hz", "radiofm:fading"}
            seen.add(a["core:label"])
    assert len(seen) >= 3  # a handful of recordings already mixes several technologies


def test_annotated_emissions_stand_above_the_noise_and_the_rest_is_noise():
    config = CorpusConfig(
        sample_rate_choices_hz=(20e6,),
        duration_s_range=(0.02, 0.02),
        snr_db_range=(20.0, 25.0),
        fading_probability=0.0,
        receiver_impairments=False,
    )
    nfft, checked = 256, 0
    for iq, anns, info in recordings(6, config, seed=11):
        fs, fc = info["sample_rate_hz"], info["center_freq_hz"]
        noise = nfft / info["receiver"]["full_scale"] ** 2  # noise power per FFT bin (unit power per sample)
        frames = iq[: iq.size // nfft * nfft].reshape(-1, nfft) * np.sqrt(8 / 3) * np.hanning(nfft)
        spec = np.abs(np.fft.fftshift(np.fft.fft(frames, axis=1), axes=1)) ** 2  # (T, F)
        freqs = fc + np.fft.fftshift(np.fft.fftfreq(nfft, 1 / fs))
        free = np.ones_like(spec, dtype=bool)
        for a in anns:
            start, count, lo, hi = (
                a[f"core:{k}"] for k in ("sample_start", "sample_count", "freq_lower_edge", "freq_upper_edge")
            )
            t0, t1 = -(-start // nfft), (start + count) // nfft
            rows = (freqs >= lo) & (freqs <= hi)
            near = (freqs >= lo - 2e6) & (freqs <= hi + 2e6)
            free[max(t0 - 2, 0) : t1 + 2, near] = False
            if t1 - t0 < 2 or rows.sum() < 2:
                continue
            box_db = 10 * np.log10(spec[t0:t1][:, rows].mean() / noise)
            assert box_db > a["radiofm:snr_db"] - 3, (a, box_db)  # in-band SNR as annotated
            checked += 1
        if free.sum() > 1000:  # what no annotation covers is the noise floor
            assert np.median(spec[free]) / np.log(2) == pytest.approx(noise, rel=0.25)
    assert checked >= 5


def test_package_exports_lazily():
    import radiofm.synth as synth

    assert synth.synthesize_recording is synthesize_recording and "wifi-ofdm" in synth.ISM_LABELS
    assert not hasattr(synth, "generate_corpus")  # the corpus folder is written by radiofm.data.ism
