"""Every data reader under mutated input (see tests/fuzz_support.py): a read or a one-line RadioFMError, nothing
else. Each property runs on a few hundred derandomised examples here and on 10 000 under ``make fuzz``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.io
from fuzz_support import FUZZ_SETTINGS, Seeds, apply_edits, byte_edits, mutated_json, outcome
from hypothesis import given
from hypothesis import strategies as st

from radiofm.data import open_recording, write_sigmf
from radiofm.data.deepbeam import read_deepbeam
from radiofm.data.deepbeam_write import beam_file_name, write_deepbeam
from radiofm.data.matfile import load_mat
from radiofm.data.ntufi import read_csi_mat, write_csi_mat
from radiofm.data.positioning import open_positioning, write_positioning
from radiofm.data.spectrogram_images import read_png, write_spectrogram_png
from radiofm.data.spectrograms import SpectrogramDataset, SpectrogramParams, build_spectrogram_dataset


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """Valid files of every kind, read once as bytes, plus a scratch folder the examples overwrite."""
    root = tmp_path_factory.mktemp("fuzzseeds")
    rng = np.random.default_rng(0)
    iq = (0.1 * (rng.standard_normal(2048) + 1j * rng.standard_normal(2048))).astype(np.complex64)
    anns = [{"core:sample_start": 100, "core:sample_count": 500, "core:label": "NR", "core:freq_lower_edge": 2.4e9,
             "core:freq_upper_edge": 2.401e9}]  # fmt: skip
    meta = write_sigmf(root / "rec", iq, sample_rate_hz=1e6, center_freq_hz=2.4e9, annotations=anns, datatype="ci16_le")
    s = Seeds(sigmf_meta=json.loads(meta.read_text()), sigmf_data=(root / "rec.sigmf-data").read_bytes())
    np.save(root / "rec.npy", iq[:1024])
    s["npy"] = (root / "rec.npy").read_bytes()
    s["sidecar"] = {"sample_rate_hz": 1e6, "center_freq_hz": 2.4e9,
                    "annotations": [{"sample_start": 0, "sample_count": 10, "label": "a"}]}  # fmt: skip
    corpus = root / "corpus"
    write_sigmf(corpus / "a", np.tile(iq, 10), sample_rate_hz=1e6)
    ds = build_spectrogram_dataset(corpus, root / "cache", SpectrogramParams(image_size=(16, 16)), progress=False)
    s["manifest"] = json.loads((ds.folder / "manifest.json").read_text())
    s["cache"] = ds.folder
    write_csi_mat(root / "csi.mat", rng.random((3, 114, 2000)).astype(np.float32) * 0 + 0.5, version="5")
    s["mat"] = (root / "csi.mat").read_bytes()
    extra = {"CSIamp": rng.random((3, 4)), "note": "by hand", "meta": {"a": np.ones(2)}}
    extra["cells"] = np.array([np.ones(2)], dtype=object)
    scipy.io.savemat(root / "extra.mat", extra, format="5", do_compression=False)
    s["mat_extra"] = (root / "extra.mat").read_bytes()  # variables of other classes beside the one read
    write_positioning(root / "pos.mat", rng.random((2, 1, 4, 4)), rng.random((2, 3)))
    s["h5pos"] = (root / "pos.mat").read_bytes()
    write_spectrogram_png(root / "img.png", rng.random((8, 8)))
    s["png"] = (root / "img.png").read_bytes()
    n = 512
    beams = {"iq": rng.standard_normal((n, 2)).astype(np.float32), "tx_beam": np.repeat(np.arange(4), n // 4),
             "rx_beam": np.zeros(n), "gain": np.full(n, 30.0)}  # fmt: skip
    beam = write_deepbeam(root / beam_file_name(4, 0), beams)
    s["deepbeam"] = beam.read_bytes()
    s["deepbeam_name"] = beam.name
    s["work"] = root / "work"
    s["work"].mkdir()
    return s


# --------------------------------------------------------------------------- SigMF meta + data
def prop_sigmf(data, s):
    work = s["work"]
    (work / "r.sigmf-meta").write_bytes(data.draw(mutated_json(s["sigmf_meta"])))
    raw = s["sigmf_data"]
    if data.draw(st.booleans()):
        raw = apply_edits(raw, data.draw(byte_edits(len(raw), max_ops=3)))
    (work / "r.sigmf-data").write_bytes(raw)

    def read():
        rec = open_recording(work / "r.sigmf-meta")
        rec.read(0, min(rec.n_samples, 1024), nonfinite="repair")

    outcome("sigmf", read)


@given(st.data())
def test_sigmf(seeds, data):
    prop_sigmf(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_sigmf_fuzz(seeds, data):
    prop_sigmf(data, seeds)


# --------------------------------------------------------------------------- .npy + sidecar
def prop_npy(data, s):
    work = s["work"]
    npy = s["npy"] if data.draw(st.booleans()) else apply_edits(s["npy"], data.draw(byte_edits(len(s["npy"]))))
    (work / "n.npy").write_bytes(npy)
    (work / "n.json").write_bytes(data.draw(mutated_json(s["sidecar"])))
    rate = data.draw(st.sampled_from([None, 1e6]))

    def read():
        rec = open_recording(work / "n.npy", sample_rate_hz=rate)
        rec.read(0, min(rec.n_samples, 256), nonfinite="repair")

    outcome("npy+sidecar", read)


@given(st.data())
def test_npy(seeds, data):
    prop_npy(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_npy_fuzz(seeds, data):
    prop_npy(data, seeds)


# --------------------------------------------------------------------------- dataset manifest
def prop_manifest(data, s):
    folder = s["work"] / "cache"
    if not folder.exists():
        shutil.copytree(s["cache"], folder)
    (folder / "manifest.json").write_bytes(data.draw(mutated_json(s["manifest"])))

    def read():
        ds = SpectrogramDataset(folder)
        if len(ds):
            ds[len(ds) - 1]

    outcome("spectrogram manifest", read)


@given(st.data())
def test_manifest(seeds, data):
    prop_manifest(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_manifest_fuzz(seeds, data):
    prop_manifest(data, seeds)


# --------------------------------------------------------------------------- binary formats
def _binary(name, reader, filename):
    def prop(data, s):
        path = s["work"] / (s["deepbeam_name"] if filename is None else filename)
        path.write_bytes(apply_edits(s[name], data.draw(byte_edits(len(s[name])))))
        outcome(f"{name} ({filename or 'h5'})", lambda: reader(path))

    return prop


prop_mat = _binary("mat", read_csi_mat, "c.mat")
prop_mat_extra = _binary("mat_extra", lambda path: load_mat(path, ["CSIamp"]), "e.mat")
prop_h5pos = _binary("h5pos", open_positioning, "p.mat")
prop_png = _binary("png", read_png, "i.png")
prop_deepbeam = _binary("deepbeam", read_deepbeam, None)


@given(st.data())
def test_mat(seeds, data):
    prop_mat(data, seeds)


@given(st.data())
def test_mat_extra(seeds, data):
    prop_mat_extra(data, seeds)


@given(st.data())
def test_positioning(seeds, data):
    prop_h5pos(data, seeds)


@given(st.data())
def test_png(seeds, data):
    prop_png(data, seeds)


@given(st.data())
def test_deepbeam(seeds, data):
    prop_deepbeam(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_mat_fuzz(seeds, data):
    prop_mat(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_mat_extra_fuzz(seeds, data):
    prop_mat_extra(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_positioning_fuzz(seeds, data):
    prop_h5pos(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_png_fuzz(seeds, data):
    prop_png(data, seeds)


@pytest.mark.fuzz
@FUZZ_SETTINGS
@given(st.data())
def test_deepbeam_fuzz(seeds, data):
    prop_deepbeam(data, seeds)
