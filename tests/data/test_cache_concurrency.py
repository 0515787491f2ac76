"""Two processes building the same dataset cache at once (two users, or DDP ranks without the rank-0 guard):
the cache is built once, never corrupted, and both get the same bytes; a killed build leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from radiofm.data.spectrograms import SpectrogramDataset, build_spectrogram_dataset
from radiofm.io import build_lock

ROOT = Path(__file__).resolve().parents[2]
BUILD = """
import sys, time
from pathlib import Path
from radiofm.data.spectrograms import SpectrogramParams, build_spectrogram_dataset
src, out, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
while not go.exists():  # both processes start building at the same moment
    time.sleep(0.005)
ds = build_spectrogram_dataset(src, out, SpectrogramParams(image_size=(32, 32)), progress=False)
print(len(ds), ds.manifest["key"])
"""


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_two_processes_build_the_same_cache(tiny_corpus, tmp_path):
    out, go = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", BUILD, str(tiny_corpus), str(out), str(go)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]  # fmt: skip
    go.touch()
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-2000:] for r in results]
    assert results[0][0] == results[1][0]  # same size and key
    ds = SpectrogramDataset(out, verify=True)  # every shard matches its checksum
    assert len(ds) == int(results[0][0].split()[0])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".cache")) == [".cache.lock"]
    ref = build_spectrogram_dataset(tiny_corpus, tmp_path / "ref", ds.params, progress=False, force=True)
    assert _hashes(ref.folder) == _hashes(out)  # the same bytes as a lone build


def test_build_lock_removes_what_a_killed_build_left(tmp_path):
    out = tmp_path / "cache"
    (tmp_path / ".cache.abc123xy.tmp").mkdir()
    (tmp_path / ".cache.abc123xy.tmp" / "shard_00000.npy").write_bytes(b"partial")
    (tmp_path / ".cache.old-999").mkdir()
    (tmp_path / ".other.abc.tmp").mkdir()
    with build_lock(out):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache.lock", ".other.abc.tmp"]


def test_other_recordings_of_one_folder_or_one_cache_dir_get_caches_of_their_own(tiny_corpus, tmp_path):
    """A folder and one recording of it, or two folders sharing a --cache-dir, shared one cache folder, and each
    build replaced it under the other's running reader (session 61's review: a run trained on the other data
    with its own statistics, loss 1026 for 1.15). Each set of recordings now has a folder of its own."""
    from radiofm.data.spectrograms import SpectrogramParams

    params = SpectrogramParams(image_size=(32, 32))
    whole = build_spectrogram_dataset(tiny_corpus, params=params, progress=False)
    one = build_spectrogram_dataset(sorted(tiny_corpus.glob("*.sigmf-meta"))[0], params=params, progress=False)
    assert whole.folder != one.folder and len(one) < len(whole)
    assert whole.raw(len(whole) - 1).shape == (32, 32)  # the first reader's shards are still its own
    other = tmp_path / "other"
    other.mkdir()
    for meta in sorted(tiny_corpus.glob("*.sigmf-meta"))[:2]:  # two of its three recordings
        for p in (meta, meta.with_suffix(".sigmf-data")):
            (other / p.name).write_bytes(p.read_bytes())
    root = tmp_path / "cc"
    a = build_spectrogram_dataset(tiny_corpus, params=params, cache_root=root, progress=False)
    b = build_spectrogram_dataset(other, params=params, cache_root=root, progress=False)
    assert a.folder.parent == b.folder.parent == root and a.folder != b.folder
    again = build_spectrogram_dataset(tiny_corpus, params=params, cache_root=root, progress=False)
    assert again.folder == a.folder and again.manifest["key"] == a.manifest["key"]  # reused, not rebuilt


def test_a_cache_rebuilt_under_a_reader_is_an_error_not_other_data(tiny_corpus):
    """The shards are opened lazily (and again in every DataLoader worker): a reader whose cache another run rebuilt
    meanwhile says so instead of reading the new shards with its own statistics."""
    import pytest

    from radiofm.data.spectrograms import SpectrogramParams
    from radiofm.errors import DatasetError

    params = SpectrogramParams(image_size=(32, 32))
    reader = build_spectrogram_dataset(tiny_corpus, params=params, progress=False)
    build_spectrogram_dataset(tiny_corpus, params=params, progress=False, force=True)
    with pytest.raises(DatasetError, match="rebuilt or removed by another radiofm process"):
        reader.raw(0)
    assert build_spectrogram_dataset(tiny_corpus, params=params, progress=False).raw(0).shape == (32, 32)
