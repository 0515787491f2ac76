import math

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model, load_checkpoint
from radiofm.tasks.pretrain_mae import MAEPretrainTask
from radiofm.train import TrainConfig, TrainingDiverged, epoch_batches, fit, lr_at


class TensorSet(torch.utils.data.Dataset):
    def __init__(self, n=12, shape=(1, 32, 32), seed=0):
        self.x = torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def tiny_mae():
    return create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)


def test_lr_schedule_warmup_then_cosine():
    kw = dict(total_steps=100, warmup_steps=10, peak_lr=1.0, min_lr=0.1)
    assert lr_at(0, **kw) == pytest.approx(0.1)
    assert lr_at(9, **kw) == pytest.approx(1.0)
    assert lr_at(10, **kw) == pytest.approx(1.0)
    assert lr_at(55, **kw) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_at(100, **kw) == pytest.approx(0.1)
    assert all(lr_at(s, **kw) >= lr_at(s + 1, **kw) for s in range(10, 100))


def test_epoch_batches_deterministic_and_disjoint_across_ranks():
    a = epoch_batches(20, 3, seed=1, epoch=2, rank=0, world=2)
    b = epoch_batches(20, 3, seed=1, epoch=2, rank=1, world=2)
    assert a == epoch_batches(20, 3, seed=1, epoch=2, rank=0, world=2)
    flat_a, flat_b = sum(a, []), sum(b, [])
    assert not set(flat_a) & set(flat_b)
    assert len(a) == len(b) == 3
    assert epoch_batches(20, 3, seed=1, epoch=3) != epoch_batches(20, 3, seed=1, epoch=2)


def test_config_rejects_impossible_values():
    nan, inf = float("nan"), float("inf")
    bad_values = (
        dict(batch_size=0), dict(epochs=0), dict(lr=-1.0), dict(amp="fp8"),
        # a NaN or infinite warm-up was a traceback (int(nan) in the schedule), a NaN weight decay a diverged run
        dict(warmup_epochs=nan), dict(warmup_epochs=inf), dict(weight_decay=nan), dict(weight_decay=inf),
        dict(lr=inf), dict(base_lr=nan), dict(min_lr=-1.0), dict(betas=(0.9, 1.0)), dict(clip_grad=-1.0),
        dict(clip_grad=inf), dict(num_workers=10**20), dict(num_workers=-1),  # 10**20 tried to start that many
    )  # fmt: skip
    for bad in bad_values:
        with pytest.raises(ConfigError):
            TrainConfig(**bad)
    assert TrainConfig(clip_grad=0.0).clip_grad == 0.0 and TrainConfig(clip_grad=None).clip_grad is None  # off


def test_training_flags_refuse_non_finite_numbers(capsys):
    from radiofm.cli.main import main

    for flag in ("--warmup-epochs", "--weight-decay"):
        for value in ("nan", "inf", "-1"):
            with pytest.raises(SystemExit) as exc:
                main(["pretrain", "--data", "d", "--out", "o", f"{flag}={value}"])
            assert exc.value.code == 2
            err = capsys.readouterr().err
            assert "expected a non-negative" in err and len(err.strip().splitlines()) == 1


def _cfg(**kw):
    return TrainConfig(**{**dict(epochs=3, batch_size=4, warmup_epochs=1, progress=False, seed=3), **kw})


def test_resume_gives_the_same_next_step_loss(tmp_path):
    data = TensorSet()
    task = MAEPretrainTask(0.75)
    losses_full = []
    torch.manual_seed(0)
    fit(tiny_mae(), task, data, cfg=_cfg(), out_dir=tmp_path / "full", on_step=lambda s, l: losses_full.append(l))

    class Killed(Exception):
        pass

    def kill_after_4(state, loss):
        if state["global_step"] == 4:
            raise Killed

    torch.manual_seed(0)
    with pytest.raises(Killed):
        fit(tiny_mae(), task, data, cfg=_cfg(save_every_steps=1), out_dir=tmp_path / "killed", on_step=kill_after_4)
    losses_resumed = []
    fit(
        tiny_mae(),
        task,
        data,
        cfg=_cfg(save_every_steps=1),
        out_dir=tmp_path / "killed",
        resume=True,
        on_step=lambda s, l: losses_resumed.append(l),
    )
    assert len(losses_full) == 9 and len(losses_resumed) == 5  # 3 epochs x 3 steps; 4 done before the kill
    assert losses_resumed == pytest.approx(losses_full[4:], rel=1e-5, abs=1e-6)
    a, _ = load_checkpoint(tmp_path / "full")
    b, _ = load_checkpoint(tmp_path / "killed")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k


class PositionSet(TensorSet):
    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.x[i, 0, 0, :3]}


def _dropout_model():
    import dataclasses

    from radiofm.models.finetuned import rebuild

    backbone = dataclasses.asdict(tiny_mae().config)
    head = {"type": "pooled", "in_dim": backbone["embed_dim"], "out_dim": 3, "hidden": [16], "dropout": 0.5}
    return rebuild({"task": "positioning", "backbone_family": "mae", "backbone": backbone, "head": head,
                    "input": {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0}})  # fmt: skip


def test_dropout_draws_are_the_same_on_every_run(tmp_path):
    # a fresh process seeds torch's global RNG at random: the loop must seed what dropout draws, per step
    from radiofm.tasks.positioning import PositioningTask

    runs = []
    for i, disturb in enumerate((1, 12345)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = _dropout_model()
            torch.manual_seed(disturb)  # the state a new process would start training from
            runs.append([])
            fit(model, PositioningTask(), PositionSet(), cfg=_cfg(), out_dir=tmp_path / str(i),
                on_step=lambda s, l, out=runs[-1]: out.append(l))  # fmt: skip
    assert len(runs[0]) == 9 and runs[0] == runs[1]


def test_non_finite_loss_stops_and_keeps_last_checkpoint(tmp_path):
    class Exploding:
        kind = "mae"

        def __init__(self):
            self.calls = 0

        def step(self, model, batch, *, generator, train):
            self.calls += 1
            loss, _, _ = model(batch, mask_ratio=0.5, generator=generator)
            return (loss * math.nan if self.calls > 3 else loss), {}

    with pytest.raises(TrainingDiverged, match="non-finite loss"):
        fit(tiny_mae(), Exploding(), TensorSet(), cfg=_cfg(), out_dir=tmp_path / "run")
    model, info = load_checkpoint(tmp_path / "run")  # epoch 1 (3 steps) was saved before the blow-up
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count("\n") == 1


def test_refuses_to_overwrite_a_run_without_resume(tmp_path):
    fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(epochs=1), out_dir=tmp_path / "run")
    with pytest.raises(ConfigError, match="--resume"):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(epochs=1), out_dir=tmp_path / "run")


def test_a_run_folder_keeps_files_radiofm_did_not_write_across_checkpoints(tmp_path):
    """Each checkpoint replaces the run folder: a user's notes and an ``evaluate --out RUN/eval`` written between
    two saves were deleted by the next save."""

    class Killed(Exception):
        pass

    def kill_after_2(state, loss):
        if state["global_step"] == 2:
            raise Killed

    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("keep")
    with pytest.raises(Killed):
        fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1), out_dir=run, on_step=kill_after_2)
    (run / "eval").mkdir()
    (run / "eval" / "report.json").write_text("{}")
    fit(tiny_mae(), MAEPretrainTask(), TensorSet(), cfg=_cfg(save_every_steps=1), out_dir=run, resume=True)
    assert (run / "notes.txt").read_text() == "keep" and (run / "eval" / "report.json").read_text() == "{}"
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3  # the run itself went on as before
