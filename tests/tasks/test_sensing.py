"""CSI sensing task: the linear head overfits one batch, the run/evaluation on a tiny NTU-Fi folder, bad input."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from radiofm.data.ntufi import CLASSES, write_csi_mat
from radiofm.errors import ConfigError, DatasetError
from radiofm.models import create_model, save_checkpoint
from radiofm.models.finetuned import configure_mode, rebuild
from radiofm.tasks import sensing

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(
    img_size=(32, 32), embed_dim=32, depth=2, num_heads=2, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2
)


@pytest.fixture(scope="module")
def mae_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("mae") / "mae", create_model("vit-tiny", **TINY), kind="mae")


def write_tiny_ntufi(root, per_class=(3, 1), classes=CLASSES, test_classes=None):
    """A tiny NTU-Fi folder of random recordings whose level depends on the class (fast; not the generator)."""
    rng = np.random.default_rng(0)
    for split, n, names in (("train_amp", per_class[0], classes), ("test_amp", per_class[1], test_classes or classes)):
        for name in names:
            c = CLASSES.index(name)
            for i in range(n):
                x = (rng.standard_normal((3, 114, 2000)) + 3.0 * c).astype(np.float32)
                (root / split / name).mkdir(parents=True, exist_ok=True)
                write_csi_mat(root / split / name / f"{name}_{i}.mat", x)
    return root


def test_linear_head_overfits_one_batch():
    torch.manual_seed(0)
    mae = create_model("vit-tiny", **TINY)
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mae.config.__dict__.items()}
    model = rebuild(
        {
            "task": "sensing",
            "backbone_family": "mae",
            "backbone": {**cfg, "in_chans": 3},
            "head": {"type": "pooled", "in_dim": 32, "out_dim": 6},
            "input": {"norm": "dataset", "mean_db": 0.0, "std_db": 1.0},
            "readout": "last",
            "lora": None,
        }
    )
    configure_mode(model, "frozen")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # the frozen encoder's features, computed once (as the feature cache does)
        batch = {"features": model.encode(torch.randn(6, 3, 32, 32, generator=g)), "y": torch.arange(6)}
    task = sensing.SensingTask(label_smoothing=0.1)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-2)
    first = None
    for _ in range(150):
        loss, metrics = task.step(model, batch, generator=g, train=True)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert metrics["acc"] == 1.0 and float(loss.detach()) < 0.5 * first


def test_config_rejects_bad_values(mae_dir):
    for bad in (dict(label_fraction=0.0), dict(label_fraction=1.5), dict(label_smoothing=1.0), dict(head_hidden=(0,))):
        with pytest.raises(ConfigError):
            sensing.SensingConfig(init=mae_dir, **bad)


def test_run_and_evaluation_on_a_tiny_folder(tmp_path, mae_dir):
    root = write_tiny_ntufi(tmp_path / "ntufi")
    train = dataclasses.replace(sensing.DEFAULT_TRAIN, epochs=2, batch_size=4, progress=False, device="cpu")
    config = sensing.SensingConfig(init=mae_dir, label_fraction=0.7, val_fraction=0.2)
    result = sensing.finetune_sensing(root, config, train, tmp_path / "run")
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert info["kind"] == "sensing" and info["config"]["backbone"]["in_chans"] == 3
    norm = info["config"]["input"]["channel_norm"]
    assert len(norm["mean"]) == 3 and norm["image_size"] == [32, 32] and "training files" in norm["source"]
    assert result.val_size == 4 and 6 <= result.train_size < 14  # 18 files, 4 held out, ~70 % of each class kept
    report = sensing.evaluate_sensing_run(tmp_path / "run", root, tmp_path / "eval")
    assert set(report["per_class"]) == set(CLASSES) and np.sum(report["confusion"]) == 6
    assert 0.0 <= report["accuracy"] <= 1.0 and (tmp_path / "eval" / "confusion.png").stat().st_size > 0
    with pytest.raises(ConfigError, match="already holds a run"):
        sensing.finetune_sensing(root, config, train, tmp_path / "run")


def test_a_test_class_missing_from_training_is_a_one_line_error(tmp_path, mae_dir):
    root = write_tiny_ntufi(tmp_path / "ntufi", (1, 1), classes=CLASSES[:5], test_classes=CLASSES)
    train = dataclasses.replace(sensing.DEFAULT_TRAIN, epochs=1, progress=False, device="cpu")
    with pytest.raises(DatasetError, match="walk in test_amp/ but not in train_amp/") as exc:
        sensing.finetune_sensing(root, sensing.SensingConfig(init=mae_dir), train, tmp_path / "run")
    assert "\n" not in str(exc.value) and not (tmp_path / "run").exists()


def test_sensing_report_counts_and_per_class():
    truth = np.array([0, 0, 4, 4, 5, 5])
    pred = np.array([0, 1, 5, 4, 5, 5])  # one run called walk
    r = sensing.sensing_report(truth, pred)
    assert r["accuracy"] == pytest.approx(4 / 6) and r["per_class"]["run"] == 0.5 and r["per_class"]["circle"] is None
    assert r["confusion"][4][5] == 1 and len(r["confusion"]) == 6
