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
