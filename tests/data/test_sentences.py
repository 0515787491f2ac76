"""Radio sentences: shapes and lengths, determinism, caching, normalisation, padding, bucketing, splits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radiofm.data.sentences import (
    PAPER_A_SPLIT,
    BucketBatchSampler,
    SentenceConfig,
    SentenceDataset,
    build_sentences,
    collate_sentences,
    split_indices,
)
from radiofm.errors import ConfigError, DatasetError

RATE_HZ = 1_000_000.0  # 2 ms slice = 2000 samples
# small STFT and images so a build takes milliseconds
CFG = SentenceConfig(fft_size=64, win_length=64, hop=64, height=32, width=64, token_width=4)


@pytest.fixture
def corpus(tmp_path):
    from radiofm.data import write_sigmf

    folder = tmp_path / "rec"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        N = int((0.1 + 0.02 * k) * RATE_HZ)
        t = np.arange(N) / RATE_HZ
        bursts = (np.sin(2 * np.pi * 200 * t) > 0).astype(np.float32)
        iq = 0.3 * np.exp(2j * np.pi * (100e3 + 50e3 * k) * t) * bursts
        iq = iq + 0.01 * (rng.standard_normal(N) + 1j * rng.standard_normal(N))
        write_sigmf(folder / f"rec{k}", iq.astype(np.complex64), sample_rate_hz=RATE_HZ)
    return folder


def test_config_lengths():
    cfg = SentenceConfig()
    assert cfg.slice_range == (5, 10)  # 10–20 ms of 2 ms slices
    assert [cfg.n_tokens(n) for n in (5, 10)] == [8, 16]  # proportional: 128–256 columns of 16
    fixed = SentenceConfig(resize_time="fixed")
    assert fixed.n_tokens(5) == fixed.n_tokens(10) == 16
    with pytest.raises(ConfigError):
        SentenceConfig(min_s=0.03)
    with pytest.raises(ConfigError):
        SentenceConfig(resize_time="stretch")


def test_build_shapes_and_variable_lengths(corpus, tmp_path):
    ds = build_sentences(corpus, CFG, seed=0, out_dir=tmp_path / "s", progress=False)
    assert isinstance(ds, SentenceDataset) and len(ds) >= 8
    lo, hi = CFG.slice_range
    valid_T = {CFG.n_tokens(n) for n in range(lo, hi + 1)}
    assert set(ds.lengths.tolist()) <= valid_T
    assert len(set(ds.lengths.tolist())) > 1  # proportional resize: lengths vary
    for i in range(len(ds)):
        x = ds[i]
        assert x.dtype == torch.float32 and x.shape == (ds.lengths[i], 1, *CFG.token_shape)
        assert torch.isfinite(x).all()
    # each recording's sentences are consecutive, non-overlapping runs of lo..hi slices inside the recording
    for src, n_rec_slices in enumerate((50, 60)):
        spans = ds.spans[ds.sources == src]
        assert spans[0, 0] == 0 and (spans[1:, 0] == spans[:-1].sum(1)).all()
        assert ((spans[:, 1] >= lo) & (spans[:, 1] <= hi)).all() and spans.sum(1).max() <= n_rec_slices
        assert n_rec_slices - spans.sum(1).max() < lo  # stops only when no whole sentence is left
    # dataset-wide normalisation: mean 0, std 1 over all tokens
    allv = torch.cat([ds[i].flatten() for i in range(len(ds))])
    assert abs(allv.mean().item()) < 1e-3 and allv.std().item() == pytest.approx(1.0, abs=1e-3)


def test_tokens_are_time_cuts_of_the_sentence_image(corpus, tmp_path):
    from radiofm.data import open_recording
    from radiofm.dsp import resize, spectrogram

    ds = build_sentences(corpus, CFG, seed=0, out_dir=tmp_path / "s", progress=False)
    i = int(np.flatnonzero(ds.sources == 1)[1])  # the second sentence of the second recording
    T = int(ds.lengths[i])
    first, n_slices = ds.spans[i].tolist()
    assert T == CFG.n_tokens(n_slices)
    rec = open_recording(sorted(corpus.glob("*.sigmf-meta"))[1])
    specs = [
        spectrogram(rec.read(k * 2000, 2000), fft_size=64, win_length=64, hop=64)
        for k in range(first, first + n_slices)
    ]
    image = resize(np.concatenate(specs, axis=1), (CFG.height, T * CFG.token_width))
    expected = image.reshape(CFG.height, T, CFG.token_width).transpose(1, 0, 2)
    np.testing.assert_allclose(ds.raw(i), expected, rtol=1e-5, atol=1e-4)


def test_fixed_resize_gives_equal_lengths(corpus, tmp_path):
    cfg = SentenceConfig(fft_size=64, win_length=64, hop=64, height=32, width=64, token_width=4, resize_time="fixed")
    ds = build_sentences(corpus, cfg, seed=0, out_dir=tmp_path / "s", progress=False)
    assert set(ds.lengths.tolist()) == {16}


def test_deterministic_and_cached(corpus, tmp_path):
    a = build_sentences(corpus, CFG, seed=3, out_dir=tmp_path / "a", progress=False)
    b = build_sentences(corpus, CFG, seed=3, out_dir=tmp_path / "b", progress=False)
    assert np.array_equal(a.index, b.index)
    assert all(np.array_equal(a.raw(i), b.raw(i)) for i in range(len(a)))
    c = build_sentences(corpus, CFG, seed=4, out_dir=tmp_path / "c", progress=False)
    assert not np.array_equal(a.lengths, c.lengths) or not np.array_equal(a.raw(0), c.raw(0))
    mtime = (tmp_path / "a" / "manifest.json").stat().st_mtime_ns
    again = build_sentences(corpus, CFG, seed=3, out_dir=tmp_path / "a", progress=False)  # reused, not rebuilt
    assert (tmp_path / "a" / "manifest.json").stat().st_mtime_ns == mtime and len(again) == len(a)
    assert len(build_sentences(tmp_path / "a", progress=False)) == len(a)  # a built folder opens directly


def test_errors(tmp_path, corpus):
    with pytest.raises(DatasetError):
        build_sentences(tmp_path / "missing", CFG, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError):
        build_sentences(tmp_path / "empty", CFG, progress=False)
    with pytest.raises(DatasetError):  # a 2 ms slice at 1 MHz is shorter than a 4096-sample window
        build_sentences(corpus, SentenceConfig(fft_size=4096, win_length=4096, hop=4096), out_dir=tmp_path / "x")


def test_collate_pads_after_the_end():
    batch = [torch.full((n, 1, 4, 2), float(n)) for n in (3, 5, 1)]
    x, lengths = collate_sentences(batch)
    assert x.shape == (3, 5, 1, 4, 2) and lengths.tolist() == [3, 5, 1]
    for b, n in enumerate((3, 5, 1)):
        assert (x[b, :n] == n).all() and (x[b, n:] == 0).all()


def test_bucket_sampler_groups_lengths():
    lengths = [8, 16, 9, 15, 8, 16, 10, 14, 12, 11]
    sampler = BucketBatchSampler(lengths, 2, shuffle=True, generator=torch.Generator().manual_seed(0))
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) <= 1
    again = list(BucketBatchSampler(lengths, 2, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert again == batches
    ordered = list(BucketBatchSampler(lengths, 4, shuffle=False, drop_last=True))
    assert len(ordered) == 2 and [lengths[i] for i in ordered[0]] == [8, 8, 9, 10]


def test_split_indices():
    parts = split_indices(100, PAPER_A_SPLIT, seed=0)
    assert {k: len(v) for k, v in parts.items()} == {"pretrain": 50, "forecast_train": 40, "forecast_test": 10}
    assert sorted(i for v in parts.values() for i in v) == list(range(100))
    assert split_indices(100, PAPER_A_SPLIT, seed=0) == parts
    assert split_indices(100, PAPER_A_SPLIT, seed=1) != parts
    groups = [i // 10 for i in range(100)]  # ten recordings of ten sentences
    grouped = split_indices(100, {"a": 0.5, "b": 0.5}, seed=0, groups=groups)
    ga = {groups[i] for i in grouped["a"]}
    gb = {groups[i] for i in grouped["b"]}
    assert len(ga) == len(gb) == 5 and not ga & gb
    with pytest.raises(ConfigError):
        split_indices(10, {"a": 0.5, "b": 0.2}, seed=0)


def test_loader_feeds_the_convlstm(corpus, tmp_path):
    from radiofm.models.registry import create_model

    ds = build_sentences(corpus, CFG, seed=0, out_dir=tmp_path / "s", progress=False)
    sampler = BucketBatchSampler(ds.lengths, 4, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_sentences)
    x, lengths = next(iter(loader))
    assert x.shape[0] == lengths.shape[0] and x.shape[1] == int(lengths.max())
    model = create_model("convlstm-tiny", token_shape=list(CFG.token_shape), hidden_channels=4, num_layers=1)
    loss, pred, mask = model.forward_msm(x, lengths, 0.2, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and pred.shape == x.shape
    assert not (mask & (torch.arange(x.shape[1])[None] >= lengths[:, None])).any()
