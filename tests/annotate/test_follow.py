"""annotate --follow: a recording grown by a background writer gives exactly the one-shot result on the finished
file, with carriers handed out while the file is still growing."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from test_annotate import band_capture, carrier, oracle

import radiofm.annotate as A
from radiofm.annotate import clean
from radiofm.annotate.follow import follow_recording
from radiofm.data import open_recording
from radiofm.errors import RecordingError

FS = 15.36e6  # 64 rows: images are noise-filled around the band (seeded draws must match too)
COL = 2400  # samples per column


def _carriers(n):
    f = 40 * COL * 6  # 0.25 frame... a span unit of 960 columns / 4
    return [
        carrier("LTE", -6.0e6, -1.5e6, 0, n),
        carrier("NR", 0.5e6, 5.5e6, f // 3, f),
        carrier("NR", 0.5e6, 5.5e6, 3 * f, f // 2),
        carrier("LTE", 1.0e6, 4.0e6, 5 * f, f // 3),
    ]


def _meta(path, datatype="ci16_le"):
    body = {
        "global": {"core:datatype": datatype, "core:sample_rate": FS, "core:version": "1.2.6"},
        "captures": [{"core:sample_start": 0, "core:frequency": 2.6e9}],
        "annotations": [],
    }
    path.write_text(json.dumps(body))


def _ci16(x):
    return np.round(x.view(np.float32) * 8000).astype("<i2").tobytes()


@pytest.mark.parametrize("step", [1, 2], ids=["every-frame", "frame-step-2"])
def test_follow_equals_one_shot_on_the_finished_file(tmp_path, step, monkeypatch):
    n = 7 * 256 * COL + 5 * COL + 77  # 7 frames and a bit (a partial column at the end)
    # the receiver's imbalance is measured over the recording's first second, and a follow run waits for it; this
    # 0.28 s recording would hand nothing out while growing. A 50 ms window: spans spread as over a long one
    monkeypatch.setattr(clean, "REPAIR_WINDOW_S", 0.05)
    assert len(clean.image_spans(FS, n)) == clean.DETECT_SEGMENTS
    carriers = _carriers(n)
    t = np.arange(n)
    lines = 0.2 + 0.3 * np.exp(2j * np.pi * 6.5e6 / FS * t)  # LO leakage and a spur: found once, removed alike
    data = _ci16(band_capture(FS, n, carriers, seed=3) + lines.astype(np.complex64))
    meta, dat = tmp_path / "g.sigmf-meta", tmp_path / "g.sigmf-data"
    _meta(meta)
    sizes, emitted = [], threading.Event()

    def writer():
        rng = np.random.default_rng(0)
        with open(dat, "wb") as f:
            pos = 0
            while pos < len(data):
                k = int(rng.integers(50_000, 900_000))  # not a whole number of samples: half-written ones
                f.write(data[pos : pos + k])
                f.flush()
                pos += k
                time.sleep(0.02)
                while pos > 0.7 * len(data) and pos < len(data) and not emitted.is_set():
                    f.write(data[pos : pos + 4096])  # trickle (the file keeps growing) until a carrier is out
                    f.flush()
                    pos += 4096
                    emitted.wait(timeout=0.05)

    predictor = oracle(carriers)
    predictor.level_invariant = True

    def on_annotations(anns):
        sizes.append((dat.stat().st_size, len(anns)))
        emitted.set()

    t = threading.Thread(target=writer)
    t.start()
    # the idle timeout must outlast any pause of the writer thread: 3 s was once too short on a 2-core machine
    # running three other jobs (the file stopped growing halfway and the run ended there)
    res, rec = follow_recording(
        meta, predictor, idle_timeout_s=8.0, poll_s=0.01, block_frames=1, on_annotations=on_annotations,
        frame_step=step,
    )  # fmt: skip
    t.join()
    assert rec.n_samples == n
    one = A.annotate_recording(open_recording(meta), predictor, block_frames=1, frame_step=step)
    assert res.annotations == one.annotations and len(one.annotations) >= 4
    assert res.lines_hz == one.lines_hz and np.allclose(sorted(one.lines_hz), [0.0, 6.5e6], atol=5.0)
    np.testing.assert_array_equal(res.picture_db, one.picture_db)
    assert res.plan == one.plan
    assert sum(k for _, k in sizes) < len(one.annotations)  # the carrier running to the end waits for the end
    assert any(size < len(data) for size, _ in sizes)  # ... the others were handed out while the file grew


def test_follow_duration_and_nothing_arriving(tmp_path):
    n = 4 * 256 * COL
    carriers = _carriers(n)
    meta = tmp_path / "d.sigmf-meta"
    _meta(meta)
    (tmp_path / "d.sigmf-data").write_bytes(_ci16(band_capture(FS, n, carriers, seed=4)))
    predictor = oracle(carriers)
    predictor.level_invariant = True
    res, _ = follow_recording(meta, predictor, duration_s=2 * 256 * COL / FS, idle_timeout_s=5.0, block_frames=1)
    assert res.plan.n_samples == 2 * 256 * COL  # just the first SECONDS
    cut = open_recording(meta)
    assert max(a.sample_start + a.sample_count for a in res.annotations) <= 2 * 256 * COL
    assert cut.n_samples == n
    empty = tmp_path / "e.sigmf-meta"
    _meta(empty)
    (tmp_path / "e.sigmf-data").write_bytes(b"")
    with pytest.raises(RecordingError, match="empty"):
        follow_recording(empty, predictor, idle_timeout_s=0.2, poll_s=0.05)


def test_an_analysis_slower_than_the_idle_timeout_does_not_end_the_stream(tmp_path):
    """Growth that happens while a block is analysed is seen at the next poll: it must not read as idleness."""
    n = 4 * 256 * COL
    carriers = _carriers(n)
    data = _ci16(band_capture(FS, n, carriers, seed=5))
    meta, dat = tmp_path / "s.sigmf-meta", tmp_path / "s.sigmf-data"
    _meta(meta)
    dat.write_bytes(b"")
    fast = oracle(carriers)

    def slow(images, frames):
        time.sleep(0.3)  # longer than the idle timeout below
        return fast(images, frames)

    slow.level_invariant = True

    def writer():
        with open(dat, "ab") as f:
            for k in range(0, len(data), len(data) // 16):
                f.write(data[k : k + len(data) // 16])
                f.flush()
                time.sleep(0.05)

    t = threading.Thread(target=writer)
    t.start()
    res, rec = follow_recording(meta, slow, idle_timeout_s=0.2, poll_s=0.01, block_frames=1, phy=False)
    t.join()
    assert res.plan.n_samples == rec.n_samples == n  # the whole stream, not the part before the first analysis


def _grown(tmp_path, name, seconds_of_columns=2):
    n = seconds_of_columns * 256 * COL
    carriers = _carriers(4 * 256 * COL)
    meta, dat = tmp_path / f"{name}.sigmf-meta", tmp_path / f"{name}.sigmf-data"
    _meta(meta)
    data = _ci16(band_capture(FS, n, carriers, seed=6))
    predictor = oracle(carriers)
    predictor.level_invariant = True
    return meta, dat, data, predictor


def test_a_stream_that_ends_mid_sample_is_annotated_up_to_its_last_whole_sample(tmp_path):
    from radiofm.annotate.output import write_annotated

    meta, dat, data, predictor = _grown(tmp_path, "odd")
    dat.write_bytes(data)
    polls = []

    def sleep(s):
        polls.append(s)
        if len(polls) == 2:
            with open(dat, "ab") as f:
                f.write(b"\x01\x02")  # a sample half written when the writer stopped
        time.sleep(s)

    res, rec = follow_recording(meta, predictor, idle_timeout_s=0.3, poll_s=0.05, block_frames=1, sleep=sleep)
    assert res.plan.n_samples == rec.n_samples == len(data) // 4
    paths = write_annotated(rec, res, tmp_path / "out" / "odd", n_samples=res.plan.n_samples)
    assert paths["data"].read_bytes() == data  # exactly the whole samples: an output that opens
    assert open_recording(paths["meta"]).n_samples == len(data) // 4


@pytest.mark.parametrize(
    "change, message",
    [
        ("truncate", "shrank"),
        ("replace", "data file was replaced"),
        ("rate", "sample rate changed"),
    ],
)
def test_a_recording_that_changes_other_than_by_growing_is_refused(tmp_path, change, message):
    meta, dat, data, predictor = _grown(tmp_path, "c")
    half = len(data) // 2 // 4 * 4
    dat.write_bytes(data[:half])
    polls = []

    def sleep(s):
        polls.append(s)
        if len(polls) == 2:
            if change == "truncate":
                dat.write_bytes(data[: half // 2])
            elif change == "replace":
                other = tmp_path / "other"
                other.write_bytes(data)
                other.replace(dat)  # a new file under the same name
            else:
                body = json.loads(meta.read_text())
                body["global"]["core:sample_rate"] = FS / 2
                meta.write_text(json.dumps(body))
        time.sleep(0.01)

    with pytest.raises(RecordingError, match=message):
        follow_recording(meta, predictor, idle_timeout_s=5.0, poll_s=0.01, block_frames=1, sleep=sleep)


def test_follow_takes_the_sample_rate_given_and_refuses_an_endless_duration(tmp_path):
    from radiofm.errors import ConfigError

    meta, dat, data, predictor = _grown(tmp_path, "r")
    dat.write_bytes(data)
    body = json.loads(meta.read_text())
    del body["global"]["core:sample_rate"]
    meta.write_text(json.dumps(body))
    res, rec = follow_recording(meta, predictor, idle_timeout_s=0.3, poll_s=0.05, block_frames=1, sample_rate_hz=FS)
    assert rec.sample_rate_hz == FS and res.plan.n_samples == len(data) // 4
    with pytest.raises(ConfigError, match="longer than any recording"):
        follow_recording(meta, predictor, duration_s=1e301, idle_timeout_s=0.3, sample_rate_hz=FS)
