"""Few-shot tasks: episodes, episodic training, TTSA/TOTA evaluation, baselines, ProtoAoA."""

import contextlib
import io
import json

import numpy as np
import pytest

from radiofm.data.deepbeam_write import write_deepbeam
from radiofm.errors import ConfigError
from radiofm.tasks.fewshot import (
    EpisodeConfig,
    EpisodeDataset,
    ProtoTrainConfig,
    sample_episode,
    split_frames,
    train_protonet,
)
from radiofm.tasks.fewshot_eval import (
    FewShotEvalConfig,
    adapt_batchnorm,
    evaluate_run,
    load_protonet_run,
    prototype_distances,
)
from radiofm.tasks.protoaoa import AoAEvalConfig, evaluate_aoa, skip_split

pytestmark = pytest.mark.usefixtures("one_thread")


def test_episode_draws_exactly_distinct_frames():
    labels = np.repeat(np.arange(6), 10)
    cfg = EpisodeConfig(n_way=4, n_support=3, n_query=5)
    ep = sample_episode(labels, cfg, np.random.default_rng(0))
    idx = np.concatenate([ep.support.ravel(), ep.query.ravel()])
    assert idx.size == 4 * (3 + 5) and np.unique(idx).size == idx.size
    assert len(set(ep.classes.tolist())) == 4
    for j, c in enumerate(ep.classes):
        assert np.all(labels[ep.support[j]] == c) and np.all(labels[ep.query[j]] == c)
    again = sample_episode(labels, cfg, np.random.default_rng(0))
    assert np.array_equal(again.support, ep.support) and np.array_equal(again.query, ep.query)
    other = sample_episode(labels, cfg, np.random.default_rng(0), query_labels=np.repeat(np.arange(6), 5))
    assert other.query.shape == (4, 5)
    with pytest.raises(ConfigError, match=r"class .* has 10 frames; an episode needs 6 support \+ 5 query frames"):
        sample_episode(labels, EpisodeConfig(2, 6, 5), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="needs that many classes"):
        sample_episode(labels, EpisodeConfig(7, 1, 1), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="an episode needs 10000000000000000000000 support"):  # not an allocation
        sample_episode(labels, EpisodeConfig(2, 10**22, 5), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="episodes must be 1..10000000"):  # was an OverflowError in the loop
        ProtoTrainConfig(data="d", front_end="tx-ant-0", episodes=10**20)


def test_episode_dataset_items():
    frames = np.random.default_rng(0).standard_normal((40, 2, 64)).astype(np.float32)
    ds = EpisodeDataset(frames, np.repeat(np.arange(4), 10), EpisodeConfig(3, 2, 4), n_episodes=5, seed=1)
    item = ds[2]
    assert len(ds) == 5 and item["x"].shape == (3 * (2 + 4), 2, 64)
    assert np.array_equal(item["x"].numpy(), ds[2]["x"].numpy()) and not np.array_equal(item["x"], ds[3]["x"])


def test_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(3), 10)
    tr, te = split_frames(labels, 0.3, seed=0)
    assert np.intersect1d(tr, te).size == 0 and len(tr) + len(te) == 30
    assert np.bincount(labels[te]).tolist() == [3, 3, 3]
    assert np.array_equal(te, split_frames(labels, 0.3, seed=0)[1])


def test_augmentation_stage_raw_or_normalised():
    import torch

    from radiofm.models import create_model
    from radiofm.tasks.fewshot import ProtoEpisodeTask

    torch.manual_seed(0)
    model = create_model("protobeam-tiny", proto_norm_mode="cosine").train()
    x = torch.randn(2 * 3, 2, 2048) * torch.linspace(0.5, 3, 6)[:, None, None]  # 2-way, 1 support + 2 queries
    batch = {"x": x, "n_way": 2, "n_support": 1, "n_query": 2}
    seen = {}
    for stage in ("raw", "normalised"):
        task = ProtoEpisodeTask(augment=True, augment_stage=stage)
        loss, _ = task.step(model, batch, generator=torch.Generator().manual_seed(1), train=True)
        seen[stage] = float(loss.detach())
        assert torch.isfinite(loss)
    assert seen["raw"] != seen["normalised"]  # rotating before the per-channel min-max is another input
    plain = ProtoEpisodeTask(augment=False).step(model, batch, generator=torch.Generator(), train=True)[0]
    evaluation = ProtoEpisodeTask().step(model, batch, generator=torch.Generator().manual_seed(1), train=False)[0]
    assert float(plain.detach()) == pytest.approx(float(evaluation.detach()))  # no augmentation outside training
    with pytest.raises(ConfigError, match="augment_stage"):
        ProtoEpisodeTask(augment_stage="late")


def _two_class_folder(tmp_path):
    """Class 0: a tone at +0.2 cycles/sample; class 1: at -0.2. Random phases, amplitudes and noise."""
    rng = np.random.default_rng(0)
    n = np.arange(2048)
    iq, tx = [], []
    for c, f in ((0, 0.2), (1, -0.2)):
        for _ in range(24):
            s = rng.uniform(0.1, 1) * np.exp(1j * (2 * np.pi * f * n + rng.uniform(0, 6.3)))
            s = s + 0.05 * (rng.standard_normal(2048) + 1j * rng.standard_normal(2048))
            iq.append(s)
            tx.append(np.full(2048, c))
    iq = np.concatenate(iq)
    arrays = {
        "iq": np.stack([iq.real, iq.imag], 1).astype(np.float32),
        "tx_beam": np.concatenate(tx),
        "rx_beam": np.zeros(len(iq)),
        "gain": np.full(len(iq), 50.0),
    }
    write_deepbeam(tmp_path / "d" / "two-tx-ant-0-rx-ant-0.h5", arrays)
    return tmp_path / "d"


def test_prototype_distances_in_each_norm():
    support = np.array([[0.0, 2.0], [2.0, 2.0], [4.0, 0.0], [4.0, 4.0]])
    s_lab = np.array([7, 7, 3, 3])
    query = np.array([[1.0, 2.0]])
    classes, d = prototype_distances(support, s_lab, query, None)  # prototypes (1, 2) for 7, (4, 2) for 3
    assert classes.tolist() == [3, 7] and np.allclose(d, [[9.0, 0.0]])
    _, d = prototype_distances(support, s_lab, query, "unit")
    unit = np.array([[4.0, 2.0], [1.0, 2.0]]) / np.sqrt([[20.0], [5.0]])
    assert np.allclose(d, ((query - unit) ** 2).sum(1)[None])
    # support: dim 0 mean 2.5 std √2.75, dim 1 mean 2 std √2; distances per dimension
    _, d = prototype_distances(support, s_lab, query, "support")
    sd = np.sqrt([2.75, 2.0]) + 1e-3
    p = (np.array([[4.0, 2.0], [1.0, 2.0]]) - [2.5, 2.0]) / sd
    q = (query - [2.5, 2.0]) / sd
    assert np.allclose(d, ((q - p) ** 2).sum(1)[None] / 2)
    # a front end that shifts and stretches every dimension changes nothing in the support mode
    _, moved = prototype_distances(
        support * [3.0, 0.5] + [10.0, -1.0], s_lab, query * [3.0, 0.5] + [10.0, -1.0], "support"
    )
    assert np.allclose(moved, d, rtol=5e-3)  # up to the eps added to the std


def test_network_separates_two_trivial_classes(tmp_path):
    data = _two_class_folder(tmp_path)
    cfg = ProtoTrainConfig(
        data=str(data),
        front_end="tx-ant-0",
        model="protobeam-tiny",
        episodes=30,
        episode=EpisodeConfig(2, 3, 5),
        lr=3e-3,
        progress=False,
        save_every_steps=0,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        train_protonet(cfg, tmp_path / "run")
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["train_acc"] > 0.9
    model, record = load_protonet_run(tmp_path / "run")
    rep = evaluate_run(
        model, record, data, "tx-ant-0", FewShotEvalConfig(shots=(1, 3), episodes=20, n_query=4, progress=False)
    )
    assert rep["setting"] == "ttsa" and rep["accuracy"]["3"] > 0.9 and rep["n_way"] == 2


def test_filter_bank_learning_rate_scale(tmp_path):
    """A learned bank moves from its DFT start in proportion to its lr share; a fixed one does not move."""
    from radiofm.models.protonet import dft_filter_bank

    data = _two_class_folder(tmp_path)
    start = dft_filter_bank(16, 32)  # the protobeam-tiny preset's bank

    def moved(name, **over):
        cfg = ProtoTrainConfig(
            data=str(data), front_end="tx-ant-0", model="protobeam-tiny", episodes=6, episode=EpisodeConfig(2, 2, 2),
            lr=1e-3, warmup_fraction=0.0, progress=False, save_every_steps=0, **over,
        )  # fmt: skip
        train_protonet(cfg, tmp_path / name)
        model, _ = load_protonet_run(tmp_path / name)
        assert model.filters.weight.shape == start.shape
        return float((model.filters.weight.detach() - start).abs().max())

    full = moved("full", train_filter_bank=True)
    slow = moved("slow", train_filter_bank=True, filter_bank_lr_scale=0.01)
    assert moved("fixed") == 0.0
    assert full > 1e-4 and 0 < slow < 0.05 * full
    with pytest.raises(ConfigError, match="filter_bank_lr_scale"):
        moved("bad", train_filter_bank=True, filter_bank_lr_scale=0.0)
    with pytest.raises(ConfigError, match="learned filter bank"):
        moved("ignored", filter_bank_lr_scale=0.1)


@pytest.fixture(scope="module")
def beam_run(beam_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "pb"
    cfg = ProtoTrainConfig(
        data=str(beam_data),
        front_end="tx-ant-0",
        model="protobeam-tiny",
        episodes=4,
        episode=EpisodeConfig(3, 2, 2),
        progress=False,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        train_protonet(cfg, out)
    return out


def test_ttsa_and_tota_reports(beam_data, beam_run):
    model, record = load_protonet_run(beam_run)
    cfg = FewShotEvalConfig(shots=(1, 2), episodes=5, n_query=2, progress=False)
    ttsa = evaluate_run(model, record, beam_data, "tx-ant-0", cfg)
    tota = evaluate_run(model, record, beam_data, "tx-ant-1", cfg)
    assert ttsa["setting"] == "ttsa" and tota["setting"] == "tota" and tota["n_way"] == 4
    for rep in (ttsa, tota):
        assert set(rep["accuracy"]) == {"1", "2"} and all(0 <= v <= 1 for v in rep["accuracy"].values())
        assert set(rep["ci95"]) == {"1", "2"}
    adapted = evaluate_run(
        model,
        record,
        beam_data,
        "tx-ant-1",
        FewShotEvalConfig(shots=(2,), episodes=5, n_query=2, adapt_bn=True, progress=False),
    )
    assert adapted["adapt_bn"] and adapted["adapt_frames"] == 32
    with pytest.raises(ConfigError, match=r"30 shots \+ 2 queries per class need 32 frames, but class .* has only 8"):
        evaluate_run(model, record, beam_data, "tx-ant-1", FewShotEvalConfig(shots=(30,), n_query=2, progress=False))


def test_adabn_changes_statistics_only(beam_data, beam_run):
    import torch

    from radiofm.data.deepbeam import load_front_end

    model, _ = load_protonet_run(beam_run)
    frames = load_front_end(beam_data, "tx-ant-1").frames
    adapted = adapt_batchnorm(model, frames)
    before, after = model.state_dict(), adapted.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)
    assert not torch.equal(before["mlp.0.running_mean"], after["mlp.0.running_mean"])


def test_skip_split_modes():
    angles = [-20, -10, 0, 10, 20, 30, 40]
    assert skip_split(angles, 3) == ([-20.0, 20.0], [-10.0, 0.0, 10.0, 30.0, 40.0])
    assert skip_split(angles, 3, mode="hold-every") == ([-20.0, -10.0, 10.0, 20.0, 40.0], [0.0, 30.0])
    with pytest.raises(ConfigError):
        skip_split([0, 10], 5)


def test_protoaoa_reports_unseen_angle_errors(beam_data, tmp_path):
    data = beam_data / "aoa"
    cfg = ProtoTrainConfig(
        data=str(data),
        front_end="tx-ant-0",
        model="protobeam-tiny",
        label="angle",
        classes=(-20.0, 0.0, 20.0),
        episodes=3,
        episode=EpisodeConfig(3, 2, 2),
        progress=False,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        train_protonet(cfg, tmp_path / "aoa")
    model, record = load_protonet_run(tmp_path / "aoa")
    rep = evaluate_aoa(
        model, record, data, "tx-ant-0", AoAEvalConfig(shots=(1, 2), episodes=4, n_query=2, progress=False)
    )
    assert rep["unseen_angles"] == [-10.0, 10.0] and set(rep["mae_deg"]) == {"1", "2"}
    assert all(0 <= v <= 40 for v in rep["mae_deg"].values())


def test_supervised_baseline(beam_data, tmp_path):
    from radiofm.tasks.fewshot_baselines import SupervisedConfig, evaluate_supervised, train_supervised

    cfg = SupervisedConfig(
        data=str(beam_data),
        front_end="tx-ant-0",
        model="protobeam-tiny",
        steps=3,
        batch_size=8,
        finetune_steps=2,
        finetune_repeats=1,
        progress=False,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        train_supervised(cfg, tmp_path / "sup")
    r = evaluate_supervised(tmp_path / "sup", beam_data, ["tx-ant-0", "tx-ant-1"], (1, 2), cfg)
    assert 0 <= r["ttsa"] <= 1 and set(r["tota"]) == {"tx-ant-1"} and set(r["finetuned"]["tx-ant-1"]) == {"1", "2"}


def test_same_name_other_data_is_refused(beam_run, tmp_path):
    from conftest import TINY_BEAMS

    from radiofm.data.deepbeam_write import generate_beam_dataset
    from radiofm.errors import DatasetError
    from radiofm.synth.beams import BeamConfig

    other = tmp_path / "other"
    generate_beam_dataset(other, BeamConfig(**TINY_BEAMS), seed=1, aoa=False, front_ends=[0], progress=False)
    model, record = load_protonet_run(beam_run)
    with pytest.raises(DatasetError, match="differs from what the run was trained on"):
        evaluate_run(model, record, other, "tx-ant-0", FewShotEvalConfig(shots=(1,), episodes=2, n_query=2))


def test_too_few_shots_names_the_class_as_a_user_writes_it():
    """The message printed ``class np.int64(1)``: numpy's repr of a label, not the label."""
    from radiofm.tasks.fewshot_eval import check_shots

    with pytest.raises(ConfigError) as err:
        check_shots(np.array([0, 0, 0, 1]), 2, 0, same_pool=False, where="front end 'tx-ant-1'")
    assert "class 1 of front end 'tx-ant-1' has only 1" in str(err.value) and "np." not in str(err.value)
    with pytest.raises(ConfigError, match="class 'fm' of"):
        check_shots(np.array(["am", "am", "fm"]), 2, 0, same_pool=False, where="the support set")


def test_training_under_torchrun_is_refused_in_one_line(tmp_path, monkeypatch):
    """The episode step calls the network's parts, which a DistributedDataParallel wrapper does not have."""
    from radiofm.tasks.fewshot import ProtoTrainConfig, train_protonet

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="without torchrun"):
        train_protonet(ProtoTrainConfig(data=tmp_path, front_end="tx-ant-0"), tmp_path / "run")


def test_another_set_up_of_the_training_front_end_is_another_target():
    from types import SimpleNamespace

    from radiofm.tasks.fewshot_eval import same_target

    target = SimpleNamespace(front_end="tx-ant-0-rx-ant-1", setup="srf-diagonal-config-24-beams")
    record = {"front_end_identity": "tx-ant-0-rx-ant-1", "setup": "srf-diagonal-config-24-beams"}
    assert same_target(target, record)
    assert not same_target(target, {**record, "setup": "srf-basic-config-24-beams"})  # same radio, other place
    assert not same_target(target, {**record, "front_end_identity": "tx-ant-1-rx-ant-0"})
    assert same_target(target, {"front_end_identity": "tx-ant-0-rx-ant-1"})  # a run from before set-ups were kept
