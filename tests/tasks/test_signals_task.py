"""Signal identification task: the 2-layer MLP head, the step, the front end, the time-shift augmentation."""

import dataclasses
import os
from pathlib import Path

import pytest
import torch

from radiofm.errors import ConfigError, DatasetError
from radiofm.models.finetuned import configure_mode
from radiofm.models.heads import PooledHead, build_head
from radiofm.models.registry import get_config
from radiofm.tasks.signals import SignalsConfig, SignalsTask, build_signals_model
from radiofm.tasks.signals_data import frontend_config, frontend_params, open_labelled, time_roll

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ["a", "b", "c", "d"]


def _tiny_model():
    backbone = dataclasses.asdict(get_config("vit-tiny"))
    backbone.update(img_size=[32, 32], depth=2, embed_dim=32, num_heads=2, decoder_depth=1)
    torch.manual_seed(0)
    return build_signals_model("mae", backbone, CLASSES, frontend_config("png", (32, 32)), hidden=64, dropout=0.0)


def test_signals_head_is_a_two_layer_mlp_on_pooled_tokens():
    model = _tiny_model()
    assert isinstance(model.head, PooledHead) and model.config["head"]["type"] == "pooled"
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32, 64), (64, 4)]
    assert build_head(model.config["head"])(torch.randn(3, 7, 32)).shape == (3, 4)


def test_head_overfits_one_batch_on_a_frozen_backbone():
    model = _tiny_model()
    configure_mode(model, "frozen")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 1, 32, 32, generator=gen) * 5
    y = torch.arange(12) % len(CLASSES)
    task = SignalsTask(label_smoothing=0.1, augment=False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    first = None
    with torch.no_grad():
        feats = model.encode(x)  # the frozen backbone's tokens, as the feature cache holds them
    for _ in range(80):
        loss, metrics = task.step(model, {"features": feats, "y": y}, generator=gen, train=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    model.eval()
    assert float(loss.detach()) < 0.5 * first
    assert (model(x).argmax(1) == y).all()


def test_step_on_cached_features_equals_the_full_forward():
    model = _tiny_model()
    configure_mode(model, "frozen")
    model.eval()
    x, y = torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 3])
    task = SignalsTask(augment=False)
    g = torch.Generator()
    full, _ = task.step(model, {"x": x, "y": y}, generator=g, train=False)
    cached, m = task.step(model, {"features": model.encode(x), "y": y}, generator=g, train=False)
    assert torch.allclose(full, cached, atol=1e-6) and 0.0 <= m["acc"] <= 1.0


def test_time_roll_shifts_each_row_circularly_and_is_seeded():
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).reshape(2, 1, 3, 8)
    a = time_roll(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, time_roll(x, torch.Generator().manual_seed(1)))
    for i in range(2):  # each sample is its own image rolled along time by one shift
        assert sum(torch.equal(a[i], torch.roll(x[i], s, dims=-1)) for s in range(8)) == 1
    many = time_roll(x.repeat(16, 1, 1, 1), torch.Generator().manual_seed(2))
    assert len({int(m[0, 0, 0]) for m in many}) > 1  # shifts differ between samples


def test_config_and_folder_errors(tmp_path):
    with pytest.raises(ConfigError, match="label-fraction"):
        SignalsConfig(model="vit-tiny", mode="scratch", label_fraction=0.0)
    with pytest.raises(ConfigError, match="label-fraction"):
        SignalsConfig(model="vit-tiny", mode="scratch", label_fraction=1.5)
    with pytest.raises(ConfigError, match="label-smoothing"):
        SignalsConfig(model="vit-tiny", mode="scratch", label_smoothing=1.0)
    with pytest.raises(ConfigError, match=r"--head-dropout in \[0, 1\), got 256 and -1.0$"):  # not the whole config
        SignalsConfig(model="vit-tiny", mode="scratch", head_dropout=-1.0)
    with pytest.raises(ConfigError, match="--head-hidden must be 1..8192"):  # 10**20 was a traceback building it
        SignalsConfig(model="vit-tiny", mode="scratch", head_hidden=10**20)
    with pytest.raises(DatasetError, match="not found"):
        open_labelled(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no SigMF recordings"):
        open_labelled(tmp_path / "empty")


def test_frontend_config_records_the_stft_only_for_sigmf():
    assert frontend_config("sigmf", (64, 32)) == {"format": "sigmf", "image_size": [64, 32], "fft_size": 1024,
                                                  "hop": 1024, "zoom_rows": 32}  # fmt: skip
    # zoom 0 is the one-scale front end, recorded as checkpoints made before the zoom recorded it
    assert frontend_config("sigmf", (64, 32), zoom_rows=0) == {"format": "sigmf", "image_size": [64, 32],
                                                               "fft_size": 1024, "hop": 1024}  # fmt: skip
    assert frontend_config("sigmf", (64, 32), fft_size=16)["zoom_rows"] == 16
    with pytest.raises(ConfigError, match="zoom rows"):
        frontend_config("sigmf", (64, 32), zoom_rows=64)
    with pytest.raises(ConfigError, match="--zoom-rows"):
        SignalsConfig(init=None, mode="scratch", model="vit-tiny", zoom_rows=-1)
    assert frontend_config("png", (64, 64)) == {"format": "png", "image_size": [64, 64]}
    with pytest.raises(ConfigError):
        frontend_config("wav", (64, 64))
    with torch.no_grad():
        assert torch.isfinite(_tiny_model()(torch.zeros(1, 1, 32, 32))).all()


def test_the_fine_zoom_is_recorded_and_read_back_and_absent_from_older_records():
    fine = frontend_config("sigmf", (64, 32), fine_rows=16, fine_fft_size=8192)
    assert fine == {"format": "sigmf", "image_size": [64, 32], "fft_size": 1024, "hop": 1024, "zoom_rows": 32,
                    "fine_rows": 16, "fine_fft_size": 8192}  # fmt: skip
    params = frontend_params(fine)
    assert (params.zoom_rows, params.fine_rows, params.fine_fft_size, params.image_size) == (32, 16, 8192, (64, 32))
    older = frontend_params(frontend_config("sigmf", (64, 32)))  # a checkpoint made before the fine zoom
    assert older.fine_rows == 0 and older.zoom_rows == 32
    with pytest.raises(ConfigError, match="below the image height"):
        frontend_config("sigmf", (64, 32), fine_rows=32)  # 32 zoom + 32 fine rows leave no band
    with pytest.raises(ConfigError, match="--fine-rows"):
        SignalsConfig(init=None, mode="scratch", model="vit-tiny", fine_rows=-1)


def test_front_end_images_are_cached_and_rebuilt_when_a_file_changes(tmp_path):
    from radiofm.data.spectrogram_images import write_spectrogram_png
    from radiofm.tasks.signals_data import cached_images, load_images

    rng = torch.Generator().manual_seed(0)
    for name in ("a_0.png", "a_1.png", "b_0.png"):
        write_spectrogram_png(tmp_path / name, torch.rand(16, 16, generator=rng).numpy())
    files, fmt = open_labelled(tmp_path)
    assert fmt == "png" and files.classes == ["a", "b"]
    front = frontend_config("png", (8, 8))
    first = cached_images(files, front)
    assert len(list((tmp_path / ".radiofm-cache").glob("signals-*.npy"))) == 1
    assert (cached_images(files, front) == first).all() and (load_images(files, front) == first).all()
    assert open_labelled(tmp_path)[0].items == files.items  # the hidden cache folder is not a data item
    write_spectrogram_png(tmp_path / "b_0.png", torch.rand(16, 16, generator=rng).numpy())
    changed = cached_images(open_labelled(tmp_path)[0], front)
    assert not (changed[2] == first[2]).all() and (changed[:2] == first[:2]).all()
    # a file replaced by another of the same size, its old mtime put back (cp -p, rsync -t, touch -r)
    flat, spares = tmp_path / "flat", tmp_path / "spares"
    flat.mkdir()
    spares.mkdir()
    sizes: dict[int, Path] = {}
    for i in range(200):  # two random images whose PNGs have the same size
        path = spares / f"s{i}.png"
        write_spectrogram_png(path, torch.rand(16, 16, generator=rng).numpy())
        if path.stat().st_size in sizes:
            break
        sizes[path.stat().st_size] = path
    (flat / "a_0.png").write_bytes(sizes[path.stat().st_size].read_bytes())
    write_spectrogram_png(flat / "b_0.png", torch.rand(16, 16, generator=rng).numpy())
    before = cached_images(open_labelled(flat)[0], front)
    st = (flat / "a_0.png").stat()
    (flat / "a_0.png").write_bytes(path.read_bytes())
    assert (flat / "a_0.png").stat().st_size == st.st_size
    os.utime(flat / "a_0.png", ns=(st.st_atime_ns, st.st_mtime_ns))
    after = cached_images(open_labelled(flat)[0], front)
    assert not (after[0] == before[0]).all() and (after[1:] == before[1:]).all()
