"""ISM corpus: determinism, annotation geometry and labels, emissions above the noise, files and errors."""

import json

import numpy as np
import pytest

from radiofm.data import open_recording
from radiofm.errors import ConfigError
from radiofm.synth.ism import LABELS, CorpusConfig, generate_corpus, synthesize_recording

TINY = {"sample_rate_choices_hz": (10e6, 20e6), "duration_s_range": (0.005, 0.008)}


def recordings(n: int, config: CorpusConfig, seed: int = 0):
    for i in range(n):
        yield synthesize_recording(np.random.SeedSequence(seed, spawn_key=(i,)), config)


def test_corpus_is_byte_identical_across_runs_and_workers(tmp_path):
    a = generate_corpus(tmp_path / "a", n_recordings=2, seed=7, progress=False, **TINY)
    b = generate_corpus(tmp_path / "b", n_recordings=2, seed=7, workers=2, progress=False, **TINY)
    assert [p.name for p in a] == ["recording_0000.sigmf-meta", "recording_0001.sigmf-meta"]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
        assert pa.with_suffix(".sigmf-data").read_bytes() == pb.with_suffix(".sigmf-data").read_bytes()
    other = generate_corpus(tmp_path / "c", n_recordings=1, seed=8, progress=False, **TINY)
    assert other[0].with_suffix(".sigmf-data").read_bytes() != a[0].with_suffix(".sigmf-data").read_bytes()
    summary = json.loads((tmp_path / "a" / "corpus.json").read_text())
    assert summary["seed"] == 7 and summary["n_recordings"] == 2 and len(summary["files"]) == 2
    assert summary["generator_version"] and summary["config"]["duration_s_range"] == [0.005, 0.008]


def test_recording_seed_is_the_spawned_child():
    child = np.random.SeedSequence(7).spawn(3)[2]
    same = np.random.SeedSequence(7, spawn_key=(2,))
    assert np.array_equal(child.generate_state(4), same.generate_state(4))
    config = CorpusConfig(**TINY)
    a, b = synthesize_recording(child, config), synthesize_recording(same, config)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_recordings_read_back_with_their_annotations(tmp_path):
    (meta,) = generate_corpus(tmp_path, n_recordings=1, seed=3, progress=False, datatype="ci16_le", **TINY)
    rec = open_recording(meta)
    iq = rec.read()
    assert rec.datatype == "ci16_le" and 2.40e9 <= rec.center_freq_hz <= 2.65e9
    assert rec.sample_rate_hz in TINY["sample_rate_choices_hz"] and 0.005 <= rec.n_samples / rec.sample_rate_hz <= 0.008
    assert np.isfinite(iq).all() and np.abs(iq.view(np.float32)).max() <= 1.0
    summary = json.loads((tmp_path / "corpus.json").read_text())
    assert summary["files"][0]["n_annotations"] == len(rec.annotations)


def test_annotations_lie_inside_the_recording_and_band():
    config = CorpusConfig(sample_rate_choices_hz=(10e6, 40e6), duration_s_range=(0.01, 0.02))
    seen = set()
    for iq, anns, info in recordings(8, config):
        fc, fs = info["center_freq_hz"], info["sample_rate_hz"]
        assert iq.dtype == np.complex64 and np.isfinite(iq).all()
        for a in anns:
            assert a.label in LABELS
            assert a.sample_count > 0 and a.sample_start >= 0 and a.sample_start + a.sample_count <= iq.size
            assert fc - fs / 2 <= a.freq_lower_edge_hz < a.freq_upper_edge_hz <= fc + fs / 2
            assert set(a.extra) >= {"radiofm:snr_db", "radiofm:channel", "radiofm:cfo_hz", "radiofm:fading"}
            seen.add(a.label)
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
            t0, t1 = -(-a.sample_start // nfft), (a.sample_start + a.sample_count) // nfft
            rows = (freqs >= a.freq_lower_edge_hz) & (freqs <= a.freq_upper_edge_hz)
            near = (freqs >= a.freq_lower_edge_hz - 2e6) & (freqs <= a.freq_upper_edge_hz + 2e6)
            free[max(t0 - 2, 0) : t1 + 2, near] = False
            if t1 - t0 < 2 or rows.sum() < 2:
                continue
            box_db = 10 * np.log10(spec[t0:t1][:, rows].mean() / noise)
            assert box_db > a.extra["radiofm:snr_db"] - 3, (a.label, a.extra, box_db)  # in-band SNR as annotated
            checked += 1
        if free.sum() > 1000:  # what no annotation covers is the noise floor
            assert np.median(spec[free]) / np.log(2) == pytest.approx(noise, rel=0.25)
    assert checked >= 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_recordings": 0, "seed": 0},
        {"n_recordings": 1, "seed": -1},
        {"n_recordings": 1, "seed": 0, "workers": 0},
        {"n_recordings": 1, "seed": 0, "datatype": "cu8"},
        {"n_recordings": 1, "seed": 0, "duration_s_range": (0.2, 0.1)},
        {"n_recordings": 1, "seed": 0, "sample_rate_choices_hz": ()},
        {"n_recordings": 1, "seed": 0, "bogus": 1},
    ],
)
def test_bad_arguments_raise_one_line_config_errors(tmp_path, kwargs):
    with pytest.raises(ConfigError) as err:
        generate_corpus(tmp_path, progress=False, **kwargs)
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_package_exports_lazily():
    import radiofm.synth as synth

    assert synth.generate_corpus is generate_corpus and "wifi-ofdm" in synth.ISM_LABELS
