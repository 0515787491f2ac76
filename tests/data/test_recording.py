import json
import math
import warnings

import numpy as np
import pytest

from radiofm.data import (
    SUPPORTED_DATATYPES,
    Annotation,
    Capture,
    Recording,
    find_recordings,
    open_recording,
    write_sigmf,
)
from radiofm.errors import DatasetError, RecordingError

RATE = 1e6


def _signal(n=512, seed=1):
    rng = np.random.default_rng(seed)
    i, q = (0.3 * rng.standard_normal((2, n))).clip(-0.9, 0.9)
    return (i + 1j * q).astype(np.complex64)


def _tolerance(datatype):
    if datatype[1] == "f":
        return 1e-7
    bits = int(datatype[2:].split("_")[0])
    return 1e-6 if bits == 32 else 1.0 / 2 ** (bits - 1)


def _meta(path):
    return json.loads(path.with_suffix(".sigmf-meta").read_text())


def _rewrite_meta(meta_path, edit):
    meta = json.loads(meta_path.read_text())
    edit(meta)
    meta_path.write_text(json.dumps(meta))


# ------------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("datatype", SUPPORTED_DATATYPES)
def test_round_trip_every_datatype(tmp_path, datatype):
    iq = _signal()
    if datatype.startswith("r"):
        iq = iq.real.astype(np.float32)
    meta_path = write_sigmf(tmp_path / "rec", iq, sample_rate_hz=RATE, datatype=datatype)
    rec = open_recording(meta_path)
    assert rec.datatype == datatype and rec.n_samples == iq.size and rec.is_complex == datatype.startswith("c")
    out = rec.read()
    assert out.dtype == np.complex64 and out.shape == iq.shape
    np.testing.assert_allclose(out, iq, atol=_tolerance(datatype), rtol=0)
    if datatype.startswith("r"):
        assert np.all(out.imag == 0)
    # the sigmf library reads the same file to the same values (independent check of layout and byte order)
    from sigmf.sigmffile import fromfile

    ref = fromfile(str(meta_path), skip_checksum=True).read_samples()
    np.testing.assert_allclose(np.asarray(ref).astype(np.complex64), out, atol=_tolerance(datatype) + 1e-6, rtol=0)


def test_integer_quantisation_is_exact_and_clips(tmp_path):
    iq = np.array([0, 0.5 - 0.25j, 2.0 - 2.0j, -1.0 + 1j], dtype=np.complex64)
    write_sigmf(tmp_path / "q", iq, sample_rate_hz=RATE, datatype="ci16_le")
    raw = np.fromfile(tmp_path / "q.sigmf-data", dtype="<i2")
    assert raw.tolist() == [0, 0, 16384, -8192, 32767, -32768, -32768, 32767]
    write_sigmf(tmp_path / "u", iq, sample_rate_hz=RATE, datatype="cu8")
    assert np.fromfile(tmp_path / "u.sigmf-data", dtype="u1").tolist() == [128, 128, 192, 96, 255, 0, 0, 255]


def test_metadata_is_valid_sigmf_and_declares_extensions(tmp_path):
    from sigmf.schema import get_schema
    from sigmf.validate import validate

    anns = [Annotation(5, 10, 2.4e9, 2.41e9, "wifi", {"radiofm:confidence": 0.93, "core:comment": "hi"})]
    meta_path = write_sigmf(
        tmp_path / "v.sigmf-meta",
        _signal(),
        sample_rate_hz=RATE,
        center_freq_hz=2.45e9,
        annotations=anns,
        description="test",
        extra_global={"core:author": "me"},
    )
    assert meta_path.name == "v.sigmf-meta" and (tmp_path / "v.sigmf-data").is_file()
    meta = _meta(meta_path)
    g = meta["global"]
    assert g["core:recorder"] == "radiofm" and g["core:description"] == "test" and g["core:author"] == "me"
    assert g["core:sample_rate"] == RATE and g["core:datatype"] == "cf32_le" and g["core:version"]
    assert [e["name"] for e in g["core:extensions"]] == ["radiofm"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an undeclared namespace would warn
        validate(meta, get_schema())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_annotations_round_trip_sorted_with_extra_keys(tmp_path):
    anns = [
        Annotation(300, 50, None, None, "", {"radiofm:snr_db": 12.5}),
        Annotation(10, 100, 2.449e9, 2.451e9, "ble", {"radiofm:confidence": 0.93, "core:comment": "adv"}),
    ]
    rec = open_recording(
        write_sigmf(tmp_path / "a", _signal(), sample_rate_hz=RATE, center_freq_hz=2.45e9, annotations=anns)
    )
    assert rec.annotations == [anns[1], anns[0]]  # sorted by sample_start, every field kept


def test_multiple_captures(tmp_path):
    caps = [Capture(0, 2.40e9), Capture(200, 2.45e9, {"core:datetime": "2024-01-01T00:00:00Z"}), Capture(400)]
    iq = _signal()
    rec = open_recording(write_sigmf(tmp_path / "c", iq, sample_rate_hz=RATE, captures=caps))
    assert rec.captures == caps and rec.center_freq_hz == 2.40e9
    np.testing.assert_array_equal(rec.read(150, 100), iq[150:250])
    with pytest.raises(RecordingError, match="not both"):
        write_sigmf(tmp_path / "d", iq, sample_rate_hz=RATE, captures=caps, center_freq_hz=1e9)


@pytest.mark.parametrize("datatype", ["ci16_le", "ci16_be", "ci8", "cf32_le", "cu8", "ci32_le", "ri16_le"])
def test_read_integers_scaled_equal_read(tmp_path, datatype):
    """read_integers gives the stored I/Q integers and the power of two that makes them read()'s samples exactly,
    for signed complex integers of 8 or 16 bits (large spans through the file, small ones through the map);
    None for every datatype read() converts otherwise."""
    n = 1_100_000  # the whole of ci16 (4.4 MB) is read through the file, the other spans through the map
    iq = (_signal(n) * 0.7).astype(np.complex64) if datatype[0] == "c" else np.real(_signal(n)).astype(np.float32)
    rec = open_recording(write_sigmf(tmp_path / "r", iq, sample_rate_hz=RATE, datatype=datatype))
    got = rec.read_integers(10, 300)
    if datatype not in ("ci16_le", "ci16_be", "ci8"):
        assert got is None
        return
    for start, count in ((10, 300), (0, n), (n - 7, 7), (5, 0)):
        raw, scale = rec.read_integers(start, count)
        assert raw.shape == (count, 2) and raw.dtype.kind == "i" and scale == 2.0 ** (1 - 8 * raw.dtype.itemsize)
        samples = np.multiply(raw, np.float32(scale), dtype=np.float32).view(np.complex64).reshape(-1)
        np.testing.assert_array_equal(samples, rec.read(start, count))
    with pytest.raises(RecordingError, match="outside recording"):
        rec.read_integers(n - 5, 10)


def test_read_integers_refuses_a_span_across_a_header(tmp_path):
    iq = (_signal(300) * 0.5).astype(np.complex64)
    body = (np.round(iq.view(np.float32) * 32767)).astype("<i2").tobytes()
    (tmp_path / "h.sigmf-data").write_bytes(body[: 100 * 4] + b"h" * 8 + body[100 * 4 :])
    meta = {
        "global": {"core:datatype": "ci16_le", "core:sample_rate": RATE, "core:version": "1.2.0"},
        "captures": [{"core:sample_start": 0}, {"core:sample_start": 100, "core:header_bytes": 8}],
        "annotations": [],
    }
    (tmp_path / "h.sigmf-meta").write_text(json.dumps(meta))
    rec = open_recording(tmp_path / "h")
    assert rec.read_integers(90, 20) is None  # read() joins the two pieces; the caller falls back to it
    raw, scale = rec.read_integers(100, 50)
    np.testing.assert_array_equal(raw.astype(np.float32).ravel() * scale, rec.read(100, 50).view(np.float32))


def test_header_trailing_bytes_and_offset(tmp_path):
    """Captures with header bytes, trailing bytes and absolute indices (core:offset) read the right samples."""
    iq = _signal(300)
    body = iq.view(np.float32).astype("<f4").tobytes()
    split = 100 * 8
    (tmp_path / "h.sigmf-data").write_bytes(b"H" * 16 + body[:split] + b"h" * 8 + body[split:] + b"T" * 5)
    meta = {
        "global": {
            "core:datatype": "cf32_le",
            "core:sample_rate": RATE,
            "core:version": "1.2.0",
            "core:offset": 1000,
            "core:trailing_bytes": 5,
        },
        "captures": [
            {"core:sample_start": 1000, "core:header_bytes": 16, "core:frequency": 1e9},
            {"core:sample_start": 1100, "core:header_bytes": 8, "core:frequency": 2e9},
        ],
        "annotations": [{"core:sample_start": 1050, "core:sample_count": 100}],
    }
    (tmp_path / "h.sigmf-meta").write_text(json.dumps(meta))
    rec = open_recording(tmp_path / "h")
    assert rec.n_samples == 300
    assert [c.sample_start for c in rec.captures] == [0, 100]
    assert rec.annotations[0].sample_start == 50
    np.testing.assert_array_equal(rec.read(), iq)
    np.testing.assert_array_equal(rec.read(90, 20), iq[90:110])  # across the second capture's header
    # its tunings, each a recording of its own (how annotate analyses a retuned recording, session 60)
    assert rec.tunings() == [(0, 100), (100, 300)]
    second = rec.span(100, 200)
    assert second.n_samples == 200 and [(c.sample_start, c.center_freq_hz) for c in second.captures] == [(0, 2e9)]
    np.testing.assert_array_equal(second.read(), iq[100:])
    middle = rec.span(60, 80)  # across the header: the first capture's tuning, then the second's
    assert [(c.sample_start, c.center_freq_hz) for c in middle.captures] == [(0, 1e9), (40, 2e9)]
    assert middle.tunings() == [(0, 40), (40, 80)] and middle.annotations == []  # the annotation runs past its end
    np.testing.assert_array_equal(middle.read(), iq[60:140])
    np.testing.assert_array_equal(middle.read(35, 10), iq[95:105])
    assert [a.sample_start for a in rec.span(40, 200).annotations] == [10]
    with pytest.raises(RecordingError, match="outside its 300 samples"):
        rec.span(250, 51)


def test_open_by_any_name(tmp_sigmf):
    base = tmp_sigmf.with_suffix("")
    for p in (tmp_sigmf, base, tmp_sigmf.with_suffix(".sigmf-data"), str(base)):
        rec = open_recording(p)
        assert rec.path == tmp_sigmf and rec.n_samples == 4096
    assert isinstance(rec, Recording) and rec.sample_rate_hz == 1e6 and rec.center_freq_hz == 2.45e9
    assert abs(rec.duration_s - 4096e-6) < 1e-12


# ------------------------------------------------------------------------------------------------ memory map


def test_read_span_comes_from_memmap(tmp_sigmf, tiny_iq):
    rec = open_recording(tmp_sigmf)
    assert rec._map is None  # opening reads no samples
    np.testing.assert_array_equal(rec.read(1000, 24), tiny_iq[1000:1024])
    raw = rec.read_raw(1000, 24)
    assert raw.shape == (24, 2) and np.shares_memory(raw, rec._map) and isinstance(rec._map, np.memmap)
    assert rec.read(4096, 0).shape == (0,)
    with pytest.raises(RecordingError, match="outside"):
        rec.read(4090, 10)


def test_huge_sparse_recording_reads_only_a_span(tmp_path):
    """A 2 GiB (sparse) ci16 file opens and reads a span at its end without touching the rest."""
    n = 2**29  # samples * 4 bytes = 2 GiB
    data = tmp_path / "big.sigmf-data"
    with open(data, "wb") as f:
        f.truncate(n * 4)
        f.seek((n - 4) * 4)
        f.write(np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype="<i2").tobytes())
    meta = {
        "global": {"core:datatype": "ci16_le", "core:sample_rate": 20e6, "core:version": "1.2.0"},
        "captures": [{"core:sample_start": 0}],
        "annotations": [],
    }
    (tmp_path / "big.sigmf-meta").write_text(json.dumps(meta))
    rec = open_recording(data)
    assert rec.n_samples == n
    np.testing.assert_array_equal(rec.read(n - 5, 5) * 32768, [0, 1 + 2j, 3 + 4j, 5 + 6j, 7 + 8j])


# ------------------------------------------------------------------------------------------------ bad input


def _write_ok(tmp_path):
    return write_sigmf(tmp_path / "bad", _signal(64), sample_rate_hz=RATE)


def _case_missing(tmp_path):
    return tmp_path / "nope.sigmf-meta", "not found"


def _case_not_json(tmp_path):
    p = _write_ok(tmp_path)
    p.write_text("{not json")
    return p, "not valid JSON"


def _case_not_utf8(tmp_path):
    p = _write_ok(tmp_path)
    p.write_bytes(b'{"global": {"core:description": "\xff\xfe"}}')
    return p, "not UTF-8"


def _case_no_global(tmp_path):
    p = _write_ok(tmp_path)
    p.write_text("[1, 2]")
    return p, "no 'global'"


def _case_unknown_datatype(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].update({"core:datatype": "cf16_le"}))
    return p, "unsupported datatype 'cf16_le' (supported: cf64"


def _case_no_endianness(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].update({"core:datatype": "ci16"}))
    return p, "endianness"


def _case_no_rate(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].pop("core:sample_rate"))
    return p, "no sample rate"


def _case_zero_rate(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].update({"core:sample_rate": 0}))
    return p, "invalid sample rate"


def _case_schema(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["annotations"].append({"core:sample_start": "ten"}))
    return p, "invalid SigMF metadata at annotations/0/core:sample_start"


def _case_no_data(tmp_path):
    p = _write_ok(tmp_path)
    p.with_suffix(".sigmf-data").unlink()
    return p, "data file bad.sigmf-data is missing"


def _case_only_data(tmp_path):
    p = _write_ok(tmp_path)
    p.unlink()
    return p.with_suffix(".sigmf-data"), "metadata file bad.sigmf-meta is missing"


def _case_empty_data(tmp_path):
    p = _write_ok(tmp_path)
    p.with_suffix(".sigmf-data").write_bytes(b"")
    return p, "is empty"


def _case_truncated(tmp_path):
    p = _write_ok(tmp_path)
    with open(p.with_suffix(".sigmf-data"), "ab") as f:
        f.write(b"\0\0\0")
    return p, "truncated: 515 bytes is not a whole number of 8-byte cf32_le samples"


def _case_bad_suffix(tmp_path):
    p = tmp_path / "x.wav"
    p.write_bytes(b"RIFF")
    return p, "unsupported recording type"


def _case_folder(tmp_path):
    return tmp_path, "is a folder"


def _case_multichannel(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].update({"core:num_channels": 2}))
    return p, "only single-channel"


def _case_nan_rate(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].update({"core:sample_rate": float("nan")}))  # json.dumps writes NaN
    return p, "global: core:sample_rate holds NaN or Infinity"


def _case_infinite_frequency(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["captures"][0].update({"core:frequency": float("-inf")}))
    return p, "captures 0: core:frequency holds NaN or Infinity"


def test_nan_and_infinity_in_custom_fields_are_read_and_written_back(tmp_path):
    """`"sdr:gain_db": NaN` (Python's json.dump writes it; the sigmf library reads it) made radiofm refuse the whole
    recording (session 60's review): a custom field's value is the recorder's business, a core field's is not."""
    from radiofm.data.sigmf_writer import sigmf_source, write_sigmf_copy

    p = _write_ok(tmp_path)
    nan, inf = float("nan"), float("inf")
    _rewrite_meta(p, lambda m: (m["global"].update({"sdr:gain_db": nan}),
                                m["annotations"].append({"core:sample_start": 1, "sdr:snr": inf})))  # fmt: skip
    rec = open_recording(p)
    assert math.isnan(rec.global_meta["sdr:gain_db"]) and rec.annotations[0].extra["sdr:snr"] == float("inf")
    glob, caps = sigmf_source(rec)
    meta, _ = write_sigmf_copy(rec, tmp_path / "out" / "c", global_meta=glob, captures=caps,
                               annotations=[{"core:sample_start": 1, "sdr:snr": float("inf")}])  # fmt: skip
    text = meta.read_text()
    assert '"sdr:gain_db": NaN' in text and '"sdr:snr": Infinity' in text  # as they were
    assert math.isnan(open_recording(meta).global_meta["sdr:gain_db"])


@pytest.mark.parametrize(
    "case",
    [
        _case_missing,
        _case_nan_rate,
        _case_infinite_frequency,
        _case_not_json,
        _case_not_utf8,
        _case_no_global,
        _case_unknown_datatype,
        _case_no_endianness,
        _case_no_rate,
        _case_zero_rate,
        _case_schema,
        _case_no_data,
        _case_only_data,
        _case_empty_data,
        _case_truncated,
        _case_bad_suffix,
        _case_folder,
        _case_multichannel,
    ],
    ids=lambda f: f.__name__[6:],
)
def test_bad_input_is_one_line_recording_error(tmp_path, case):
    path, expected = case(tmp_path)
    with pytest.raises(RecordingError) as info:
        open_recording(path)
    msg = str(info.value)
    assert expected in msg
    assert "\n" not in msg and len(msg) < 400
    assert str(tmp_path) in msg  # names the file


def test_require_samples(tmp_sigmf):
    rec = open_recording(tmp_sigmf)
    rec.require_samples(4096)
    with pytest.raises(RecordingError, match=r"tiny.sigmf-meta has 4096 samples, need at least 8192$"):
        rec.require_samples(8192)


def test_sample_rate_argument_fills_a_missing_rate(tmp_path):
    p = _write_ok(tmp_path)
    _rewrite_meta(p, lambda m: m["global"].pop("core:sample_rate"))
    assert open_recording(p, sample_rate_hz=2e6).sample_rate_hz == 2e6


# ------------------------------------------------------------------------------------------------ non-finite


def test_nonfinite_error_and_repair(tmp_path):
    iq = _signal(100)
    iq[[3, 50]] = np.nan
    iq[70] = complex(np.inf, 0)
    rec = open_recording(write_sigmf(tmp_path / "n", iq, sample_rate_hz=RATE))
    with pytest.raises(
        RecordingError,
        match=r"^3 non-finite .* of .*n.sigmf-meta; repair them \(set to 0\) with "
        r"nonfinite='repair', or ",
    ):
        rec.read()
    np.testing.assert_array_equal(rec.read(4, 40), iq[4:44])  # a clean span reads fine
    with pytest.warns(UserWarning, match="repaired 3 non-finite"):
        out = rec.read(nonfinite="repair")
    assert np.all(np.isfinite(out)) and out[3] == 0 and out[70] == 0 and out[4] == iq[4]
    with pytest.raises(ValueError):
        rec.read(nonfinite="ignore")


def test_a_read_survives_another_threads_close_of_the_map(tmp_path):
    """Reads on several threads each close the memory map when done (no mapped pages kept): a read whose map another
    thread drops right after it was opened still reads from the map it opened (it returned None, a TypeError)."""
    iq = _signal(100)
    rec = open_recording(write_sigmf(tmp_path / "m", iq, sample_rate_hz=RATE))

    class ClosedAtOnce(Recording):  # another thread's close() between the opening and its use
        def __setattr__(self, name, value):
            object.__setattr__(self, name, None if name == "_map" else value)

    rec.__class__ = ClosedAtOnce
    np.testing.assert_array_equal(rec.read(10, 20), iq[10:30])  # a short read: through the memory map
    assert rec._map is None


def test_repaired_samples_counted_instead_of_warned(tmp_path):
    """Given a dict, a repairing read adds its repaired samples to counts["repaired"] and warns nothing (no warning
    filter is needed to count or silence them, so any thread may read); the samples are those of a warning read."""
    iq = _signal(100)
    iq[[3, 50]] = np.nan
    iq[70] = complex(np.inf, 0)
    rec = open_recording(write_sigmf(tmp_path / "n", iq, sample_rate_hz=RATE))
    with pytest.warns(UserWarning):
        want = rec.read(nonfinite="repair")
    counts = {"repaired": 1, "other": 7}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        got = rec.read(nonfinite="repair", counts=counts)
        got_part = rec.read(40, 40, nonfinite="repair", counts=counts)
        rec.read(4, 40, nonfinite="repair", counts=counts)  # nothing to repair: nothing added
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_part, want[40:80])
    assert counts == {"repaired": 1 + 3 + 2, "other": 7}  # samples 50 and 70 lie in [40, 80)
    with pytest.raises(RecordingError, match="non-finite"):  # counts change nothing when not repairing
        rec.read(nonfinite="error", counts=counts)


def test_write_refuses_bad_arguments(tmp_path):
    with pytest.raises(RecordingError, match="non-zero imaginary"):
        write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=RATE, datatype="rf32_le")
    with pytest.raises(RecordingError, match="non-finite"):
        write_sigmf(tmp_path / "r", np.array([np.nan], np.complex64), sample_rate_hz=RATE, datatype="ci8")
    with pytest.raises(RecordingError, match="unsupported datatype"):
        write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=RATE, datatype="cf16_le")
    with pytest.raises(RecordingError, match="sample_rate_hz"):
        write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=0)
    for rate in (-1.0, float("nan"), "1e6"):
        with pytest.raises(RecordingError, match="sample_rate_hz"):
            write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=rate)
    with pytest.raises(RecordingError, match="1-D"):
        write_sigmf(tmp_path / "r", _signal().reshape(-1, 2), sample_rate_hz=RATE)
    with pytest.raises(RecordingError, match="an annotation is an Annotation or a dict"):
        write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=RATE, annotations=["x"])
    with pytest.raises(RecordingError, match="invalid SigMF metadata"):
        write_sigmf(tmp_path / "r", _signal(), sample_rate_hz=RATE, annotations=[{"core:sample_start": -1}])
    assert list(tmp_path.iterdir()) == []  # nothing written on failure


# ------------------------------------------------------------------------------------------------ .npy


def test_npy_with_and_without_sidecar(tmp_path):
    iq = _signal(256)
    np.save(tmp_path / "x.npy", iq)
    with pytest.raises(RecordingError, match=r"x.npy \(no sidecar x.json\) has no sample rate; pass sample_rate_hz"):
        open_recording(tmp_path / "x.npy")
    rec = open_recording(tmp_path / "x.npy", sample_rate_hz=2e6)
    assert rec.sample_rate_hz == 2e6 and rec.datatype == "cf32_le" and rec.center_freq_hz is None
    np.testing.assert_array_equal(rec.read(10, 20), iq[10:30])

    (tmp_path / "x.json").write_text(
        json.dumps(
            {
                "sample_rate_hz": 5e6,
                "center_freq_hz": 2.4e9,
                "annotations": [{"sample_start": 1, "sample_count": 2, "label": "a"}],
            }
        )
    )
    rec = open_recording(tmp_path / "x.npy")
    assert (
        rec.sample_rate_hz == 5e6 and rec.center_freq_hz == 2.4e9 and rec.annotations == [Annotation(1, 2, label="a")]
    )

    np.save(tmp_path / "d.npy", iq.astype(np.complex128))
    np.testing.assert_allclose(open_recording(tmp_path / "d.npy", sample_rate_hz=1).read(), iq)


def test_npy_bad_inputs(tmp_path):
    np.save(tmp_path / "real.npy", np.zeros(10, np.float32))
    with pytest.raises(RecordingError, match="need a 1-D complex64/complex128 array, got float32"):
        open_recording(tmp_path / "real.npy", sample_rate_hz=1)
    (tmp_path / "junk.npy").write_bytes(b"junk")
    with pytest.raises(RecordingError, match="not a readable .npy"):
        open_recording(tmp_path / "junk.npy", sample_rate_hz=1)
    with pytest.raises(RecordingError, match="not found"):
        open_recording(tmp_path / "none.npy", sample_rate_hz=1)


# ------------------------------------------------------------------------------------------------ find


def test_find_recordings(tmp_path):
    assert find_recordings(tmp_path) == []
    write_sigmf(tmp_path / "b" / "two", _signal(8), sample_rate_hz=RATE)
    write_sigmf(tmp_path / "one", _signal(8), sample_rate_hz=RATE)
    np.save(tmp_path / "b" / "three.npy", _signal(8))
    (tmp_path / "notes.txt").write_text("x")
    assert find_recordings(tmp_path) == [
        tmp_path / "b" / "three.npy",
        tmp_path / "b" / "two.sigmf-meta",
        tmp_path / "one.sigmf-meta",
    ]
    with pytest.raises(RecordingError, match="not found"):
        find_recordings(tmp_path / "missing")


def test_a_built_datasets_arrays_are_not_recordings(tmp_path):
    """An NR/LTE set's labels.npy ended `evaluate annotate --data SET` in "need a 1-D complex64/complex128 array,
    got uint8" (session 59): arrays beside a dataset manifest are left out, and its iq/ recordings are found."""
    from radiofm.data.sources import no_recordings_message, resolve_sources

    dataset = tmp_path / "set"
    dataset.mkdir()
    (dataset / "manifest.json").write_text(json.dumps({"kind": "nrlte-segmentation"}))
    np.save(dataset / "labels.npy", np.zeros((2, 4, 4), np.uint8))
    np.save(dataset / "spectrograms.npy", np.zeros((2, 4, 4), np.float32))
    assert find_recordings(dataset) == []
    assert "holds a built nrlte-segmentation dataset" in no_recordings_message(dataset)
    with pytest.raises(DatasetError, match="holds a built nrlte-segmentation dataset, not recordings"):
        resolve_sources(dataset, built_kind="spectrograms")
    write_sigmf(dataset / "iq" / "frame_0000", _signal(8), sample_rate_hz=RATE)
    np.save(dataset / "iq" / "frame_0001.npy", _signal(8))  # no manifest beside it: a recording
    assert find_recordings(dataset) == [dataset / "iq" / "frame_0000.sigmf-meta", dataset / "iq" / "frame_0001.npy"]
    (tmp_path / "manifest.json").write_text("{}")  # a manifest without a kind names no dataset
    np.save(tmp_path / "loose.npy", _signal(8))
    assert tmp_path / "loose.npy" in find_recordings(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "capture-session"}))  # another tool's: recordings
    assert tmp_path / "loose.npy" in find_recordings(tmp_path)


def test_the_array_dataset_kinds_are_the_writers_own():
    from radiofm.data import nrlte, sentences, spectrograms
    from radiofm.data.sources import ARRAY_DATASET_KINDS

    assert set(ARRAY_DATASET_KINDS) == {nrlte.KIND, spectrograms.MANIFEST_KIND, sentences.MANIFEST_KIND}


def test_recording_pickles_without_its_samples(tmp_sigmf, tiny_iq):
    import pickle

    with open_recording(tmp_sigmf) as rec:
        rec.read(0, 10)
        blob = pickle.dumps(rec)
    assert rec._map is None and len(blob) < 4096 * 8  # metadata only, not the data file
    np.testing.assert_array_equal(pickle.loads(blob).read(5, 5), tiny_iq[5:10])


def test_the_schema_is_checked_once_and_metadata_every_time(tmp_path, monkeypatch):
    """The SigMF schema is checked against its metaschema once per process (it cost ~18 ms of each ~20 ms
    validation); every recording's metadata is still validated, with the library's own message for a bad one."""
    import jsonschema

    from radiofm.data import sigmf_format

    checks = []
    cls = jsonschema.validators.validator_for(sigmf_format.sigmf.schema.get_schema())
    check = cls.check_schema  # bound to the class
    monkeypatch.setattr(cls, "check_schema", lambda schema, **kw: checks.append(1) or check(schema, **kw))
    monkeypatch.setattr(sigmf_format, "_VALIDATORS", {}, raising=False)
    p = _write_ok(tmp_path)
    for _ in range(3):
        open_recording(p)
    _rewrite_meta(p, lambda m: m["annotations"].append({"core:sample_start": "ten"}))
    with pytest.raises(RecordingError, match="at annotations/0/core:sample_start: 'ten' is not of type 'integer'"):
        open_recording(p)
    assert len(checks) == 1


def test_a_data_file_cut_short_after_opening_is_one_line_error(tmp_path):
    from radiofm.data import open_recording, write_sigmf

    meta = write_sigmf(tmp_path / "r", np.ones(100_000, np.complex64), sample_rate_hz=1e6)
    rec = open_recording(meta)
    with open(rec.data_path, "r+b") as f:
        f.truncate(1000)  # a writer that started over while the recording was being followed
    with pytest.raises(RecordingError, match="shorter than its 100000 samples"):
        rec.read(90_000, 1000)


def test_linked_folders_are_followed_and_upper_case_extensions_open(tmp_path):
    """Two ways a user's own folder lost recordings without a word (session 60's review): a linked sub-folder
    (`Path.rglob` follows no link to a folder), and `R.SIGMF-META` / `R.SIGMF-DATA`, found by the folder scan and
    then "not found" by the reader. A link loop ends the walk."""
    from radiofm.data.sources import find_recordings

    store = tmp_path / "store"
    write_sigmf(store / "a", _signal(64), sample_rate_hz=RATE)
    data = tmp_path / "data"
    write_sigmf(data / "b", _signal(64), sample_rate_hz=RATE)
    (data / "linked").symlink_to(store, target_is_directory=True)
    (store / "loop").symlink_to(data, target_is_directory=True)  # store/loop -> data -> linked -> store: walked once
    up = write_sigmf(data / "c", _signal(64), sample_rate_hz=RATE)
    up.rename(data / "C.SIGMF-META")
    up.with_suffix(".sigmf-data").rename(data / "C.SIGMF-DATA")
    found = [p.relative_to(data).as_posix() for p in find_recordings(data)]
    assert sorted(found) == ["C.SIGMF-META", "b.sigmf-meta", "linked/a.sigmf-meta"]
    rec = open_recording(data / "C.SIGMF-META")
    assert rec.data_path.name == "C.SIGMF-DATA" and rec.n_samples == 64
    np.testing.assert_array_equal(open_recording(data / "C.SIGMF-DATA").read(), _signal(64))
