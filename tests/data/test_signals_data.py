"""Signal-identification datasets: the SigMF writer, the class-folder / core:label reader, the PNG image reader and
transform, the spectrogram front end, and one-line errors for every bad input."""

import json

import numpy as np
import pytest

from radiofm.data import Annotation, open_recording, write_sigmf
from radiofm.data.signals import (
    SignalSpectrogramParams,
    check_classes,
    open_signal_dataset,
    signal_spectrogram,
    sort_classes,
    write_signal_dataset,
    zoom_band,
)
from radiofm.data.spectrogram_images import (
    export_image_dataset,
    image_transform,
    load_image,
    open_image_dataset,
    read_png,
    write_spectrogram_png,
)
from radiofm.errors import ConfigError, DatasetError, check_names
from radiofm.synth.signals import CLASSES, CaptureConfig

FS = 2.048e6
BRIGHT = CaptureConfig(snr_db_range=(15.0, 30.0))


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """2 captures × 3 classes of 20 ms at 15–30 dB SNR, written once for the module."""
    out = tmp_path_factory.mktemp("sig") / "ds"
    classes = ["morse", "digital-audio-broadcasting", "ads-b"]
    ds = write_signal_dataset(out, per_class=2, seed=5, duration_s=0.02, classes=classes, progress=False, config=BRIGHT)
    return out, ds


def _tone(n=4096, f=0.1):
    return (0.5 * np.exp(2j * np.pi * f * np.arange(n))).astype(np.complex64)


# ------------------------------------------------------------------------------------------------- SigMF writer


def test_writer_layout_labels_and_metadata(small_dataset):
    out, ds = small_dataset
    assert ds.classes == ["ads-b", "digital-audio-broadcasting", "morse"]
    assert [p.relative_to(out).as_posix() for p, _ in ds.items][:2] == [
        "ads-b/ads-b_0000.sigmf-meta",
        "ads-b/ads-b_0001.sigmf-meta",
    ]
    assert ds.counts() == {"ads-b": 2, "digital-audio-broadcasting": 2, "morse": 2}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "signals" and manifest["seed"] == 5 and manifest["datatype"] == "cu8"
    rec = open_recording(out / "morse" / "morse_0001.sigmf-meta")
    assert rec.sample_rate_hz == FS and rec.n_samples == int(0.02 * FS) and rec.datatype == "cu8"
    assert rec.global_meta["radiofm:class"] == "morse"
    assert {a.label for a in rec.annotations} == {"morse"} and rec.annotations
    cap = rec.global_meta["radiofm:capture"]
    fc = rec.center_freq_hz
    primary = [a for a in rec.annotations if a.extra["radiofm:primary"]]
    assert primary and all(a.freq_lower_edge_hz < fc + cap["center_offset_hz"] < a.freq_upper_edge_hz for a in primary)
    iq = rec.read()
    assert np.abs(iq.view(np.float32)).max() <= 1.0
    for label in ("ads-b", "digital-audio-broadcasting"):
        rec = open_recording(out / label / f"{label}_0000.sigmf-meta")
        lo, hi = rec.center_freq_hz - FS / 2, rec.center_freq_hz + FS / 2
        assert all(lo <= a.freq_lower_edge_hz < a.freq_upper_edge_hz <= hi for a in rec.annotations)


def test_writer_bytes_do_not_depend_on_workers_or_class_subset(tmp_path, small_dataset):
    out, _ = small_dataset
    other = write_signal_dataset(
        tmp_path / "w2",
        per_class=2,
        seed=5,
        duration_s=0.02,
        classes=["ads-b", "morse"],
        workers=2,
        progress=False,
        config=BRIGHT,
    )
    for meta, label in other.items:
        twin = out / label / meta.name
        assert meta.with_suffix(".sigmf-data").read_bytes() == twin.with_suffix(".sigmf-data").read_bytes()
        assert meta.read_text() == twin.read_text()


def test_writer_replaces_its_own_dataset_but_not_other_folders(tmp_path):
    out = tmp_path / "ds"
    write_signal_dataset(out, per_class=1, seed=0, duration_s=0.01, classes=["vor"], progress=False)
    write_signal_dataset(out, per_class=1, seed=1, duration_s=0.01, classes=["sstv"], progress=False)
    assert sorted(p.name for p in out.iterdir()) == [".radiofm-output.json", "manifest.json", "sstv"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "manifest.json").write_text("keep me")  # the output's name, not a radiofm manifest
    with pytest.raises(DatasetError, match="holds manifest.json and is not a signal dataset") as exc:
        write_signal_dataset(tmp_path / "mine", per_class=1, seed=0, duration_s=0.01, classes=["vor"], progress=False)
    one_line(exc)
    assert (tmp_path / "mine" / "manifest.json").read_text() == "keep me"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("keep me")  # other files: written beside them, and kept
    write_signal_dataset(tmp_path / "notes", per_class=1, seed=0, duration_s=0.01, classes=["vor"], progress=False)
    assert (tmp_path / "notes" / "notes.txt").read_text() == "keep me" and (tmp_path / "notes" / "vor").is_dir()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"per_class": 0}, "per_class"),
        ({"seed": -1}, "seed"),
        ({"classes": ["wlan"]}, "unknown signal class 'wlan'"),
        ({"classes": " , "}, "names no signal class"),
        ({"classes": []}, "names no signal class"),
        ({"classes": 5}, "classes must be a comma-separated string or a sequence of signal class names, got 5"),
        ({"classes": ["vor", 5]}, "classes: signal class names must be strings"),
        ({"datatype": "cf16"}, "datatype"),
        ({"duration_s": 100.0}, "duration_s"),
    ],
)
def test_writer_rejects_bad_arguments(tmp_path, kwargs, match):
    args = {"per_class": 1, "seed": 0, "duration_s": 0.01, "classes": ["vor"], "progress": False, **kwargs}
    with pytest.raises(ConfigError, match=match) as exc:
        write_signal_dataset(tmp_path / "x", **args)
    one_line(exc)
    assert not (tmp_path / "x").exists()


def test_writer_reads_class_names_as_the_flag_does(tmp_path):
    """`classes=["radioteletype"]` was refused where `--classes radioteletype` is taken, and `classes="fm"` was read
    letter by letter (session 60's review): a comma list or a sequence, exact spelling first, else any case, each
    name once, empty items skipped."""

    def names(value):
        return check_names(value, CLASSES, "signal class", "classes")

    assert names("fm") == ("fm",)
    assert names(" radioteletype, FM,,fm ") == ("Radioteletype", "fm")
    assert names(["rs41-radiosonde", "", "Radioteletype", "RADIOTELETYPE"]) == ("RS41-Radiosonde", "Radioteletype")
    with pytest.raises(ConfigError, match="^classes: unknown signal class 'f'"):
        names("f,fm")
    ds = write_signal_dataset(
        tmp_path / "x", per_class=1, seed=0, duration_s=0.01, classes="radioteletype,vor,VOR", progress=False
    )
    assert ds.classes == sort_classes(["Radioteletype", "vor"])
    assert json.loads((tmp_path / "x" / "manifest.json").read_text())["classes"] == ["Radioteletype", "vor"]


# ------------------------------------------------------------------------------------------------- SigMF reader


def test_reader_takes_labels_from_global_annotations_or_folder(tmp_path):
    root = tmp_path / "mixed"
    write_sigmf(root / "a", _tone(), sample_rate_hz=1e6, extra_global={"core:label": "wifi"})
    write_sigmf(root / "b", _tone(), sample_rate_hz=1e6, annotations=[Annotation(0, 100, label="lora")])
    write_sigmf(root / "morse" / "c", _tone(), sample_rate_hz=1e6)  # class folder, no label in the metadata
    write_sigmf(root / "morse" / "d", _tone(), sample_rate_hz=1e6, annotations=[Annotation(0, 9, label="morse")])
    ds = open_signal_dataset(root)
    assert [(p.name, label) for p, label in ds.items] == [
        ("a.sigmf-meta", "wifi"),
        ("b.sigmf-meta", "lora"),
        ("c.sigmf-meta", "morse"),
        ("d.sigmf-meta", "morse"),
    ]
    assert ds.classes == ["lora", "morse", "wifi"]


def test_reader_sorts_classes_case_insensitively(tmp_path):
    for name in ("RS41-Radiosonde", "pocsag", "Radioteletype", "ads-b"):
        write_sigmf(tmp_path / name / "x", _tone(), sample_rate_hz=1e6)
    assert open_signal_dataset(tmp_path).classes == ["ads-b", "pocsag", "Radioteletype", "RS41-Radiosonde"]


def test_reader_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found") as exc:
        open_signal_dataset(tmp_path / "missing")
    one_line(exc)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no SigMF recordings") as exc:
        open_signal_dataset(tmp_path / "empty")
    one_line(exc)

    flat = tmp_path / "flat"
    write_sigmf(flat / "rec1", _tone(), sample_rate_hz=1e6)
    write_sigmf(flat / "rec2", _tone(), sample_rate_hz=1e6)
    with pytest.raises(DatasetError, match=r"no recording has a class label \(e\.g\. rec1\.sigmf-meta\)") as exc:
        open_signal_dataset(flat)
    one_line(exc)

    write_sigmf(flat / "rec3", _tone(), sample_rate_hz=1e6, extra_global={"core:label": "vor"})
    with pytest.raises(DatasetError, match=r"rec1\.sigmf-meta: no class label.*2 of 3") as exc:
        open_signal_dataset(flat)
    one_line(exc)

    clash = tmp_path / "clash"
    write_sigmf(clash / "wifi" / "r", _tone(), sample_rate_hz=1e6, extra_global={"core:label": "bluetooth"})
    with pytest.raises(DatasetError, match="'bluetooth' in its metadata disagrees with class folder 'wifi'") as exc:
        open_signal_dataset(clash)
    one_line(exc)

    two = tmp_path / "two"
    anns = [Annotation(0, 10, label="ais"), Annotation(10, 10, label="pocsag")]
    write_sigmf(two / "r", _tone(), sample_rate_hz=1e6, annotations=anns)
    with pytest.raises(DatasetError, match=r"r\.sigmf-meta: annotations carry 2 labels \(ais, pocsag\)") as exc:
        open_signal_dataset(two)
    one_line(exc)

    nodata = tmp_path / "nodata"
    meta = write_sigmf(nodata / "vor" / "r", _tone(), sample_rate_hz=1e6)
    meta.with_suffix(".sigmf-data").unlink()
    with pytest.raises(DatasetError, match=r"r\.sigmf-meta: data file r\.sigmf-data is missing") as exc:
        open_signal_dataset(nodata)
    one_line(exc)

    broken = tmp_path / "broken"
    (broken / "vor").mkdir(parents=True)
    (broken / "vor" / "r.sigmf-meta").write_text("{not json")
    (broken / "vor" / "r.sigmf-data").write_bytes(b"\0" * 8)
    with pytest.raises(DatasetError, match="not valid JSON") as exc:
        open_signal_dataset(broken)
    one_line(exc)


def test_check_classes_names_the_unknown_class_and_where():
    check_classes(["ais", "lora", "vor"], ["lora", "ais"], "test set")
    with pytest.raises(DatasetError, match=r"test set /data/x: class 'wifi' not among the 3 training classes") as exc:
        check_classes(["ais", "lora", "vor"], ["lora", "wifi"], "test set /data/x")
    one_line(exc)
    with pytest.raises(DatasetError, match="classes 'a', 'b'"):
        check_classes(["z"], ["b", "a", "z"], "val")


def test_check_classes_on_a_test_folder_names_a_file(tmp_path):
    for label in ("ais", "sstv"):
        write_spectrogram_png(tmp_path / f"{label}_1.png", np.eye(8))
    test = open_image_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"test images: class 'sstv' \(e\.g\. .*sstv_1\.png\) not among") as exc:
        check_classes(["ais", "lora"], test, "test images")
    one_line(exc)


# ------------------------------------------------------------------------------------------------- images


def test_png_round_trip_orientation_and_transform(tmp_path):
    spec = np.zeros((64, 48))  # (F, T), row 0 = lowest frequency
    spec[2, :] = 1.0  # a tone near the bottom of the band
    spec[:, 0] = 0.5  # something at the first frame
    path = write_spectrogram_png(tmp_path / "lora_0001.png", spec)
    raw = read_png(path)
    assert raw.shape[:2] == (48, 64)  # stored as a waterfall: time down, frequency across
    img = load_image(path, size=(64, 48))
    assert img.shape == (1, 64, 48) and img.dtype == np.float32
    assert -1.0 - 1e-6 <= img.min() and img.max() <= 1.0 + 1e-6
    # after the follow-up's 90° rotation: frequency runs up the rows (lowest at the bottom), time left to right
    assert np.argmax(img[0, :, 20]) == 64 - 1 - 2
    assert img[0, 30, 0] > img[0, 30, 20]
    ds = open_image_dataset(tmp_path)
    assert ds.items == [(path, "lora")] and ds.classes == ["lora"]


def test_transform_uses_luma_greyscale_and_drops_alpha():
    rgba = np.zeros((8, 8, 4), np.float32)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 1.0, 0.5, 0.0, 0.3
    out = image_transform(rgba, size=8)
    expected = (0.2989 * 1.0 + 0.587 * 0.5 - 0.5) / 0.5
    assert np.allclose(out, expected, atol=1e-5)
    grey = image_transform(np.full((8, 8), 0.25, np.float32), size=4)
    assert grey.shape == (1, 4, 4) and np.allclose(grey, -0.5, atol=1e-5)


def test_image_reader_bad_inputs(tmp_path, monkeypatch):
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="no PNG images") as exc:
        open_image_dataset(tmp_path / "none")
    one_line(exc)

    nolabel = tmp_path / "nolabel"
    write_spectrogram_png(nolabel / "spectrum1.png", np.eye(8))
    write_spectrogram_png(nolabel / "spectrum2.png", np.eye(8))
    with pytest.raises(DatasetError, match=r"no image name has a class prefix before '_' \(e\.g\. spectrum1\.png\)"):
        open_image_dataset(nolabel)
    write_spectrogram_png(nolabel / "wifi_3.png", np.eye(8))
    with pytest.raises(DatasetError, match=r"spectrum1\.png: no class prefix.*2 of 3 images") as exc:
        open_image_dataset(nolabel)
    one_line(exc)

    bad = tmp_path / "bad" / "ais_7.png"
    bad.parent.mkdir()
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(DatasetError, match=r"ais_7\.png: unreadable PNG") as exc:
        load_image(bad)
    one_line(exc)

    import matplotlib.image

    ok = write_spectrogram_png(tmp_path / "vor_1.png", np.eye(8))
    monkeypatch.setattr(matplotlib.image, "imread", lambda *a, **k: np.zeros((4, 4, 4, 2), np.float32))
    with pytest.raises(DatasetError, match=r"vor_1\.png: image has shape \(4, 4, 4, 2\)") as exc:
        read_png(ok)
    one_line(exc)


# ------------------------------------------------------------------------------------------------- front end


def test_signal_spectrogram_matches_the_pretraining_front_end(small_dataset):
    from radiofm.dsp import resize, spectrogram

    out, _ = small_dataset
    path = out / "digital-audio-broadcasting" / "digital-audio-broadcasting_0000.sigmf-meta"
    params = SignalSpectrogramParams(image_size=(128, 32))
    img = signal_spectrogram(path, params)
    assert img.shape == (1, 128, 32) and img.dtype == np.float32 and np.isfinite(img).all()
    iq = open_recording(path).read()
    ref = resize(spectrogram(iq, fft_size=1024, win_length=1024, hop=1024), (128, 32), mode="bilinear")
    assert np.allclose(img[0], ref, atol=1e-4)
    # DAB lights up three quarters of the band (6 dB over the noise-only rows), Morse a line of it
    morse = signal_spectrogram(out / "morse" / "morse_0000.sigmf-meta", params)[0].mean(axis=1)
    dab = img[0].mean(axis=1)
    assert np.sum(dab > dab.min() + 6) > 0.6 * 128 and np.sum(morse > np.median(morse) + 6) < 8


def test_signal_spectrogram_span_and_bad_params(small_dataset):
    out, _ = small_dataset
    path = out / "ads-b" / "ads-b_0000.sigmf-meta"
    part = signal_spectrogram(path, SignalSpectrogramParams(duration_s=0.01, offset_s=0.005, image_size=(32, 16)))
    assert part.shape == (1, 32, 16)
    with pytest.raises(DatasetError, match=r"ads-b_0000\.sigmf-meta: needs 0\.05 s") as exc:
        signal_spectrogram(path, SignalSpectrogramParams(duration_s=0.05))
    one_line(exc)
    with pytest.raises(ConfigError, match="fft_size >= win_length"):
        SignalSpectrogramParams(fft_size=256, win_length=1024)
    with pytest.raises(ConfigError, match="image size"):
        SignalSpectrogramParams(image_size=(0, 10))


def test_zoom_band_centres_the_strongest_emission_not_the_dc_spike():
    rng = np.random.default_rng(0)
    spec = 1.0 + 0.05 * rng.random(1024)
    spec[300:303] += 40.0  # a narrowband emission
    spec[512] += 1000.0  # the receiver's DC spike, stronger than any emission
    assert zoom_band(spec, 32) == 301 - 16
    spec[1020:1023] += 100.0  # a stronger emission at the band edge: the window stays inside the band
    assert zoom_band(spec, 32) == 1024 - 32
    assert zoom_band(spec, 1024) == 0
    with pytest.raises(ConfigError, match="zoom of 2000 rows"):
        zoom_band(spec, 2000)


def test_two_scale_image_keeps_the_band_above_and_the_emission_below(tmp_path):
    n = 1024 * 64
    tone = _tone(n, f=0.1).astype(np.complex128)  # +204.8 kHz at 2.048 MS/s: bin 512 + 102.4
    noise = np.random.default_rng(1).normal(0, 0.01, (n, 2)) @ [1, 1j]
    write_sigmf(tmp_path / "t", (tone + noise + 0.5).astype(np.complex64), sample_rate_hz=FS)  # + a DC spike
    path = tmp_path / "t.sigmf-meta"
    plain = signal_spectrogram(path, SignalSpectrogramParams(image_size=(32, 16)))
    two = signal_spectrogram(path, SignalSpectrogramParams(image_size=(64, 16), zoom_rows=32))
    assert two.shape == (1, 64, 16) and two.dtype == np.float32 and np.isfinite(two).all()
    assert np.allclose(two[0, :32], plain[0], atol=1e-3)  # the upper rows are the one-scale image of 32 rows
    zoom = two[0, 32:].mean(axis=1)  # one 2 kHz bin per row, the tone in the middle row
    assert abs(int(np.argmax(zoom)) - 16) <= 1 and zoom.max() > np.median(zoom) + 20
    default = signal_spectrogram(path, SignalSpectrogramParams(image_size=(64, 16)))
    assert np.array_equal(default, signal_spectrogram(path, SignalSpectrogramParams(image_size=(64, 16), zoom_rows=0)))
    with pytest.raises(ConfigError, match="zoom rows"):
        SignalSpectrogramParams(image_size=(64, 16), zoom_rows=64)


def test_export_to_the_commrad_image_layout(tmp_path, small_dataset):
    _, ds = small_dataset
    images = export_image_dataset(ds, tmp_path / "png", SignalSpectrogramParams(image_size=(64, 64)), progress=False)
    assert images.classes == ds.classes and images.counts() == ds.counts()
    assert sorted(p.name for p, _ in images.items)[0] == "ads-b_00000.png"
    check_classes(ds.classes, images.classes, "exported images")
    x = load_image(images.items[0][0])
    assert x.shape == (1, 224, 224)


def test_a_recording_shorter_than_one_window_names_the_window(tmp_path):
    """The refusal said "needs 0.000439 s ... but holds 0.000439 s" (the recording's own length twice; session 60's
    review): it names the window's length."""
    p = SignalSpectrogramParams()
    short = write_sigmf(tmp_path / "short", np.zeros(p.win_length - 124, np.complex64), sample_rate_hz=FS)
    with pytest.raises(DatasetError, match=f"needs {p.win_length / FS:g} s from 0 s .* but holds"):
        signal_spectrogram(short, p)


def test_a_class_folder_that_is_a_link_is_a_class(tmp_path):
    """A class folder linked into the data set was skipped without a word (`Path.rglob` follows no link to a
    folder): `finetune signals` trained on the other classes (session 60's review)."""
    write_sigmf(tmp_path / "elsewhere" / "LoRa-é" / "r", _tone(), sample_rate_hz=1e6)
    write_sigmf(tmp_path / "data" / "vor" / "r", _tone(), sample_rate_hz=1e6)
    (tmp_path / "data" / "LoRa-é").symlink_to(tmp_path / "elsewhere" / "LoRa-é", target_is_directory=True)
    ds = open_signal_dataset(tmp_path / "data")
    assert sorted(ds.classes) == ["LoRa-é", "vor"]
