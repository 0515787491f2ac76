"""``annotate_recording(frame_step=K)``: every K-th 40 ms frame analysed, carriers bridged across the skipped ones."""

from __future__ import annotations

import numpy as np
import pytest

import radiofm.annotate as A
from radiofm.annotate.boxes import Box
from radiofm.annotate.stream import merge_strided, strided_frames
from radiofm.data import open_recording, write_sigmf
from radiofm.errors import ConfigError
from tests.annotate.test_annotate import COL, FC, FS, band_capture, carrier, oracle

FRAME = 256  # columns of one 40 ms frame


def test_strided_frames_cover_the_end_without_overlap():
    assert strided_frames(10 * FRAME, 3, FRAME) == [(a * FRAME, (a + 1) * FRAME) for a in (0, 3, 6, 9)]
    n = 11 * FRAME + 10
    assert strided_frames(n, 4, FRAME) == [(0, FRAME), (4 * FRAME, 5 * FRAME), (8 * FRAME, 9 * FRAME),
                                           (n - FRAME, n)]  # fmt: skip
    assert strided_frames(9 * FRAME + 10, 4, FRAME)[-1] == (8 * FRAME, 9 * FRAME)  # a flush frame would overlap
    assert strided_frames(100, 4, FRAME) == [(0, 100)]


def _box(lo, hi, rows=(10, 40)):
    return Box(rows[0], rows[1], lo, hi, 1, 1.0, 1, 1.0, 0.0)


def test_merge_strided_counts_only_analysed_columns():
    frames = [(0, FRAME), (3 * FRAME, 4 * FRAME), (6 * FRAME, 7 * FRAME)]
    # on to the end of frame 0 and from the start of frame 3 (+ within the 6-column gap inside frame 6): one carrier
    merged = merge_strided([_box(100, FRAME), _box(3 * FRAME, 4 * FRAME - 4), _box(6 * FRAME + 2, 6 * FRAME + 50)],
                           frames)  # fmt: skip
    assert [(m.col_lo, m.col_hi) for m in merged] == [(100, 6 * FRAME + 50)]
    # off for 16 analysed columns between the sightings: two annotations, in recording columns
    merged = merge_strided([_box(10, FRAME - 16), _box(3 * FRAME, 3 * FRAME + 90)], frames)
    assert [(m.col_lo, m.col_hi) for m in merged] == [(10, FRAME - 16), (3 * FRAME, 3 * FRAME + 90)]
    # another band is another carrier
    assert len(merge_strided([_box(0, FRAME), _box(3 * FRAME, 4 * FRAME, rows=(60, 90))], frames)) == 2


@pytest.fixture(scope="module")
def long_capture(tmp_path_factory):
    """7 frames (280 ms): an LTE carrier throughout, an NR carrier on only in frame 1 (a frame step of 2 skips it)."""
    n = 7 * FRAME * COL
    carriers = [carrier("LTE", 5e6, 15e6, 0, n), carrier("NR", -20e6, -2e6, FRAME * COL, FRAME * COL)]
    path = write_sigmf(tmp_path_factory.mktemp("step") / "cap", band_capture(FS, n, carriers), sample_rate_hz=FS,
                       center_freq_hz=FC, datatype="ci16_le")  # fmt: skip
    return path, carriers, n


def test_frame_step_bridges_a_carrier_and_misses_what_only_skipped_frames_hold(long_capture):
    path, carriers, n = long_capture
    rec = open_recording(path)
    every = A.annotate_recording(rec, oracle(carriers), phy=False)
    assert sorted(a.label for a in every.annotations) == ["LTE", "NR"]
    seen = []
    step = A.annotate_recording(rec, oracle(carriers, record=seen), phy=False, frame_step=2)
    assert sorted({f.column for _, f in seen}) == [0, 2 * FRAME, 4 * FRAME, 6 * FRAME]  # only those frames read
    (lte,) = step.annotations  # NR was on only in frame 1: missed, as documented
    ref = next(a for a in every.annotations if a.label == "LTE")
    assert (lte.label, lte.sample_start, lte.sample_count) == ("LTE", 0, n)  # bridged across frames 1, 3, 5
    assert (lte.freq_lower_edge_hz, lte.freq_upper_edge_hz) == (ref.freq_lower_edge_hz, ref.freq_upper_edge_hz)
    pic = step.picture_db
    assert np.isnan(pic).any() and np.isfinite(pic).any()  # the skipped frames stay blank in the overlay
    assert np.isfinite(every.picture_db).all()
    with pytest.raises(ConfigError, match="frame_step"):
        A.annotate_recording(rec, oracle(carriers), frame_step=0)


def test_frame_step_config_is_checked(tmp_path):
    from radiofm.annotate import AnnotateConfig, annotate_file
    from radiofm.errors import ConfigError

    for bad in (0, 1.5, True):
        with pytest.raises(ConfigError, match="frame_step"):
            annotate_file(tmp_path / "x.sigmf-meta", tmp_path / "m", tmp_path / "o", AnnotateConfig(frame_step=bad))
