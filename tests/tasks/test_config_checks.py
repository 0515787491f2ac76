"""Configs built from Python are checked when built: a value the CLI's flag types refuse is refused here too,
in one ConfigError naming the field (a script calls the functions directly)."""

from __future__ import annotations

import numpy as np
import pytest

from radiofm.errors import ConfigError
from radiofm.tasks.forecasting import ForecastingConfig
from radiofm.tasks.pretrain_mae import MAEPretrainConfig
from radiofm.train import TrainConfig


def test_train_config_refuses_a_device_it_would_not_use_and_a_count_that_is_not_one():
    for device in ("gpu", "mps", "tpu", "cuda:x", 0):
        with pytest.raises(ConfigError, match="device must be auto, cpu, cuda or cuda:N"):
            TrainConfig(device=device)  # "gpu" used to train on the CPU without a word
    with pytest.raises(ConfigError, match="epochs must be an integer"):
        TrainConfig(epochs="3")
    assert TrainConfig(epochs=np.int64(2)).epochs == 2 and TrainConfig(device="cuda:1").device == "cuda:1"


def test_task_configs_refuse_values_that_would_run_wrongly():
    bad = (({"mask_ratio": 1.5}, "mask_ratio"), ({"workers": 0}, "workers"), ({"image_size": (0, 8)}, "image_size"))
    for kw, name in bad:
        with pytest.raises(ConfigError, match=name):
            MAEPretrainConfig(**kw)
    assert MAEPretrainConfig(image_size=[64, 32]).image_size == (64, 32)
    for kw, name in (({"split_by": "zz"}, "split_by"), ({"readout": "middle"}, "readout"), ({"stride": 0}, "stride")):
        with pytest.raises(ConfigError, match=name):  # split_by "zz" trained without a word on pretraining's data
            ForecastingConfig(mode="scratch", model="convlstm-tiny", **kw)


def _eval_configs():
    from radiofm.tasks.fewshot_encoder import EncoderPrototypeConfig
    from radiofm.tasks.fewshot_eval import FewShotEvalConfig
    from radiofm.tasks.forecasting import ForecastingEvalConfig
    from radiofm.tasks.protoaoa import AoAEvalConfig
    from radiofm.tasks.reconstruction import ReconstructionEvalConfig
    from radiofm.tasks.segmentation_eval import SegmentationEvalConfig
    from radiofm.tasks.signals_eval import SignalsEvalConfig

    return (EncoderPrototypeConfig, FewShotEvalConfig, ForecastingEvalConfig, AoAEvalConfig, ReconstructionEvalConfig,
            SegmentationEvalConfig, SignalsEvalConfig)  # fmt: skip


def test_evaluation_configs_resolve_their_device_when_built(monkeypatch):
    """`evaluate segmentation --device auto` (the word every other command's help offers) and `--device gpu` ended
    in torch's RuntimeError traceback, `--device cuda` without CUDA in an AssertionError (session 58)."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for cls in _eval_configs():
        assert cls(device="auto").device == "cpu", cls
        with pytest.raises(ConfigError, match="device must be auto, cpu, cuda or cuda:N"):
            cls(device="gpu")
        with pytest.raises(ConfigError, match="'cuda' requested but CUDA is not available"):
            cls(device="cuda")


def test_annotate_refuses_cuda_without_it_before_any_work(monkeypatch, tmp_path):
    import torch

    from radiofm.annotate.output import AnnotateConfig, load_predictor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="'cuda:1' requested but CUDA is not available"):
        load_predictor(tmp_path / "no-model-needed", AnnotateConfig(device="cuda:1", engine="torch"))


def test_lists_the_api_takes_read_as_the_flags_do():
    """`TasksSettings(tasks=("sensing", "sensing"))` ran the task twice and `FewShotEvalConfig(shots=(2, 2, 4))`
    evaluated 2 shots twice, where the CLI now takes each once (session 59's review)."""
    from radiofm.reproduce.tasks import TasksSettings
    from radiofm.tasks.fewshot_eval import FewShotEvalConfig

    with pytest.raises(ConfigError, match="tasks must be distinct"):
        TasksSettings(tasks=("sensing", "sensing"))
    assert FewShotEvalConfig(shots=(2, 2, 4)).shots == (2, 4)


def _entry_points():
    """(function, its arguments before the config, its keyword arguments, the config's name and class, the training
    config or None where it takes none)."""
    from radiofm.tasks import (
        fewshot,
        fewshot_baselines,
        forecasting,
        positioning,
        pretrain_convlstm,
        pretrain_mae,
        segmentation,
        sensing,
        signals,
    )

    train = TrainConfig(epochs=1)
    images = {"source": "images"}
    return (
        (pretrain_mae.pretrain_mae, ("corpus",), {}, "config", pretrain_mae.MAEPretrainConfig, train),
        (pretrain_mae.pretrain_mae_on_images, (np.zeros((2, 1, 8, 8)),), images, "config",
         pretrain_mae.MAEPretrainConfig, train),
        (pretrain_convlstm.pretrain_convlstm, ("corpus",), {}, "config", pretrain_convlstm.ConvLSTMPretrainConfig,
         train),
        (segmentation.finetune_segmentation, ("sd",), {}, "config", segmentation.SegmentationConfig, train),
        (forecasting.finetune_forecasting, ("corpus",), {}, "config", forecasting.ForecastingConfig, train),
        (sensing.finetune_sensing, ("ntufi",), {}, "config", sensing.SensingConfig, train),
        (signals.finetune_signals, ("signals",), {}, "config", signals.SignalsConfig, train),
        (positioning.finetune_positioning, ("pos",), {}, "config", positioning.PositioningConfig, train),
        (fewshot.train_protonet, (), {}, "cfg", fewshot.ProtoTrainConfig, None),
        (fewshot_baselines.train_supervised, (), {}, "cfg", fewshot_baselines.SupervisedConfig, None),
    )  # fmt: skip


def test_entry_points_refuse_a_config_of_another_type_by_name(tmp_path):
    """`pretrain_mae("corpus", None, ...)` ended in AttributeError 'NoneType' object has no attribute 'image_size',
    a None training config in one on 'device', and `finetune_segmentation(..., MAEPretrainConfig(), ...)` in one on
    'init' (session 60's review): each entry point now names the argument and the class it takes."""
    out = tmp_path / "run"
    for func, head, kw, name, cls, train in _entry_points():
        for bad in (None, {}, MAEPretrainConfig() if cls is not MAEPretrainConfig else TrainConfig()):
            args = (*head, bad, train, out) if train is not None else (bad, out)
            with pytest.raises(ConfigError, match=f"^{name} must be an? {cls.__name__}, got {type(bad).__name__}$"):
                func(*args, **kw)
        if train is not None:
            with pytest.raises(ConfigError, match="^train must be a TrainConfig, got NoneType$"):
                func(*head, _any_config(cls), None, out, **kw)
    assert not out.exists()


def _any_config(cls):
    """A valid instance of ``cls`` (a fine-tune config needs a backbone: a scratch one)."""
    from radiofm.tasks.finetune import FinetuneConfig

    return cls(mode="scratch", model="vit-tiny") if issubclass(cls, FinetuneConfig) else cls()


def test_evaluation_entry_points_refuse_a_config_of_another_type(tmp_path):
    from radiofm.tasks.forecasting import evaluate_forecasting_run
    from radiofm.tasks.reconstruction import evaluate_reconstruction_run
    from radiofm.tasks.segmentation_eval import evaluate_segmentation_run
    from radiofm.tasks.signals_eval import evaluate_signals_run

    for func in (evaluate_forecasting_run, evaluate_reconstruction_run, evaluate_segmentation_run,
                 evaluate_signals_run):  # fmt: skip
        with pytest.raises(ConfigError, match="^config must be an? [A-Za-z]+EvalConfig, got TrainConfig$"):
            func(tmp_path / "run", tmp_path / "data", tmp_path / "out", TrainConfig())


def test_finetune_configs_refuse_counts_of_another_type():
    """`SegmentationConfig(mode="last-k", k="2")` and `lora_rank="8"` were taken and failed inside training with a
    TypeError (session 60's review)."""
    from radiofm.tasks.segmentation import SegmentationConfig

    for kw, name in (({"k": "2"}, "k"), ({"k": True}, "k"), ({"k": 0}, "k"), ({"lora_rank": "8"}, "lora_rank"),
                     ({"lora_rank": 2.0}, "lora_rank"), ({"lora_alpha": "4"}, "lora_alpha")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"^{name} must be"):
            SegmentationConfig(mode="scratch", model="vit-tiny", **kw)
        with pytest.raises(ConfigError, match=f"^{name} must be"):
            ForecastingConfig(mode="scratch", model="convlstm-tiny", **kw)
    cfg = SegmentationConfig(mode="scratch", model="vit-tiny", k=np.int64(3), lora_rank=np.int32(4), lora_alpha=2)
    assert (cfg.k, cfg.lora_rank, cfg.lora_alpha) == (3, 4, 2.0) and type(cfg.k) is int


def test_mae_pretrain_config_takes_an_int_image_size_as_a_square():
    """`MAEPretrainConfig(image_size=32)` ended in a TypeError (session 60's review)."""
    assert MAEPretrainConfig(image_size=32).image_size == (32, 32)
    assert MAEPretrainConfig(image_size=np.int64(16)).image_size == (16, 16)
    for bad in ("32", 32.0, (32,), True):
        with pytest.raises(ConfigError, match="image_size"):
            MAEPretrainConfig(image_size=bad)
