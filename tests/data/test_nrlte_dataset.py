"""The NR/LTE dataset folder (radiofm.data.nrlte): layout, manifest, labels against SigMF, determinism, reader."""

import json

import numpy as np
import pytest
import torch

from radiofm.data.nrlte import SegmentationDataset, generate_dataset, open_segmentation_dataset
from radiofm.errors import ConfigError, DatasetError
from radiofm.synth.nrlte import ofdm, row_freqs_hz

FS = ofdm.SAMPLE_RATE_HZ


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate_dataset(
        tmp_path_factory.mktemp("nrlte") / "test", n_frames=2, split="test", seed=7, iq=True, progress=False
    )


def test_dataset_layout_and_manifest(dataset):
    spec = np.load(dataset / "spectrograms.npy")
    lab = np.load(dataset / "labels.npy")
    assert spec.shape == lab.shape == (2, 256, 256) and spec.dtype == np.float32 and lab.dtype == np.uint8
    assert np.isfinite(spec).all() and set(np.unique(lab)) <= {0, 1, 2} and (lab > 0).any()
    m = json.loads((dataset / "manifest.json").read_text())
    assert m["kind"] == "nrlte-segmentation" and m["split"] == "test" and m["n_frames"] == 2
    assert m["classes"] == ["noise", "NR", "LTE"] and m["noise"]["distribution"] == "uniform"
    assert m["spectrogram"]["fft_size"] == 256 and len(m["frames"]) == 2
    for frame in m["frames"]:
        for c in frame["carriers"]:
            assert {
                "type",
                "bandwidth_hz",
                "scs_hz",
                "centre_offset_hz",
                "power_db",
                "snr_db",
                "channel",
                "doppler_hz",
                "reference_channel",
            } <= set(c)
            assert (c["reference_channel"] is not None) == (c["type"] == "LTE")
    assert not [p for p in dataset.parent.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_labels_agree_with_sigmf_annotations(dataset):
    from radiofm.data.recording_open import open_recording

    lab = np.load(dataset / "labels.npy")
    f = row_freqs_hz(256, 256)
    t = (np.arange(256) + 0.5) * ofdm.FRAME_SAMPLES / 256
    for i in range(2):
        rec = open_recording(dataset / "iq" / f"frame_{i:04d}.sigmf-meta")
        assert rec.sample_rate_hz == FS and rec.n_samples == ofdm.FRAME_SAMPLES
        expected = np.zeros((256, 256), dtype=np.uint8)
        for a in rec.annotations:
            assert a.label in ("NR", "LTE")
            lo, hi = a.freq_lower_edge_hz - rec.center_freq_hz, a.freq_upper_edge_hz - rec.center_freq_hz
            assert -FS / 2 <= lo < hi <= FS / 2
            rows = (f >= lo) & (f < hi)
            cols = (t >= a.sample_start) & (t < a.sample_start + a.sample_count)
            expected[np.ix_(rows, cols)] = 1 if a.label == "NR" else 2
        assert np.array_equal(expected, lab[i])


def test_same_seed_same_bytes_for_any_worker_count(dataset, tmp_path):
    a = generate_dataset(tmp_path / "a", n_frames=2, split="test", seed=7, progress=False)
    b = generate_dataset(tmp_path / "b", n_frames=2, split="test", seed=7, progress=False, workers=2)
    for name in ("spectrograms.npy", "labels.npy"):
        assert (dataset / name).read_bytes() == (a / name).read_bytes() == (b / name).read_bytes()
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    assert ma == mb


def test_train_split_records_normal_noise(tmp_path):
    out = generate_dataset(tmp_path / "train", n_frames=1, split="train", seed=3, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    assert m["noise"]["distribution"] == "normal" and m["noise"]["mean_db"] == -15.0


@pytest.mark.parametrize(
    "kwargs",
    [{"split": "valid"}, {"n_frames": 0}, {"workers": 0}, {"seed": -1}, {"n_frames": 1.5}],
)
def test_bad_arguments_raise_config_error(tmp_path, kwargs):
    args = {"n_frames": 1, "split": "train", "seed": 0, "progress": False, **kwargs}
    with pytest.raises(ConfigError):
        generate_dataset(tmp_path / "x", **args)
    assert not (tmp_path / "x").exists()


def test_dataset_reader(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    np.save(folder / "spectrograms.npy", np.random.default_rng(0).normal(size=(2, 16, 16)).astype(np.float32))
    np.save(folder / "labels.npy", np.ones((2, 16, 16), np.uint8))
    with pytest.raises(DatasetError, match="no manifest.json"):
        open_segmentation_dataset(folder)
    (folder / "manifest.json").write_text(json.dumps({"kind": "spectrograms"}))
    with pytest.raises(DatasetError, match="is a 'spectrograms' dataset, expected 'nrlte-segmentation'"):
        open_segmentation_dataset(folder)
    (folder / "manifest.json").write_text(json.dumps({"kind": "nrlte-segmentation"}))
    ds = SegmentationDataset(folder, image_size=(8, 12))
    item = ds[1]
    assert item["x"].shape == (1, 8, 12) and item["y"].shape == (8, 12) and item["y"].dtype == torch.int64
    assert set(item["y"].unique().tolist()) == {1}  # nearest neighbour: no new label values
    with pytest.raises(DatasetError, match="does not exist"):
        open_segmentation_dataset(tmp_path / "missing")


def test_alt_generator_writes_a_valid_dataset(tmp_path):
    from radiofm.data.recording_open import open_recording

    out = generate_dataset(
        tmp_path / "alt", n_frames=1, split="test", seed=5, iq=True, progress=False, generator="alt", traffic="full"
    )
    specs, labels, m = open_segmentation_dataset(out)
    assert specs.shape == labels.shape == (1, 256, 256) and np.isfinite(specs).all()
    assert m["generator"] == "alt" and m["traffic"]["regimes"] == ["full"]
    carriers = m["frames"][0]["carriers"]
    assert carriers and all(c["traffic"] == "full" and c["type"] in ("NR", "LTE") for c in carriers)
    rec = open_recording(out / "iq" / "frame_0000.sigmf-meta")
    assert rec.n_samples == ofdm.FRAME_SAMPLES and len(rec.annotations) == len(carriers)
    f = row_freqs_hz(256, 256)
    expected = np.zeros((256, 256), dtype=np.uint8)
    for a in rec.annotations:
        lo, hi = a.freq_lower_edge_hz - rec.center_freq_hz, a.freq_upper_edge_hz - rec.center_freq_hz
        expected[(f >= lo) & (f < hi)] = 1 if a.label == "NR" else 2  # full load: on for the whole capture
    assert np.array_equal(expected, labels[0])
    band = labels[0].max(axis=1) > 0  # carriers stand above the floor where the labels say
    assert np.median(specs[0][band]) > np.median(specs[0][~band])
    with pytest.raises(ConfigError, match="unknown generator 'other'; valid: main, alt"):
        generate_dataset(tmp_path / "x", n_frames=1, split="test", seed=0, progress=False, generator="other")
    assert not (tmp_path / "x").exists()


def test_frame_structures_read_as_the_flag_reads_them(tmp_path):
    """`generate_dataset(lte_frames=["TDD"])` was refused and `lte_frames=["tdd", "tdd", "fdd"]` made the alt
    generator draw TDD twice as often, where `--lte-frames TDD` and `--lte-frames tdd,tdd,fdd` (and the API's
    own `traffic`) read names whatever their case and each once (session 60)."""
    from radiofm.data.nrlte import _lte_frames

    assert _lte_frames(["TDD", " fdd", "tdd", ""]) == ("tdd", "fdd")
    assert _lte_frames("MBSFN, fdd,") == ("mbsfn", "fdd")
    with pytest.raises(ConfigError, match="^lte_frames: unknown LTE frame structure 'HD-FDD'; valid: fdd, tdd, mbsfn"):
        _lte_frames(["fdd", "HD-FDD"])
    with pytest.raises(ConfigError, match="names no LTE frame structure"):
        _lte_frames(" , ")
    with pytest.raises(ConfigError, match="lte_frames must be a comma-separated string or a sequence"):
        _lte_frames(5)  # a TypeError before (session 60's review)
    out = generate_dataset(
        tmp_path / "alt", n_frames=1, split="test", seed=5, progress=False, generator="alt", lte_frames=["TDD", "tdd"]
    )
    assert json.loads((out / "manifest.json").read_text())["lte_frames"] == ["tdd"]
