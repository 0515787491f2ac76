"""DeepBeam HDF5 layout: writer, run-aware frame slicing, front-end selection, refusals."""

import h5py
import numpy as np
import pytest

from radiofm.data.deepbeam import (
    front_end_of,
    list_front_ends,
    load_front_end,
    read_deepbeam,
)
from radiofm.data.deepbeam_write import write_deepbeam
from radiofm.errors import DatasetError

L = 2048


def _arrays(runs, seed=0):
    """Per-sample arrays with one (tx_beam, gain) label per run of the given lengths."""
    rng = np.random.default_rng(seed)
    n = sum(runs)
    tx = np.concatenate([np.full(r, i % 3) for i, r in enumerate(runs)]).astype(np.int16)
    gain = np.concatenate([np.full(r, 40.0 + 10 * (i // 3)) for i, r in enumerate(runs)]).astype(np.float32)
    return {
        "iq": rng.standard_normal((n, 2)).astype(np.float32),
        "tx_beam": tx,
        "rx_beam": np.zeros(n, np.int16),
        "gain": gain,
    }


def test_round_trip_and_frames_never_cross_runs(tmp_path):
    runs = [2 * L + 100, L - 1, 3 * L, L + 5]  # a short run gives no frame; remainders are dropped
    arrays = _arrays(runs)
    path = write_deepbeam(tmp_path / "x-24-beams-tx-ant-3-rx-ant-1.h5", arrays)
    d = read_deepbeam(path)
    assert d.front_end == "tx-ant-3-rx-ant-1" and d.angle is None
    assert d.frames.shape == (2 + 0 + 3 + 1, 2, L) and d.frames.dtype == np.float32
    starts = [0, L, 2 * L + 100 + L - 1, 2 * L + 100 + L - 1 + L, 2 * L + 100 + L - 1 + 2 * L, sum(runs[:3])]
    for f, s in zip(d.frames, starts):
        assert np.array_equal(f, arrays["iq"][s : s + L].T)
    assert d.tx_beam.tolist() == [0, 0, 2, 2, 2, 0] and d.gain.tolist() == [40.0] * 5 + [50.0]


def test_angle_files_and_caps(tmp_path):
    arrays = _arrays([4 * L, 4 * L])
    arrays["angle"] = np.repeat(np.array([-5.0, 5.0], np.float32), 4 * L)
    path = write_deepbeam(tmp_path / "aoa-tx-ant-0-rx-ant-0.h5", arrays)
    d = read_deepbeam(path, max_frames_per_label=2)
    assert len(d) == 4 and sorted(d.angle.tolist()) == [-5.0, -5.0, 5.0, 5.0]


def test_refuses_other_layouts(tmp_path):
    p = tmp_path / "a-tx-ant-0-rx-ant-0.h5"
    with h5py.File(p, "w") as h5:
        h5["samples"] = np.zeros((10, 2))
    with pytest.raises(DatasetError, match=r"not the DeepBeam layout \(no 'iq' dataset; the file holds samples\)"):
        read_deepbeam(p)
    with h5py.File(p, "w") as h5:
        h5["iq"] = np.zeros((4 * L, 2), np.float32)
    with pytest.raises(DatasetError, match="no 'tx_beam' dataset"):
        read_deepbeam(p)
    with h5py.File(p, "w") as h5:
        h5["iq"] = np.zeros((4 * L, 3), np.float32)
        h5["tx_beam"] = np.zeros(4 * L)
    with pytest.raises(DatasetError, match=r"'iq' must be a numeric \(N, 2\)"):
        read_deepbeam(p)
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        read_deepbeam(p)
    with pytest.raises(DatasetError, match="does not name a front end"):
        front_end_of(tmp_path / "beams.h5")
    with pytest.raises(DatasetError, match="not found"):
        read_deepbeam(tmp_path / "missing-tx-ant-0-rx-ant-0.h5")
    bad = _arrays([2 * L])
    bad["iq"][5, 0] = np.nan
    write_deepbeam(tmp_path / "n-tx-ant-1-rx-ant-0.h5", bad)
    with pytest.raises(DatasetError, match="non-finite"):
        read_deepbeam(tmp_path / "n-tx-ant-1-rx-ant-0.h5")


def test_front_end_selection(beam_data):
    assert sorted(list_front_ends(beam_data)) == ["tx-ant-0-rx-ant-0", "tx-ant-1-rx-ant-0"]
    d = load_front_end(beam_data, "tx-ant-1")
    assert d.front_end == "tx-ant-1-rx-ant-0" and len(d) == 2 * 4 * 8  # gains x beams x frames
    assert np.bincount(d.tx_beam).tolist() == [16] * 4
    a = load_front_end(beam_data / "aoa", "tx-ant-0", aoa=True)
    assert sorted(np.unique(a.angle).tolist()) == [-20.0, -10.0, 0.0, 10.0, 20.0]
    with pytest.raises(DatasetError, match=r"no DeepBeam file for front end 'tx-ant-7' .*found: tx-ant-0-rx-ant-0"):
        load_front_end(beam_data, "tx-ant-7")
    with pytest.raises(DatasetError, match=r"no angle-of-arrival files; .*aoa holds them \(radiofm generate beams\)"):
        load_front_end(beam_data, "tx-ant-0", aoa=True)


def _published_folder(root):
    """The 19-file download's names in one folder (wineslab/deepbeam README), each file tiny; the Pi-Radio file too."""

    def write(name, beams, angles=None):
        combos = [(g, b, a) for g in (40.0, 50.0) for b in beams for a in (angles or [None])]
        n = L * len(combos)
        arrays = {
            "iq": np.random.default_rng(len(name)).standard_normal((n, 2)).astype(np.float32),
            "tx_beam": np.repeat([c[1] for c in combos], L).astype(np.float64),
            "rx_beam": np.zeros(n),
            "gain": np.repeat([c[0] for c in combos], L),
        }
        if angles:
            arrays["angle"] = np.repeat([c[2] for c in combos], L).astype(np.float64)
        with h5py.File(root / name, "w") as h5:  # the download's files: plain datasets, no radiofm attributes
            for key, value in arrays.items():
                h5[key] = value

    root.mkdir()
    for nb in (24, 12):
        for t, r in ((0, 1), (1, 0), (2, 1), (3, 1)):
            write(f"srf-basic-config-{nb}-beams-tx-ant-{t}-rx-ant-{r}.h5", range(3))
        for setup in ("diagonal", "obstacle"):
            write(f"srf-{setup}-config-{nb}-beams-tx-ant-0-rx-ant-1.h5", range(3))
    for setup, (t, r) in [("basic", (0, 1)), ("basic", (1, 0)), ("diagonal", (0, 1)), ("obstacle", (0, 1))]:
        write(f"srf-{setup}-config-24-beams-aoa-tx-ant-{t}-rx-ant-{r}.h5", [4, 12, 20], angles=[-45.0, 0.0, 45.0])
    write("mrf-basic-config-5-beams.h5", range(5))
    return root


def test_the_published_download_in_one_folder(tmp_path):
    root = _published_folder(tmp_path / "deepbeam")
    assert "tx-ant-0-rx-ant-1" in list_front_ends(root)  # the Pi-Radio file names no front end: left out
    # tx-ant-0 has files of six set-ups: never mixed, the message names them and how to choose
    with pytest.raises(DatasetError, match=r"6 set-ups \(srf-basic-config-12-beams, .*srf-obstacle-config-24-beams\); "
                       r"name one, e\.g\. 'srf-basic-config-12-beams-tx-ant-0-rx-ant-1'"):  # fmt: skip
        load_front_end(root, "tx-ant-0", aoa=False)
    d = load_front_end(root, "srf-diagonal-config-24-beams-tx-ant-0", aoa=False)
    assert d.setup == "srf-diagonal-config-24-beams" and d.front_end == "tx-ant-0-rx-ant-1"
    assert d.sources == [str(root / "srf-diagonal-config-24-beams-tx-ant-0-rx-ant-1.h5")] and len(d) == 6
    # AoA files are told apart before the set-ups are counted (the beam files' 12-beam codebook does not matter)
    with pytest.raises(DatasetError, match="3 set-ups"):
        load_front_end(root, "tx-ant-0", aoa=True)
    a = load_front_end(root, "srf-basic-config-24-beams-aoa-tx-ant-0", aoa=True)
    assert sorted(np.unique(a.angle).tolist()) == [-45.0, 0.0, 45.0] and sorted(np.unique(a.tx_beam)) == [4, 12, 20]
    one = load_front_end(root, "srf-basic-config-24-beams-tx-ant-1-rx-ant-0", aoa=False)
    assert one.setup == "srf-basic-config-24-beams" and len(one) == 6
    with pytest.raises(DatasetError, match=r"no DeepBeam file of set-up 'srf-basic-config-48-beams'.*set-ups: "):
        load_front_end(root, "srf-basic-config-48-beams-tx-ant-0", aoa=False)
    with pytest.raises(DatasetError, match="Pi-Radio file is not read"):
        read_deepbeam(root / "mrf-basic-config-5-beams.h5")


def test_a_file_too_large_for_memory_asks_for_a_sample(tmp_path, monkeypatch):
    import os

    path = write_deepbeam(tmp_path / "x-tx-ant-0-rx-ant-0.h5", _arrays([4 * L]))
    real = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda key: 10 if key == "SC_PHYS_PAGES" else real(key))
    with pytest.raises(DatasetError, match=r"more than half of this machine's .*--max-frames-per-label N"):
        read_deepbeam(path)
    assert len(read_deepbeam(path, max_frames_per_label=1)) == 1  # a sample is read whatever the file's size


def test_generation_is_seeded(tmp_path, beam_data):
    from conftest import TINY_BEAMS

    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig

    generate_beam_dataset(
        tmp_path / "again", BeamConfig(**TINY_BEAMS), seed=0, aoa=False, front_ends=[1], progress=False
    )
    again = load_front_end(tmp_path / "again", "tx-ant-1")
    assert np.array_equal(again.frames, load_front_end(beam_data, "tx-ant-1").frames)


def test_a_folder_written_again_with_fewer_front_ends_holds_only_those(tmp_path):
    """The beam files were written one by one into --out: written again with fewer front ends, the old files
    stayed and were read as front ends of the new set. Now the folder is replaced whole, a user's files kept."""
    from conftest import TINY_BEAMS

    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.synth.beams import BeamConfig

    out = tmp_path / "beams"
    generate_beam_dataset(out, BeamConfig(**TINY_BEAMS), seed=0, aoa=False, progress=False)
    (out / "notes.txt").write_text("keep")
    generate_beam_dataset(out, BeamConfig(**TINY_BEAMS), seed=0, aoa=False, front_ends=[1], progress=False)
    assert sorted(p.name for p in out.glob("*.h5")) == ["synthetic-4-beams-tx-ant-1-rx-ant-0.h5"]
    assert (out / "notes.txt").read_text() == "keep"
    with pytest.raises(DatasetError, match="tx-ant-0"):
        load_front_end(out, "tx-ant-0")


def test_labels_must_be_whole_indices_and_shapes_must_be_written(tmp_path):
    for bad, found in ((0.25, "0.25"), (1e30, r"1e\+30")):
        arrays = _arrays([2 * L, 2 * L])
        arrays["tx_beam"] = arrays["tx_beam"].astype(np.float64)
        arrays["tx_beam"][2 * L :] = bad  # 2.25 and 2 would have been merged into one class by a cast
        write_deepbeam(tmp_path / "f-tx-ant-0-rx-ant-0.h5", arrays)
        with pytest.raises(DatasetError, match=f"'tx_beam' must hold whole beam indices, found {found}"):
            read_deepbeam(tmp_path / "f-tx-ant-0-rx-ant-0.h5")
    p = tmp_path / "huge-tx-ant-0-rx-ant-0.h5"
    with h5py.File(p, "w") as h5:  # 2 KB on disk, 2**40 samples declared: scanning it took hours
        h5.create_dataset("iq", shape=(2**40, 2), dtype=np.float32, chunks=(1 << 20, 2))
        h5.create_dataset("tx_beam", shape=(2**40,), dtype=np.int16, chunks=(1 << 20,))
    with pytest.raises(DatasetError, match="never written in full"):
        read_deepbeam(p)
    quiet = _arrays([2 * L, 2 * L])
    quiet["iq"][:] = 0  # compresses to almost nothing: still a whole file
    with h5py.File(p, "w") as h5:
        for key, values in quiet.items():
            h5.create_dataset(key, data=values, compression="gzip")
    assert len(read_deepbeam(p).frames) == 4
    big = _arrays([2 * L])
    big["iq"] = big["iq"].astype(np.float64)
    big["iq"][7, 1] = 1e300  # beyond float32: one line, no RuntimeWarning
    write_deepbeam(tmp_path / "b-tx-ant-0-rx-ant-0.h5", big)
    with pytest.raises(DatasetError, match="non-finite"):
        read_deepbeam(tmp_path / "b-tx-ant-0-rx-ant-0.h5")
