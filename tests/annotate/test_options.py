"""annotate's options through the Python API: a value that could only give a wrong or empty result is one
ConfigError naming the argument (the CLI's flag types refuse them before; a script calls the functions directly)."""

from __future__ import annotations

import math

import pytest

import radiofm.annotate as A
from radiofm.annotate import AnnotateConfig
from radiofm.data import open_recording, write_sigmf
from radiofm.errors import ConfigError
from tests.annotate.test_annotate import FS, band_capture, carrier, oracle


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    n = int(0.02 * FS)
    carriers = [carrier("LTE", -5e6, 5e6, 0, n)]
    path = write_sigmf(tmp_path_factory.mktemp("opt") / "c", band_capture(FS, n, carriers), sample_rate_hz=FS)
    return open_recording(path), oracle(carriers)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -1}, "batch_size"),  # gave no annotations at all
        ({"min_duration_ms": math.nan}, "min_duration_ms"),  # gave no annotations at all
        ({"min_bandwidth_khz": -5.0}, "min_bandwidth_khz"),
        ({"nonfinite": "zzz"}, "nonfinite"),  # was taken as "repair"
        ({"threshold": 2.0}, "threshold"),
        ({"level": "x"}, "level"),
        ({"seed": -1}, "seed"),
        ({"prefetch": -1}, "prefetch"),
        ({"phy_max_ms": -1.0}, "phy_max_ms"),
        ({"min_score": 5.0}, "min_score"),
        ({"block_frames": 0}, "block_frames"),
        ({"frame_step": 1.5}, "frame_step"),
    ],
)
def test_an_option_out_of_range_is_one_line_naming_it(capture, kw, name):
    rec, predictor = capture
    with pytest.raises(ConfigError, match=name) as info:
        A.annotate_recording(rec, predictor, **kw)
    assert "\n" not in str(info.value)


def test_what_is_annotated_and_by_what_is_checked(capture, tmp_path):
    rec, predictor = capture
    with pytest.raises(ConfigError, match="predictor must be callable"):
        A.annotate_recording(rec, None)
    with pytest.raises(ConfigError, match="takes a Recording"):
        A.annotate_recording(str(rec.path), predictor)
    with pytest.raises(ConfigError, match="config must be an AnnotateConfig"):
        A.annotate_file(rec.path, tmp_path / "m", tmp_path / "o", {"threshold": 0.5})
    result = A.annotate_recording(rec, predictor, batch_size=4)  # the checks pass a valid call
    assert len(result.annotations) == 1  # a band-limited noise "carrier": found, its label left to the evidence


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"device": "gpu"}, "device"),
        ({"engine": "onnx"}, "engine"),
        ({"quantize": "int4"}, "quantize"),
        ({"threads": -1}, "threads"),
        ({"batch_size": 0}, "batch_size"),
        ({"idle_timeout_s": math.inf}, "idle_timeout_s"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"sample_rate_hz": -1.0}, "sample_rate_hz"),
    ],
)
def test_annotate_config_is_checked_when_built(kw, name):
    with pytest.raises(ConfigError, match=name):
        AnnotateConfig(**kw)
