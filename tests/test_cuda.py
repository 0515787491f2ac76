"""The CUDA paths compute what the CPU computes: run with ``pytest -m gpu`` on a machine with a GPU (skipped, and
deselected by ``make test``, everywhere else). TF32 is switched off in each test so that fp32 on the GPU is
comparable with the CPU to rounding; the bf16 checks compare with fp32 at bf16's precision."""

import copy
import json

import numpy as np
import pytest
import torch
from band_predictors import TINY_MAE

from radiofm.cli.main import main
from radiofm.models import create_model, load_checkpoint

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture(autouse=True)
def exact_fp32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _mae():
    torch.manual_seed(0)
    return create_model("vit-tiny", img_size=(32, 32), depth=2, decoder_depth=1)


def _loss_and_grads(model, x, *, seed=3, bf16=False):
    model.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
        loss = model(x, 0.75, generator=torch.Generator().manual_seed(seed), full_pred=False)[0]
    loss.backward()
    return loss.item(), {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}


def test_mae_loss_and_gradients_on_cuda_match_the_cpu():
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    cpu = _mae()
    gpu = copy.deepcopy(cpu).cuda()
    loss_c, grads_c = _loss_and_grads(cpu, x)
    loss_g, grads_g = _loss_and_grads(gpu, x.cuda())  # the mask comes from the same CPU generator
    assert loss_g == pytest.approx(loss_c, rel=1e-4)
    assert grads_c.keys() == grads_g.keys()
    for name, g in grads_c.items():
        torch.testing.assert_close(grads_g[name], g, rtol=1e-3, atol=1e-5, msg=name)


def test_compiled_bf16_step_is_the_eager_fp32_step_at_bf16_precision():
    x = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(2)).cuda()
    model = _mae().cuda()
    loss_fp32, _ = _loss_and_grads(model, x)
    loss_bf16, _ = _loss_and_grads(model, x, bf16=True)
    loss_compiled, grads = _loss_and_grads(torch.compile(model), x, bf16=True)
    assert loss_bf16 == pytest.approx(loss_fp32, rel=3e-2)
    assert loss_compiled == pytest.approx(loss_bf16, rel=3e-2)
    assert all(torch.isfinite(g).all() for g in grads.values())


def test_pretrain_cli_on_cuda_writes_a_checkpoint_that_loads_on_the_cpu(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["pretrain", "--data", str(tiny_corpus), "--model", "vit-tiny", "--image-size", "32", "--epochs", "2",
            "--batch-size", "2", "--device", "cuda", "--compile", "on", "--val-fraction", "0", "--out", str(out),
            "--cache-dir", str(tmp_path / "cache"), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    epochs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(np.isfinite(e["train_loss"]) for e in epochs)
    model, _ = load_checkpoint(out)
    assert next(model.parameters()).device.type == "cpu"
    loss = model(torch.randn(2, 1, 32, 32), 0.75, generator=torch.Generator().manual_seed(0))[0]
    assert torch.isfinite(loss)


def test_segmentation_probabilities_on_cuda_match_the_cpu(tmp_path):
    from radiofm.models import save_checkpoint
    from radiofm.tasks.segmentation import build_segmentation_model, load_segmentation_model, predict

    torch.manual_seed(0)
    net = build_segmentation_model("mae", TINY_MAE, readout="mix", head={"embed_dim": 24, "depth": 2, "num_heads": 3})
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_checkpoint(tmp_path / "seg", net, kind="segmentation", extra={"classes": ["noise", "NR", "LTE"]})
    model, info = load_segmentation_model(tmp_path / "seg")
    x = np.random.default_rng(1).normal(-95, 4, size=(5, 40, 60)).astype(np.float32)
    x[:, 12:20] += 15
    p_cpu = predict(model, x, info=info, batch_size=3, device="cpu")
    p_gpu = predict(model, x, info=info, batch_size=3, device="cuda")
    np.testing.assert_allclose(p_gpu, p_cpu, atol=1e-4)
