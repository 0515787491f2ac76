"""Pretraining throughput: radiofm's MAE vs Hugging Face ``ViTMAEForPreTraining`` at the same configuration.

One step = forward (mask 0.75) + backward + AdamW step, on a (B, 1, 224, 224) batch. Both implementations
run in the same process, alternating round by round after a warm-up, so machine noise hits both alike.
``transformers`` is a benchmark-only dependency (``pip install transformers``); radiofm never imports it.

    .venv/bin/python benchmarks/pretrain_throughput.py --sizes vit-tiny vit-s --batch-size 16 --steps 5
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


def _step_fn(impl: str, model, x: torch.Tensor, mask_ratio: float, autocast):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = model(x, mask_ratio)[0] if impl == "radiofm" else model(pixel_values=x).loss
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _time_cpu(fns: dict, *, repeats: int, warmup: int) -> dict[str, dict[str, float]]:
    """``time_many`` on this process's CPU time, which other processes' load barely moves.

    Meaningful with ``--threads 1`` (several threads add their CPU times together).
    """
    return time_many(fns, repeats=repeats, warmup=warmup, clock=time.process_time)


def _synced(fn, device: torch.device):
    """Wrap ``fn`` so that its wall time includes queued CUDA work."""

    def run():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["vit-tiny", "vit-s"], help="radiofm MAE presets")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per implementation")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--mask-ratio", type=float, default=0.75)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast (CUDA)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time (CPU only)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.clock == "cpu" and device.type != "cpu":
        ap.error("--clock cpu measures CPU work only; use --clock wall on CUDA")
    if args.dtype == "bf16":
        autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16)  # noqa: E731
    else:
        autocast = contextlib.nullcontext

    rows, results = [], []
    for size in args.sizes:
        cfg = get_config(size)
        torch.manual_seed(0)
        x = torch.randn(args.batch_size, cfg.in_chans, args.image_size, args.image_size, device=device)
        ours = create_model(size, img_size=(args.image_size, args.image_size)).to(device).train()
        theirs = _hf_model(cfg, args.image_size, args.mask_ratio).to(device).train()
        steps = {
            "radiofm": _step_fn("radiofm", ours, x, args.mask_ratio, autocast),
            "transformers": _step_fn("transformers", theirs, x, args.mask_ratio, autocast),
        }
        fns = {impl: _synced(fn, device) for impl, fn in steps.items()}
        timer = _time_cpu if args.clock == "cpu" else time_many  # round-robin: shared load hits both alike
        timing = timer(fns, repeats=args.steps, warmup=args.warmup)
        base = {k: args.batch_size / timing["transformers"][k] for k in ("median_s", "min_s")}
        for impl, t in timing.items():
            sps, sps_best = args.batch_size / t["median_s"], args.batch_size / t["min_s"]
            ratio, ratio_best = sps / base["median_s"], sps_best / base["min_s"]
            rows.append(
                {
                    "model": size,
                    "impl": impl,
                    "samples/s": sps,
                    "ratio": ratio,
                    "best samples/s": sps_best,
                    "best ratio": ratio_best,
                }
            )
            params = sum(p.numel() for p in (ours if impl == "radiofm" else theirs).parameters())
            results.append(
                {
                    "model": size,
                    "impl": impl,
                    "samples_per_s": sps,
                    "ratio_vs_transformers": ratio,
                    "best_samples_per_s": sps_best,
                    "best_ratio_vs_transformers": ratio_best,
                    "timing": t,
                    "params": params,
                }
            )
        del ours, theirs, steps, fns
    print_table(rows)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    path = write_results("pretrain_throughput", {"settings": settings, "results": results})
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
