"""The ISM corpus folder (radiofm.data.ism): byte-identical for any worker count, read back, errors."""

import json

import numpy as np
import pytest

from radiofm.data import open_recording
from radiofm.data.ism import generate_corpus
from radiofm.errors import ConfigError

TINY = {"sample_rate_choices_hz": (10e6, 20e6), "duration_s_range": (0.005, 0.008)}


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


def test_recordings_read_back_with_their_annotations(tmp_path):
    (meta,) = generate_corpus(tmp_path, n_recordings=1, seed=3, progress=False, datatype="ci16_le", **TINY)
    rec = open_recording(meta)
    iq = rec.read()
    assert rec.datatype == "ci16_le" and 2.40e9 <= rec.center_freq_hz <= 2.65e9
    assert rec.sample_rate_hz in TINY["sample_rate_choices_hz"] and 0.005 <= rec.n_samples / rec.sample_rate_hz <= 0.008
    assert np.isfinite(iq).all() and np.abs(iq.view(np.float32)).max() <= 1.0
    summary = json.loads((tmp_path / "corpus.json").read_text())
    assert summary["files"][0]["n_annotations"] == len(rec.annotations)


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


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"duration_s_range": 0.04}, r"duration_s_range must be a \(lo, hi\) pair of numbers, got 0.04"),
        ({"duration_s_range": (0.03, 0.04, 0.05)}, "duration_s_range must be a"),
        ({"duration_s_range": ("0.03", "0.04")}, "duration_s_range must be a"),
        ({"snr_db_range": 10}, "snr_db_range must be a"),
        ({"center_freq_range_hz": 2.45e9}, "center_freq_range_hz must be a"),
        ({"sample_rate_choices_hz": 10e6}, "sample_rate_choices_hz must be a sequence of sample rates in Hz"),
        ({"sample_rate_choices_hz": "10e6"}, "sample_rate_choices_hz must be a sequence"),
    ],
)
def test_a_number_where_a_pair_or_list_goes_is_named(tmp_path, kwargs, match):
    """`generate_corpus(duration_s_range=0.04)` and `sample_rate_choices_hz=10e6` ended in a TypeError (session
    61's review)."""
    with pytest.raises(ConfigError, match=match):
        generate_corpus(tmp_path, n_recordings=1, seed=0, progress=False, **kwargs)
    assert not list(tmp_path.iterdir())


def test_a_smaller_corpus_written_again_leaves_no_stale_recordings(tmp_path):
    """The corpus was written straight into its folder: written again with fewer recordings, the old ones stayed
    (and were read as part of it), and a killed run left a partial folder. Now the folder is replaced whole,
    keeping only files radiofm did not write."""
    out = tmp_path / "corpus"
    generate_corpus(out, n_recordings=3, seed=1, progress=False, **TINY)
    (out / "notes.txt").write_text("keep")
    (meta,) = generate_corpus(out, n_recordings=1, seed=2, progress=False, **TINY)
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["corpus.json", "notes.txt", "recording_0000.sigmf-data", "recording_0000.sigmf-meta"]
    assert json.loads(meta.read_text())["global"]["radiofm:seed"] == 2
