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
