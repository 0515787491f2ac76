"""Pretraining throughput: radiofm's MAE step vs Hugging Face ``ViTMAEForPreTraining`` at the same configuration.

One step = forward (mask 0.75) + backward + AdamW step, on a (B, 1, 224, 224) batch. All implementations run in
the same process, alternating round by round after a warm-up, so machine noise hits them alike.

Implementations (``--impls``):

- ``radiofm``: what ``radiofm pretrain --fast`` runs (the default on CUDA): masked-only decoder head
  (``full_pred=False``), fused AdamW (:func:`radiofm.train.speed.make_adamw`), and on the CPU the batch split
  across the intra-op threads, one core each (:mod:`radiofm.train.split`);
- ``radiofm-nosplit``: ablation, ``radiofm`` without the split (the step of sessions 13-30);
- ``radiofm-compile``: the same under ``torch.compile`` (inductor);
- ``radiofm-graphs``: the same under ``torch.compile(mode="reduce-overhead")`` (inductor + CUDA graphs on CUDA:
  one replay instead of a launch per kernel; on the CPU the same as ``radiofm-compile``);
- ``radiofm-fullhead``: ablation, the decoder's last block and head on every patch (``full_pred=True``);
- ``radiofm-plainadam``: ablation, torch's default AdamW (per-tensor loop on CPU) instead of the fused kernel;
- ``radiofm-v0``: ablation, both of the above (the step before issue 13, still the CPU default);
- ``transformers`` / ``transformers-compile``: ``ViTMAEForPreTraining`` (sdpa attention) with torch's default
  AdamW, eager / compiled. ``transformers`` is a benchmark-only dependency (``pip install transformers``,
  the ``bench`` extra); without it those rows are skipped.

Prints a table (samples/s, ratio to ``transformers`` of the same mode where it ran, MFU on CUDA) and writes
``benchmarks/results/pretrain_throughput.json``. MFU = analytic model FLOPs of a full MAE step (matmuls and
attention, forward ×3 for forward + backward; the masked-only head's saving is not subtracted) / time / peak.

    .venv/bin/python benchmarks/pretrain_throughput.py --sizes vit-tiny vit-s --threads 2 --rounds 5
    .venv/bin/python benchmarks/pretrain_throughput.py --device cuda --dtype bf16 --sizes vit-s vit-m vit-l \\
        --batch-size 128 --impls radiofm radiofm-compile transformers
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for radiofm

from _common import print_table, time_many, write_results  # noqa: E402  (this script's folder)

from radiofm.models import create_model, get_config  # noqa: E402
from radiofm.tasks.pretrain_mae import MAEPretrainTask  # noqa: E402
from radiofm.train.speed import make_adamw, setup_device  # noqa: E402
from radiofm.train.split import BatchSplitter, split_threads  # noqa: E402

IMPLS = (
    "radiofm",
    "radiofm-nosplit",
    "radiofm-compile",
    "radiofm-graphs",
    "radiofm-fullhead",
    "radiofm-plainadam",
    "radiofm-v0",
    "transformers",
    "transformers-compile",
)
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}  # dense bf16


def mae_step_flops(cfg, batch: int, image_size: int, mask_ratio: float) -> float:
    """Model FLOPs of one training step (forward + backward = 3 × forward) of a full MAE at ``cfg``."""
    L = (image_size // cfg.patch_size) ** 2
    K = int(L * (1 - mask_ratio))
    P = cfg.patch_size**2 * cfg.in_chans

    def blocks(n: int, tokens: int, d: int) -> float:  # qkv + proj + MLP, and the two attention products
        hidden = int(round(d * cfg.mlp_ratio))
        return n * (2 * tokens * (4 * d * d + 2 * d * hidden) + 2 * 2 * tokens * tokens * d)

    fwd = 2 * K * P * cfg.embed_dim  # patch embedding of the visible patches
    fwd += blocks(cfg.depth, K + 1, cfg.embed_dim)
    fwd += 2 * (K + 1) * cfg.embed_dim * cfg.decoder_embed_dim  # decoder embedding
    fwd += blocks(cfg.decoder_depth, L + 1, cfg.decoder_embed_dim)
    fwd += 2 * L * cfg.decoder_embed_dim * P  # prediction head
    return 3.0 * batch * fwd


def _hf_model(cfg, image_size: int, mask_ratio: float) -> torch.nn.Module:
    from transformers import ViTMAEConfig, ViTMAEForPreTraining

    hf_cfg = ViTMAEConfig(
        hidden_size=cfg.embed_dim,
        num_hidden_layers=cfg.depth,
        num_attention_heads=cfg.num_heads,
        intermediate_size=int(cfg.mlp_ratio * cfg.embed_dim),
        decoder_hidden_size=cfg.decoder_embed_dim,
        decoder_num_hidden_layers=cfg.decoder_depth,
        decoder_num_attention_heads=cfg.decoder_num_heads,
        decoder_intermediate_size=int(cfg.mlp_ratio * cfg.decoder_embed_dim),
        num_channels=cfg.in_chans,
        image_size=image_size,
        patch_size=cfg.patch_size,
        mask_ratio=mask_ratio,
        norm_pix_loss=cfg.norm_pix_loss,
        qkv_bias=cfg.qkv_bias,
    )
    try:
        return ViTMAEForPreTraining._from_config(hf_cfg, attn_implementation="sdpa")
    except (TypeError, ValueError, ImportError):
        return ViTMAEForPreTraining(hf_cfg)


def _build(impl: str, size: str, args, device: torch.device):
    """(model, step callable) for ``impl``."""
    cfg = get_config(size)
    torch.manual_seed(0)
    if impl.startswith("transformers"):
        model = _hf_model(cfg, args.image_size, args.mask_ratio).to(device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)

        def forward(m, x):
            return m(pixel_values=x).loss
    else:
        model = create_model(size, img_size=(args.image_size, args.image_size)).to(device).train()
        groups = [{"params": list(model.parameters()), "weight_decay": 0.05}]
        plain = impl in ("radiofm-plainadam", "radiofm-v0")
        opt = (
            torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.95))
            if plain
            else make_adamw(groups, lr=1e-4, betas=(0.9, 0.95))
        )
        full = impl in ("radiofm-fullhead", "radiofm-v0")
        # CUDA graphs: the mask noise from torch's own RNG on the device (traced into the graph); a CPU generator's
        # noise would be a host tensor inside the graph, which makes torch skip the graphs
        gen = None if impl.endswith("-graphs") else torch.Generator().manual_seed(0)

        def forward(m, x):
            return m(x, args.mask_ratio, generator=gen, full_pred=full)[0]

        task = MAEPretrainTask(mask_ratio=args.mask_ratio, masked_only=not full)
        whole = impl != "radiofm"  # the ablations and the compiled steps run the batch whole
        parts = 1 if whole else split_threads(0, fast=True, device=device, task=task, world_size=1, compiled=False)
        if args.dtype == "fp32" and parts > 1:  # the loop's CPU step (radiofm.train.loop.train_one_epoch)
            splitter = BatchSplitter(parts, list(model.parameters()))
            x = _input(cfg, args, device)

            def split_step() -> None:
                splitter.step(model, task, x, gen)
                opt.step()

            return model, split_step

    if impl.endswith("-graphs"):
        runner = torch.compile(model, mode="reduce-overhead")
    elif impl.endswith("-compile"):
        runner = torch.compile(model)
    else:
        runner = model
    if args.dtype == "bf16":
        autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16)  # noqa: E731
    else:
        autocast = contextlib.nullcontext
    x = _input(cfg, args, device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = forward(runner, x)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return model, step


def _input(cfg, args, device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(args.batch_size, cfg.in_chans, args.image_size, args.image_size, generator=g).to(device)


def _build_all(impls: list[str], size: str, args, device: torch.device) -> dict:
    """``{impl: (model, step)}`` for each implementation that builds and runs one step; one that fails (a
    transformers version without this API, a compiler error) is reported on stderr and left out, not fatal."""
    built = {}
    for impl in impls:
        try:
            model, step = _build(impl, size, args, device)
            step()  # the first step (compilation for "-compile"): a failure shows here, before any timing
        except Exception as exc:  # noqa: BLE001  (any failure of one implementation leaves the others to run)
            print(f"{size} {impl}: skipped, it failed: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
            continue
        built[impl] = (model, step)
    if not built:
        raise SystemExit(f"{size}: no implementation ran")
    return built


def _peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given:
        return given
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["vit-tiny", "vit-s"], help="radiofm MAE presets")
    ap.add_argument("--impls", nargs="+", default=["radiofm", "transformers"], choices=IMPLS)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--rounds", "--steps", type=int, default=5, help="timed steps per implementation")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation happens here)")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--mask-ratio", type=float, default=0.75)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time (CPU only)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--peak-tflops", type=float, default=None, help="accelerator peak for MFU (default: by name)")
    ap.add_argument("--out-name", default="pretrain_throughput", help="results file stem")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.clock == "cpu" and device.type != "cpu":
        ap.error("--clock cpu measures CPU work only; use --clock wall on CUDA")
    setup_device(device)
    impls = list(dict.fromkeys(args.impls))
    try:
        import transformers  # noqa: F401
    except ImportError:
        if any(i.startswith("transformers") for i in impls):
            print("transformers is not installed: its rows are skipped (pip install transformers)", file=sys.stderr)
        impls = [i for i in impls if not i.startswith("transformers")]
    peak = _peak_tflops(device, args.peak_tflops)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    settings["peak_tflops_used"] = peak
    rows, results = [], []
    for size in args.sizes:
        cfg = get_config(size)
        flops = mae_step_flops(cfg, args.batch_size, args.image_size, args.mask_ratio)
        built = _build_all(impls, size, args, device)
        t_start = time.perf_counter()
        timing = time_many({k: v[1] for k, v in built.items()}, repeats=args.rounds, warmup=args.warmup, clock=clock)
        wall = time.perf_counter() - t_start
        for impl in built:
            t = timing[impl]
            ref = "transformers-compile" if impl.endswith(("-compile", "-graphs")) else "transformers"
            ref = ref if ref in timing else None
            sps, best = args.batch_size / t["median_s"], args.batch_size / t["min_s"]
            ratio = timing[ref]["median_s"] / t["median_s"] if ref else None
            ratio_best = timing[ref]["min_s"] / t["min_s"] if ref else None
            mfu = flops / t["median_s"] / (peak * 1e12) if peak else None
            row = {"model": size, "impl": impl, "samples/s": sps, "ratio": ratio, "best s/s": best}
            row["best ratio"] = ratio_best
            if peak:
                row["MFU"] = mfu
            rows.append(row)
            results.append(
                {
                    "model": size,
                    "impl": impl,
                    "samples_per_s": sps,
                    "best_samples_per_s": best,
                    "ratio_vs": ref,
                    "ratio": ratio,
                    "best_ratio": ratio_best,
                    "step_tflop": flops / 1e12,
                    "mfu": mfu,
                    "timing": t,
                    "params": sum(p.numel() for p in built[impl][0].parameters()),
                }
            )
        print(f"{size}: {len(built)} implementations × {args.rounds} rounds in {wall:.0f} s", file=sys.stderr)
        del built
        if device.type == "cuda":
            torch.cuda.empty_cache()
        # after every size: a run stopped by a time limit (benchmarks/gpu_check.sh) keeps what it measured
        print_table(rows[-len(timing) :])
        sys.stdout.flush()
        path = write_results(args.out_name, {"settings": settings, "results": results}, args.results_dir)
    if len(args.sizes) > 1:
        print("all sizes:")
        print_table(rows)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
