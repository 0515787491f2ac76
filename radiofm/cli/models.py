"""``radiofm models``: list the registered model presets."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list registered models")
    p.set_defaults(run=run)


def run(args) -> int:
    import dataclasses

    from radiofm.models import create_model, get_config, list_models

    print(f"{'name':<16} {'params (M)':>10}  config")
    for name in list_models():
        cfg = get_config(name)
        n = sum(p.numel() for p in create_model(name).parameters()) / 1e6
        short = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(cfg).items())
        print(f"{name:<16} {n:>10.2f}  {short}")
    return 0
