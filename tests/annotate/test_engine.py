"""The numpy inference engine computes what torch computes, refuses what it cannot compute, and keeps torch out of
``radiofm annotate``'s imports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from band_predictors import TINY_MAE

from radiofm.annotate.engine import EngineUnsupported, load_numpy_segmenter, numpy_predictor
from radiofm.annotate.engine_ops import gelu_, resize_matrix, sincos_2d
from radiofm.annotate.output import AnnotateConfig, choose_engine, load_predictor
from radiofm.errors import CheckpointError, ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


def _save(path, *, readout="mix", norm=None, lora=False, seed=0, backbone=None):
    from radiofm.models import save_checkpoint
    from radiofm.models.finetuned import configure_mode
    from radiofm.tasks.segmentation import build_segmentation_model

    torch.manual_seed(seed)
    model = build_segmentation_model("mae", {**TINY_MAE, **(backbone or {})}, readout=readout, norm=norm,
                                     head={"embed_dim": 24, "depth": 2, "num_heads": 3})  # fmt: skip
    with torch.no_grad():  # non-trivial weights everywhere (fresh LayerNorms are ones/zeros)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    if lora:
        configure_mode(model, "lora", lora_rank=2, lora_alpha=3.0)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("lora_b"):
                    p.normal_(0, 0.5)
    save_checkpoint(path, model, kind="segmentation", extra={"classes": ["noise", "NR", "LTE"]})
    return path


def _torch_probs(path, x):
    from radiofm.tasks.segmentation import load_segmentation_model, predict

    model, info = load_segmentation_model(path)
    return predict(model, x, info=info, batch_size=3)


def _images(shape, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(-95, 4, size=shape).astype(np.float32)
    x[:, shape[1] // 3 : shape[1] // 2] += 15  # a "carrier" band
    return x


@pytest.mark.parametrize(
    "kw",
    [
        {"readout": "mix"},
        {"readout": "last"},
        {"readout": "mix", "lora": True},
        {"readout": "last", "norm": {"norm": "dataset", "mean_db": -90.0, "std_db": 6.0}},
    ],
    ids=["mix", "last", "lora", "dataset-norm"],
)
@pytest.mark.parametrize("size", [(32, 48), (40, 40), (20, 64)], ids=["native", "resized", "mixed"])
def test_numpy_engine_matches_torch(tmp_path, kw, size):
    path = _save(tmp_path / "seg", **kw)
    x = _images((5, *size))
    seg, info = load_numpy_segmenter(path)
    got = seg(x, batch_size=2)
    want = _torch_probs(path, x)
    assert got.shape == want.shape == (5, 3, *size) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert info["kind"] == "segmentation" and info["path"] == str(path)


def test_the_predictor_carries_the_level_invariance(tmp_path):
    seg, info = load_numpy_segmenter(_save(tmp_path / "a"))
    assert numpy_predictor(seg, info).level_invariant is True
    norm = {"norm": "dataset", "mean_db": -90.0, "std_db": 6.0}
    seg, info = load_numpy_segmenter(_save(tmp_path / "b", norm=norm))
    assert numpy_predictor(seg, info).level_invariant is False


@pytest.mark.parametrize("n_in,n_out", [(256, 224), (224, 256), (7, 3), (3, 7), (50, 50), (9, 1)])
def test_resize_matrix_is_torch_bilinear_antialiased(n_in, n_out):
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, n_in, 5)).astype(np.float32))
    want = torch.nn.functional.interpolate(x, size=(n_out, 5), mode="bilinear", align_corners=False, antialias=True)
    got = resize_matrix(n_in, n_out) @ x.numpy()[0, 0]
    np.testing.assert_allclose(got, want.numpy()[0, 0], atol=2e-6)
    if n_out >= n_in:  # enlarging: antialias changes nothing, as predict's logits resize assumes
        plain = torch.nn.functional.interpolate(x, size=(n_out, 5), mode="bilinear", align_corners=False)
        np.testing.assert_allclose(got, plain.numpy()[0, 0], atol=2e-6)


def test_gelu_and_positions_match_torch():
    from scipy.special import erf

    from radiofm.models.vit import sincos_pos_embed_2d

    x = np.linspace(-12, 12, 200_001, dtype=np.float32).reshape(-1, 1)  # more than one chunk
    exact = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / np.sqrt(2)))
    got = gelu_(x.copy())
    np.testing.assert_allclose(got, exact, atol=5e-7, rtol=0)  # torch's own float32 GELU is off by up to 1.2e-6
    np.testing.assert_allclose(got, torch.nn.functional.gelu(torch.from_numpy(x)).numpy(), atol=2e-6, rtol=0)
    np.testing.assert_array_equal(sincos_2d(16, (3, 5)), sincos_pos_embed_2d(16, (3, 5)).numpy())


def _edit(path, config=None, tensors=None):
    from safetensors.numpy import load_file, save_file

    if config is not None:
        info = json.loads((path / "config.json").read_text())
        config(info)
        (path / "config.json").write_text(json.dumps(info))
    if tensors is not None:
        t = load_file(str(path / "model.safetensors"))
        tensors(t)
        save_file(t, str(path / "model.safetensors"))


def test_bad_checkpoints_are_refused(tmp_path):
    def nan(t):
        t["head.inner.pred.bias"][0] = np.nan

    cases = {
        "missing": (None, lambda t: t.pop("backbone.encoder_norm.bias"), "do not fit the model"),
        "extra": (None, lambda t: t.update(junk=np.zeros(3, np.float32)), "unexpected junk"),
        "shape": (None, lambda t: t.update({"head.level_weights": np.zeros(4, np.float32)}), r"has shape \[4\]"),
        "nan": (None, nan, "NaN/Inf"),
        "kind": (lambda i: i.update(kind="sensing"), None, "expected 'segmentation'"),
        "depth": (lambda i: i["config"]["backbone"].update(depth=10**9), None, "depth"),
        "grid": (lambda i: i["config"]["head"].update(grid_size=[9, 9]), None, "grid"),
        "norm": (lambda i: i["config"].update(input={"norm": "dataset", "mean_db": 0.0, "std_db": 0.0}), None, "input"),
    }
    for name, (config, tensors, match) in cases.items():
        path = _save(tmp_path / name)
        _edit(path, config, tensors)
        with pytest.raises(CheckpointError, match=match):
            load_numpy_segmenter(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_numpy_segmenter(tmp_path / "nothing")


def test_other_architectures_fall_back_to_torch(tmp_path):
    path = _save(tmp_path / "two", backbone={"in_chans": 2}, readout="last")
    with pytest.raises(EngineUnsupported, match="1-channel"):
        load_numpy_segmenter(path)
    # a model torch runs and the engine does not compute: "auto" takes torch, "numpy" refuses it
    path = _save(tmp_path / "sep", readout="last")
    _edit(path, config=lambda i: i["config"].update(channels="separate"))
    with pytest.raises(EngineUnsupported):
        load_numpy_segmenter(path)
    pred = load_predictor(path, AnnotateConfig(engine="auto", device="cpu"))
    assert pred.__module__ == "radiofm.annotate.run"  # model_predictor's closure: the torch engine
    x = _images((2, 32, 48))
    np.testing.assert_array_equal(pred(x, []), _torch_probs(path, x))
    with pytest.raises(EngineUnsupported):
        load_predictor(path, AnnotateConfig(engine="numpy"))
    seg_pred = load_predictor(_save(tmp_path / "mix"), AnnotateConfig(engine="auto", device="cpu"))
    assert seg_pred.__module__ == "radiofm.annotate.engine"


def test_engine_choice():
    from radiofm.annotate.engine import ENGINES
    from radiofm.cli import _args

    assert _args.ENGINES == ENGINES  # the CLI's --engine choices, kept apart so that --help loads no numpy
    assert choose_engine(AnnotateConfig(device="cpu")) == "numpy"
    assert choose_engine(AnnotateConfig(device="cpu", quantize="int8")) == "torch"
    assert choose_engine(AnnotateConfig(device="cpu", threads=1)) == "torch"
    assert choose_engine(AnnotateConfig(device="cuda")) == "torch"
    assert choose_engine(AnnotateConfig(engine="torch", device="cpu")) == "torch"
    for bad in (dict(engine="numpy", quantize="int8"), dict(engine="numpy", device="cuda"), dict(engine="onnx")):
        with pytest.raises(ConfigError):
            choose_engine(AnnotateConfig(**bad))


def test_checkpoint_dtype_tables_agree():
    from radiofm.checkpoint_files import ITEMSIZE
    from radiofm.models.checkpoint_check import DTYPES

    assert ITEMSIZE.keys() == DTYPES.keys()  # the header check (no torch) and its torch dtypes name the same types
    assert all(DTYPES[k].itemsize == n for k, n in ITEMSIZE.items())


def test_annotate_imports_no_torch():
    code = (
        "import sys, radiofm.annotate.output, radiofm.annotate.engine, radiofm.cli.annotate, radiofm.cli.main\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'scipy.signal') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_bf16_predictor_is_close_to_float_and_refused_where_emulated(tmp_path, monkeypatch):
    from radiofm.tasks import segmentation

    path = _save(tmp_path / "mix")
    x = _images((2, 32, 48))
    monkeypatch.setattr(segmentation, "native_bf16", lambda device: True)  # whatever this CPU has: the numerics
    pred = load_predictor(path, AnnotateConfig(device="cpu", quantize="bf16"))
    assert pred.__module__ == "radiofm.annotate.run"  # bf16 runs on torch
    p, ref = pred(x, []), _torch_probs(path, x)
    assert p.dtype == np.float32 and p.shape == ref.shape and 0 < np.abs(p - ref).max() < 0.05
    monkeypatch.setattr(segmentation, "native_bf16", lambda device: False)
    with pytest.raises(ConfigError, match="no native bfloat16"):
        load_predictor(path, AnnotateConfig(device="cpu", quantize="bf16"))
    with pytest.raises(ConfigError, match="quantize must be"):
        load_predictor(path, AnnotateConfig(device="cpu", quantize="fp8"))


def test_bf16_on_the_cpu_leaves_a_core_to_the_reader_during_each_call(tmp_path, monkeypatch):
    """bf16 on the CPU without --threads: torch runs the model on all cores but one (the reader thread's) during
    each call, and torch's thread count is what it was after it; --threads, no reader thread or float32 leave it."""
    import torch

    from radiofm.annotate import output
    from radiofm.tasks import segmentation

    path = _save(tmp_path / "mix")
    seen = []
    monkeypatch.setattr(segmentation, "native_bf16", lambda device: True)
    monkeypatch.setattr(output, "usable_cores", lambda: 4)
    real_predict = segmentation.predict
    monkeypatch.setattr(
        segmentation, "predict", lambda *a, **k: seen.append(torch.get_num_threads()) or real_predict(*a, **k)
    )
    original = torch.get_num_threads()
    torch.set_num_threads(1)
    before = 1  # unlike the 3 that bf16 takes here
    x = _images((1, 32, 48))
    try:
        for cfg, want in (
            (AnnotateConfig(device="cpu", quantize="bf16"), 3),
            (AnnotateConfig(device="cpu", quantize="bf16", prefetch=0), before),
            (AnnotateConfig(device="cpu", engine="torch"), before),
        ):
            seen.clear()
            load_predictor(path, cfg)(x, [])
            assert seen == [want] and torch.get_num_threads() == before, cfg
        two = (AnnotateConfig(device="cpu", quantize="bf16", threads=2), AnnotateConfig(engine="torch", threads=2))
        for cfg in two:
            load_predictor(path, cfg)(x, [])
            assert seen[-1] == 2 and torch.get_num_threads() == before  # the user's count, during each call only
    finally:
        torch.set_num_threads(original)


def test_images_split_between_threads_give_the_single_thread_result(tmp_path, monkeypatch):
    from radiofm.annotate import engine
    from radiofm.dsp import threads

    seg, _ = load_numpy_segmenter(_save(tmp_path / "mix"))
    x = _images((5, 32, 48))
    monkeypatch.setattr(engine, "usable_cores", lambda: 1)
    one = seg(x, batch_size=2)
    monkeypatch.setattr(engine, "usable_cores", lambda: 3)  # 3 threads over 5 images, single-threaded BLAS
    before = [int(get()) for get, _ in threads._openblas()]
    np.testing.assert_allclose(seg(x, batch_size=2), one, rtol=0, atol=1e-6)
    assert [int(get()) for get, _ in threads._openblas()] == before  # BLAS threads restored
    with threads.blas_threads(1) as found:
        assert not found or all(int(get()) == 1 for get, _ in threads._openblas())
