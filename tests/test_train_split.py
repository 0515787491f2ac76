"""radiofm.train.split: a batch split across threads takes the step of the whole batch (to float rounding), the
same bits run after run, and only where it applies."""

import json
import subprocess
import sys

import pytest
import torch

from radiofm.errors import ConfigError
from radiofm.models import create_model
from radiofm.tasks.pretrain_mae import MAEPretrainTask
from radiofm.train import TrainConfig, fit
from radiofm.train.split import BatchSplitter, batch_len, split_threads


def tiny_mae(seed=0):
    torch.manual_seed(seed)
    return create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=2)


def batch(n=5):
    return torch.randn(n, 1, 32, 32, generator=torch.Generator().manual_seed(1))


def whole_step(model, task, x, seed):
    model.zero_grad(set_to_none=True)
    loss, _ = task.step(model, x, generator=torch.Generator().manual_seed(seed), train=True)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("masked_only", [True, False])
@pytest.mark.parametrize("parts", [2, 3])
def test_the_split_step_is_the_whole_batch_step(parts, masked_only):
    model, task, x = tiny_mae(), MAEPretrainTask(0.75, masked_only=masked_only), batch(5)  # 5: unequal parts
    loss, grads = whole_step(model, task, x, seed=3)
    split_loss, metrics = BatchSplitter(parts, list(model.parameters())).step(
        model, task, x, torch.Generator().manual_seed(3)
    )
    assert metrics == {}
    torch.testing.assert_close(split_loss, loss, rtol=1e-5, atol=1e-7)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_other_masks_give_another_loss():
    """The comparison above can fail: the split's parts must get the rows of the whole batch's mask noise."""
    model, task, x = tiny_mae(), MAEPretrainTask(0.75, masked_only=True), batch(4)
    loss, _ = whole_step(model, task, x, seed=3)
    other, _ = BatchSplitter(2, list(model.parameters())).step(model, task, x, torch.Generator().manual_seed(4))
    assert abs(float(other) - float(loss)) > 1e-4


def test_the_split_step_repeats_bit_for_bit_and_restores_the_threads():
    model, task, x = tiny_mae(), MAEPretrainTask(0.75, masked_only=True), batch(6)
    splitter = BatchSplitter(2, list(model.parameters()))
    threads = torch.get_num_threads()
    runs = []
    for _ in range(2):
        loss, _ = splitter.step(model, task, x, torch.Generator().manual_seed(5))
        runs.append((loss, [p.grad.clone() for p in model.parameters()]))
    assert torch.get_num_threads() == threads
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_mask_noise_is_what_forward_draws():
    model, x = tiny_mae(), batch(3)
    noise = model.mask_noise(3, device=x.device, generator=torch.Generator().manual_seed(9))
    drawn = model(x, generator=torch.Generator().manual_seed(9))
    given = model(x, noise=noise)
    assert torch.equal(drawn[2], given[2]) and torch.equal(drawn[0], given[0])
    with pytest.raises(ConfigError, match="mask noise must be"):
        model(x, noise=noise[:2])


def test_where_the_split_applies():
    task, cpu = MAEPretrainTask(), torch.device("cpu")
    kw = dict(device=cpu, task=task, world_size=1, compiled=False)
    assert split_threads(0, fast=True, **kw) == min(torch.get_num_threads(), 8)
    assert split_threads(0, fast=False, **kw) == 1  # the plain CPU path stays bit-reproducible
    assert split_threads(3, fast=False, **kw) == 3
    assert split_threads(2, fast=True, **{**kw, "device": torch.device("cuda")}) == 1
    assert split_threads(2, fast=True, **{**kw, "world_size": 2}) == 1
    assert split_threads(2, fast=True, **{**kw, "compiled": True}) == 1
    assert split_threads(2, fast=True, **{**kw, "task": object()}) == 1  # no draw(): cannot split
    assert batch_len((torch.zeros(4, 2), torch.zeros(4))) == 4 and batch_len({"a": torch.zeros(3)}) == 3


class TensorSet(torch.utils.data.Dataset):
    def __init__(self, n=12):
        self.x = torch.randn(n, 1, 32, 32, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def test_fit_with_the_split_trains_as_without(tmp_path):
    records = {}
    for threads in (1, 2):
        cfg = TrainConfig(epochs=2, batch_size=4, progress=False, fast="on", batch_threads=threads, lr=1e-3)
        records[threads] = fit(tiny_mae(), MAEPretrainTask(0.75, masked_only=True), TensorSet(), cfg=cfg,
                               out_dir=tmp_path / f"run{threads}")  # fmt: skip
    torch.testing.assert_close(records[2]["train_loss"], records[1]["train_loss"], rtol=1e-4, atol=0)
    run = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert run["extra"]["run"]["batch_threads"] == 2
    assert json.loads((tmp_path / "run1" / "config.json").read_text())["extra"]["run"]["batch_threads"] == 1


def test_negative_batch_threads_are_refused():
    with pytest.raises(ConfigError, match="batch threads"):
        TrainConfig(batch_threads=-1)
    out = subprocess.run(
        [sys.executable, "-m", "radiofm", "pretrain", "--data", "x", "--out", "y", "--batch-threads", "-1"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "batch-threads" in out.stderr and "Traceback" not in out.stderr


def test_batch_threads_where_they_do_not_apply_say_so(tmp_path):
    class NoDraws:  # a task that draws inside its step: its batches cannot be split
        kind = "mae"

        def step(self, model, batch, *, generator, train):
            return MAEPretrainTask().step(model, batch, generator=generator, train=train)

    lines = []
    cfg = TrainConfig(epochs=1, batch_size=4, progress=False, batch_threads=2)
    fit(tiny_mae(), NoDraws(), TensorSet(8), cfg=cfg, out_dir=tmp_path / "run", log=lines.append)
    assert any("--batch-threads 2 ignored: mae batches are not split" in line for line in lines)
