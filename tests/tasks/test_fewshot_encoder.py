"""Prototypes on frozen encoders: support folders, rates, MAE and protonet encoders."""

import numpy as np
import pytest
from conftest import make_tone

from radiofm.data import Annotation, write_sigmf
from radiofm.errors import CheckpointError, DatasetError
from radiofm.models import create_model, save_checkpoint
from radiofm.tasks.fewshot_encoder import classify_recordings, load_encoder, support_examples

pytestmark = pytest.mark.usefixtures("one_thread")
RATE = 1_000_000.0


def _rec(path, freq_hz, *, n=16384, rate=RATE, seed=0, annotations=()):
    return write_sigmf(
        path,
        make_tone(n, freq_hz=freq_hz, sample_rate_hz=rate, seed=seed),
        sample_rate_hz=rate,
        annotations=annotations,
    )


@pytest.fixture(scope="module")
def support(tmp_path_factory):
    root = tmp_path_factory.mktemp("support")
    for label, f in (("low", -250e3), ("high", 200e3)):
        (root / label).mkdir()
        for i in range(2):
            _rec(root / label / f"r{i}", f, seed=i)
    return root


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    from radiofm.data.spectrograms import SpectrogramParams

    root = tmp_path_factory.mktemp("enc")
    save_checkpoint(root / "pb", create_model("protobeam-tiny"), kind="protobeam")
    mae = create_model("vit-tiny", img_size=(32, 32), depth=1, decoder_depth=1)
    params = SpectrogramParams(segment_s=0.004, fft_size=64, win_length=64, hop=32, image_size=(32, 32))
    save_checkpoint(
        root / "mae",
        mae,
        kind="mae",
        extra={"data": {"params": params.to_dict(), "stats": {"mean_db": -40.0, "std_db": 15.0}}},
    )
    return root


@pytest.mark.parametrize("encoder", ["pb", "mae"])
def test_classify_end_to_end(support, encoders, tmp_path, encoder):
    q_low, q_high = _rec(tmp_path / "q1", -250e3, seed=7), _rec(tmp_path / "q2", 200e3, seed=8)
    r = classify_recordings(encoders / encoder, support, [q_low, q_high])
    assert r["classes"] == ["high", "low"] and r["shots"] == {"high": 2, "low": 2}
    assert [q["prediction"] for q in r["queries"]] == ["low", "high"]
    for q in r["queries"]:
        assert abs(sum(q["scores"].values()) - 1) < 1e-6 and q["units"] >= 1


def test_support_from_annotations(tmp_path):
    iq = np.concatenate([make_tone(8192, freq_hz=-250e3), make_tone(8192, freq_hz=200e3, seed=1)])
    anns = [Annotation(0, 8192, label="low"), Annotation(8192, 8192, label="high")]
    write_sigmf(tmp_path / "mixed", iq, sample_rate_hz=RATE, annotations=anns)
    ex = support_examples(tmp_path)
    assert [(e.label, e.start, e.count) for e in ex] == [("low", 0, 8192), ("high", 8192, 8192)]


def test_bad_support_and_queries(support, encoders, tmp_path):
    one = tmp_path / "one" / "only"
    one.mkdir(parents=True)
    _rec(one / "a", 1e3)
    with pytest.raises(DatasetError, match="holds one class .*at least two"):
        classify_recordings(encoders / "pb", tmp_path / "one", [one / "a.sigmf-meta"])
    short = tmp_path / "short"
    for label, n in (("ok", 16384), ("tiny", 100)):
        (short / label).mkdir(parents=True)
        _rec(short / label / "a", 1e3, n=n)
    with pytest.raises(DatasetError, match="class 'tiny' has zero shots"):
        classify_recordings(encoders / "pb", short, [short / "ok" / "a.sigmf-meta"])
    empty = tmp_path / "empty"
    for label in ("a", "b"):
        (empty / label).mkdir(parents=True)
        _rec(empty / label / "r", 1e3)
    (empty / "c").mkdir()  # a class without a recording was dropped in silence
    with pytest.raises(DatasetError, match="class 'c' has zero shots"):
        support_examples(empty)
    other_rate = _rec(tmp_path / "fast", 1e3, rate=2 * RATE)
    with pytest.raises(DatasetError, match="query .* is at 2 MHz but the support set at 1 MHz"):
        classify_recordings(encoders / "pb", support, [other_rate])
    unlabelled = tmp_path / "flat"
    unlabelled.mkdir()
    _rec(unlabelled / "a", 1e3)
    with pytest.raises(DatasetError, match="neither in a class sub-folder nor annotated"):
        support_examples(unlabelled)


def test_encoder_kinds(encoders, tmp_path):
    assert load_encoder(encoders / "pb").name == "protonet" and load_encoder(encoders / "mae").name == "mae"
    conv = create_model("convlstm-tiny")
    save_checkpoint(tmp_path / "c", conv, kind="convlstm")
    with pytest.raises(CheckpointError, match="no encoder usable for prototypes"):
        load_encoder(tmp_path / "c")


def test_a_model_fine_tuned_from_a_convlstm_is_no_encoder_for_prototypes():
    """Its backbone takes token sequences: a spectrogram image crashed inside it (session 56)."""
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints_v1" / "segmentation-convlstm"
    with pytest.raises(CheckpointError, match="no encoder usable for prototypes"):
        load_encoder(fixture)


def _two_classes(rng, *, gap, n_ex=4, units=3, dim=64, scale=30.0):
    """Embeddings of two classes (means ``gap`` apart along one axis, unit spread per dimension) times ``scale``:
    (support, labels, example ids)."""
    emb, lab, ex = [], [], []
    for c in range(2):
        mean = np.zeros(dim)
        mean[0] = c * gap
        for e in range(n_ex):
            emb.append(scale * (mean + rng.standard_normal((units, dim))))
            lab += [c] * units
            ex += [c * n_ex + e] * units
    return np.concatenate(emb), np.array(lab), np.array(ex)


def test_scores_are_calibrated_by_the_support_set_not_certain():
    """Scores over raw squared distances of wide embeddings were 1.00 for every query, however close the call
    (session 57's review). With the leave-one-out temperature, the mean score of the predicted class follows how
    often the prediction is right: near 1 for classes far apart, well below 1 for classes that overlap."""
    from radiofm.tasks.fewshot_encoder import fit_temperature, prototype_scores

    rng = np.random.default_rng(0)
    for gap, lo, hi in ((2.0, 0.55, 0.95), (40.0, 0.99, 1.0)):
        support, lab, ex = _two_classes(rng, gap=gap)
        temperature, how = fit_temperature(support, lab, ex, None)
        assert how == "leave-one-out" and temperature > 0
        query, q_lab, _ = _two_classes(rng, gap=gap, n_ex=50, units=1)
        protos = {"support": support, "support_labels": lab, "norm": None}
        raw = prototype_scores(query, protos)
        p = prototype_scores(query, protos | {"temperature": temperature})
        right = float(np.mean(p.argmax(1) == q_lab))
        assert lo <= p.max(1).mean() <= hi, (gap, p.max(1).mean())
        assert abs(p.max(1).mean() - right) < 0.2, (gap, p.max(1).mean(), right)
        if gap == 2.0:
            assert raw.max(1).mean() > 0.99  # the old scores: certain, and wrong a third of the time
            assert right < 0.9


def test_one_example_per_class_takes_the_gap_between_classes():
    from radiofm.tasks.fewshot_encoder import ONE_SHOT_MARGIN, fit_temperature, prototype_scores

    support = np.array([[0.0, 0.0], [0.0, 0.2], [3.0, 0.0]])  # class 0: one example of two units; class 1: one
    lab, ex = np.array([0, 0, 1]), np.array([0, 0, 1])
    temperature, how = fit_temperature(support, lab, ex, None)
    assert how == "one shot per class"
    # prototypes (0, 0.1) and (3, 0): the closest call is unit (0, 0), 0.01 from its own and 9 from the other
    assert temperature == pytest.approx(8.99 / ONE_SHOT_MARGIN)
    p = prototype_scores(
        support[:1], {"support": support, "support_labels": lab, "norm": None, "temperature": temperature}
    )
    assert p[0, 0] == pytest.approx(1 / (1 + np.exp(-ONE_SHOT_MARGIN)))
