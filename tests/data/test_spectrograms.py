import os
from pathlib import Path

import numpy as np
import pytest
import torch

from radiofm.data.spectrograms import SpectrogramDataset, SpectrogramParams, build_spectrogram_dataset
from radiofm.errors import ConfigError, DatasetError

PARAMS = SpectrogramParams(image_size=(32, 48))


def test_build_shapes_stats_and_normalisation(tiny_corpus, tmp_path):
    ds = build_spectrogram_dataset(tiny_corpus, tmp_path / "cache", PARAMS, progress=False, shard_size=2)
    # 3 recordings x 40 ms at 1 MHz, 16 ms segments -> 2 segments each
    assert len(ds) == 6
    assert len(ds.manifest["shards"]) == 3
    x = ds[0]
    assert x.shape == (1, 32, 48) and x.dtype == torch.float32
    raw = np.stack([ds.raw(i) for i in range(len(ds))]).astype(np.float64)
    assert ds.stats["mean_db"] == pytest.approx(raw.mean(), rel=1e-5)
    assert ds.stats["std_db"] == pytest.approx(raw.std(), rel=1e-4)
    allx = np.stack([ds[i].numpy() for i in range(len(ds))])
    assert abs(allx.mean()) < 1e-3 and allx.std() == pytest.approx(1.0, rel=1e-3)


def test_cache_reused_then_invalidated(tiny_corpus, tmp_path):
    out = tmp_path / "cache"
    build_spectrogram_dataset(tiny_corpus, out, PARAMS, progress=False)
    stamp = (out / "manifest.json").stat().st_mtime_ns
    build_spectrogram_dataset(tiny_corpus, out, PARAMS, progress=False)
    assert (out / "manifest.json").stat().st_mtime_ns == stamp, "unchanged inputs must not rebuild"

    # a parameter change rebuilds
    ds = build_spectrogram_dataset(tiny_corpus, out, SpectrogramParams(image_size=(16, 16)), progress=False)
    assert ds[0].shape == (1, 16, 16)

    # a changed source file rebuilds
    data = sorted(tiny_corpus.glob("*.sigmf-data"))[0]
    arr = np.fromfile(data, dtype=np.complex64)
    arr[:1000] *= 10
    arr.tofile(data)
    before = ds.manifest["key"]
    ds2 = build_spectrogram_dataset(tiny_corpus, out, SpectrogramParams(image_size=(16, 16)), progress=False)
    assert ds2.manifest["key"] != before


def test_default_cache_is_beside_data_and_hidden_from_recording_search(tiny_corpus):
    ds = build_spectrogram_dataset(tiny_corpus, None, PARAMS, progress=False)
    assert ds.folder.parent.name == ".radiofm-cache"
    # building again must not pick up the cache's own .npy shards as recordings
    assert len(build_spectrogram_dataset(tiny_corpus, None, PARAMS, progress=False)) == len(ds)


def test_built_dataset_folder_can_be_passed_directly(tiny_corpus, tmp_path):
    ds = build_spectrogram_dataset(tiny_corpus, tmp_path / "c", PARAMS, progress=False)
    again = build_spectrogram_dataset(ds.folder, None, PARAMS, progress=False)
    assert len(again) == len(ds)


def test_workers_give_identical_bytes(tiny_corpus, tmp_path):
    a = build_spectrogram_dataset(tiny_corpus, tmp_path / "a", PARAMS, progress=False, workers=1)
    b = build_spectrogram_dataset(tiny_corpus, tmp_path / "b", PARAMS, progress=False, workers=2)
    assert [s["sha256"] for s in a.manifest["shards"]] == [s["sha256"] for s in b.manifest["shards"]]


def test_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        build_spectrogram_dataset(tmp_path / "missing", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no recordings"):
        build_spectrogram_dataset(tmp_path / "empty", progress=False)
    with pytest.raises(DatasetError, match="no manifest"):
        SpectrogramDataset(tmp_path / "empty")


def test_failed_build_leaves_no_partial_output(tiny_corpus, tmp_path):
    bad = tiny_corpus / "broken.sigmf-meta"
    bad.write_text("{not json")
    out = tmp_path / "cache"
    with pytest.raises(DatasetError, match="broken"):
        build_spectrogram_dataset(tiny_corpus, out, PARAMS, progress=False)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cache")]
    os.remove(bad)


def test_a_cache_folder_holding_the_recordings_is_refused(tiny_corpus):
    """The cache replaces its folder whole when built: a cache folder that is the recordings' folder (or above it)
    would have removed the recordings."""
    before = sorted(p.name for p in tiny_corpus.iterdir())
    for cache in (tiny_corpus, tiny_corpus.parent):
        with pytest.raises(ConfigError, match="holds the recordings"):
            build_spectrogram_dataset(tiny_corpus, cache, progress=False)
    assert sorted(p.name for p in tiny_corpus.iterdir()) == before


def test_fingerprint_sees_an_edit_in_place_and_not_the_spelling_of_the_folder(tmp_path, monkeypatch):
    from radiofm.data.spectrograms import fingerprint

    rng = np.random.default_rng(0)
    rec = tmp_path / "corpus" / "r.npy"
    rec.parent.mkdir()
    np.save(rec, rng.standard_normal(1_000_000).astype(np.complex64))  # 8 MB: hashed in blocks
    before = fingerprint(rec, rec.parent)
    assert before["path"] == "r.npy"
    monkeypatch.chdir(tmp_path / "corpus")
    assert fingerprint(Path("r.npy"), Path(".")) == before  # another working directory, another spelling
    with open(rec, "r+b") as f:  # the same size, 512 KiB zeroed a third of the way in (between the old 3 blocks)
        f.seek(3 << 20)
        f.write(b"\0" * (512 << 10))
    after = fingerprint(rec, rec.parent)
    assert after["bytes"] == before["bytes"] and after["sha256_sampled"] != before["sha256_sampled"]


def test_fingerprint_of_a_recording_whose_metadata_names_its_data_file(tmp_path):
    """`core:dataset: "a.bin"` (no a.sigmf-data): `inspect` read it, `pretrain` said "a.sigmf-data: No such file"
    (session 60's review). The data file the metadata names is the one hashed."""
    import json

    from radiofm.data import write_sigmf
    from radiofm.data.spectrograms import fingerprint

    meta = write_sigmf(tmp_path / "a", np.zeros(4000, np.complex64), sample_rate_hz=1e6)
    meta.with_suffix(".sigmf-data").rename(tmp_path / "a.bin")
    m = json.loads(meta.read_text())
    m["global"]["core:dataset"] = "a.bin"
    meta.write_text(json.dumps(m))
    before = fingerprint(meta, tmp_path)
    (tmp_path / "a.bin").write_bytes(b"\1" * 32000)
    assert fingerprint(meta, tmp_path)["sha256_sampled"] != before["sha256_sampled"]
