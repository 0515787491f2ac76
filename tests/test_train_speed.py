"""radiofm.train.speed and the loop's speed-related output: compile (with its eager fallback), fused AdamW,
the data-wait and peak-memory fields of the epoch line."""

import json

import pytest
import torch

from radiofm.cli.main import build_parser
from radiofm.models import create_model
from radiofm.tasks.pretrain_mae import MAEPretrainTask
from radiofm.train import TrainConfig, fit, speed


class TensorSet(torch.utils.data.Dataset):
    def __init__(self, n=8, shape=(1, 32, 32), seed=0):
        self.x = torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def tiny_mae():
    torch.manual_seed(0)
    return create_model("vit-tiny", img_size=(32, 32), depth=1, decoder_depth=1)


def test_epoch_line_has_data_wait_and_peak_memory(tmp_path):
    lines = []
    cfg = TrainConfig(epochs=2, batch_size=4, progress=False, compile="off", fast="on")
    task = MAEPretrainTask(0.75, masked_only=True)
    record = fit(tiny_mae(), task, TensorSet(), cfg=cfg, out_dir=tmp_path / "run", log=lines.append)
    logged = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in logged] == [1, 2]
    for r in (*logged, record):
        assert 0.0 <= r["data_wait_frac"] < 1.0
        assert r["peak_rss_mb"] > 10
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["data_wait_frac"] >= 0


def test_fused_adamw_takes_the_plain_steps():
    a, b = tiny_mae(), tiny_mae()
    opt_a = speed.make_adamw([{"params": list(a.parameters()), "weight_decay": 0.05}], lr=1e-3, betas=(0.9, 0.95))
    opt_b = torch.optim.AdamW([{"params": list(b.parameters()), "weight_decay": 0.05}], lr=1e-3, betas=(0.9, 0.95))
    assert opt_a.defaults.get("fused") or opt_a.defaults.get("foreach")
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    losses = {id(a): [], id(b): []}
    for step in range(4):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            loss = model(x, generator=torch.Generator().manual_seed(step), full_pred=False)[0]
            losses[id(model)].append(loss.item())
            loss.backward()
            opt.step()
        if step == 0:  # one update: the same numbers
            for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
                torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6, msg=name)
    # later steps: the key biases' gradients are rounding noise (softmax ignores them), which Adam scales up to
    # lr-sized steps in either implementation, so compare what the model computes
    assert losses[id(a)] == pytest.approx(losses[id(b)], rel=1e-5)


def test_compile_modes_and_flag():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not speed.compile_wanted("auto", cpu) and speed.compile_wanted("auto", cuda)
    assert speed.compile_wanted("on", cpu) and not speed.compile_wanted("off", cuda)
    assert not speed.fast_wanted("auto", "cpu") and speed.fast_wanted("on", "cpu")
    assert speed.fast_wanted("auto", "cuda:1") and not speed.fast_wanted("off", "cuda")
    assert speed.fast_wanted("auto", "auto") == torch.cuda.is_available()
    with pytest.raises(Exception, match="compile"):
        TrainConfig(compile="yes")
    with pytest.raises(Exception, match="fast"):
        TrainConfig(fast="yes")
    parse = build_parser().parse_args
    base = ["pretrain", "--data", "d", "--out", "o"]
    assert parse(base).compile == "auto"
    assert parse([*base, "--compile"]).compile == "on"
    assert parse([*base, "--compile", "off"]).compile == "off"
    assert parse(base).fast == "auto" and parse([*base, "--fast"]).fast == "on"


def test_missing_compiler_is_one_line_and_eager_continues(monkeypatch):
    model = tiny_mae()
    said = []
    monkeypatch.setattr(speed, "compile_problem", lambda device, backend="inductor": "no C++ compiler")
    assert speed.maybe_compile(model, "on", torch.device("cpu"), said.append) is model
    assert said == ["warning: torch.compile unavailable (no C++ compiler); running eagerly"]

    def broken_compile(module, backend=None):
        def fail(*args, **kwargs):
            raise RuntimeError("inductor exploded\nsecond line")

        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    said.clear()
    wrapped = speed.EagerFallback(model, said.append)
    x = torch.randn(2, 1, 32, 32)
    loss = wrapped(x, generator=torch.Generator().manual_seed(0), full_pred=False)[0]
    wrapped(x, generator=torch.Generator().manual_seed(0), full_pred=False)
    expected = model(x, generator=torch.Generator().manual_seed(0), full_pred=False)[0]
    assert torch.equal(loss, expected)
    assert said == ["warning: torch.compile failed (RuntimeError: inductor exploded); running eagerly"]


def _compiled_vs_eager(backend):
    problem = speed.compile_problem(torch.device("cpu"), backend=backend)
    if problem:
        pytest.skip(f"torch.compile unavailable here: {problem}")
    model = tiny_mae()
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    eager = model(x, generator=torch.Generator().manual_seed(0), full_pred=False)[0]
    compiled = speed.maybe_compile(model, "on", torch.device("cpu"), backend=backend)
    got = compiled(x, generator=torch.Generator().manual_seed(0), full_pred=False)[0]
    assert not compiled.failed
    torch.testing.assert_close(got, eager, rtol=1e-4, atol=1e-4)
    got.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_compiled_step_gives_the_eager_loss():
    """Dynamo's graphs of the step (graph breaks at the seeded mask draw included), run without codegen: fast."""
    _compiled_vs_eager("aot_eager")


@pytest.mark.slow
def test_inductor_compiled_step_gives_the_eager_loss():
    """What ``--compile`` runs on CPU: inductor's generated C++ (minutes of compiling on a loaded 2-core box)."""
    _compiled_vs_eager("inductor")
