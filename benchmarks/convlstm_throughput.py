"""ConvLSTM throughput: fused-gate cells (one convolution per step) vs the per-gate reference (four).

Training = masked-token forward (``forward_msm``, mask 0.2) + backward + AdamW step; inference = a no-grad
forward. Throughput in tokens/s (B · T tokens per call). Both implementations hold identical weights and run
in the same process, alternating round by round (order flipped every round) so machine noise hits both alike;
the median over rounds is reported.

    .venv/bin/python benchmarks/convlstm_throughput.py                       # convlstm-tiny, then a short convlstm
    .venv/bin/python benchmarks/convlstm_throughput.py --models convlstm-tiny --rounds 5 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, print_table, write_results  # noqa: E402

from radiofm.models.convlstm import ConvLSTMModel, to_per_gate  # noqa: E402
from radiofm.models.registry import get_config  # noqa: E402

IMPLS = ("fused", "per_gate")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, calls: int) -> float:
    """Seconds per call of ``fn`` averaged over ``calls`` calls."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / calls


def bench_model(
    name: str, *, batch_size: int, tokens: int, rounds: int, calls: int, device: torch.device
) -> list[dict]:
    torch.manual_seed(0)
    config = get_config(name)
    fused = ConvLSTMModel(config).to(device)
    models = {"fused": fused, "per_gate": to_per_gate(fused)}
    x = torch.randn(batch_size, tokens, config.in_chans, *config.token_shape, device=device)
    lengths = torch.full((batch_size,), tokens, dtype=torch.long, device=device)
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}

    def train(impl: str) -> None:
        gen = torch.Generator(device=device).manual_seed(0)
        opts[impl].zero_grad(set_to_none=True)
        loss, _, _ = models[impl].forward_msm(x, lengths, 0.2, gen)
        loss.backward()
        opts[impl].step()

    def infer(impl: str) -> None:
        with torch.no_grad():
            models[impl](x, lengths)

    times: dict[tuple[str, str], list[float]] = {(m, i): [] for m in ("train", "infer") for i in IMPLS}
    for impl in IMPLS:  # warm-up (allocator, oneDNN/cuDNN kernel choice)
        train(impl)
        infer(impl)
    for r in range(rounds):
        for impl in IMPLS if r % 2 == 0 else IMPLS[::-1]:
            times[("train", impl)].append(_timed(lambda i=impl: train(i), device, calls))
            times[("infer", impl)].append(_timed(lambda i=impl: infer(i), device, calls))

    n_tok = batch_size * tokens
    rows = []
    for mode in ("train", "infer"):
        med = {i: statistics.median(times[(mode, i)]) for i in IMPLS}
        for impl in IMPLS:
            rows.append(
                {
                    "model": name,
                    "mode": mode,
                    "impl": impl,
                    "batch": batch_size,
                    "T": tokens,
                    "tokens/s": n_tok / med[impl],
                    "ms/call": 1e3 * med[impl],
                    "spread_%": 100 * (max(times[(mode, impl)]) - min(times[(mode, impl)])) / med[impl],
                    "fused_speedup": med["per_gate"] / med[impl] if impl == "fused" else None,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["convlstm-tiny", "convlstm"])
    p.add_argument("--batch-size", type=int, default=8, help="batch for convlstm-tiny")
    p.add_argument("--tokens", type=int, default=16, help="sentence length T for convlstm-tiny")
    p.add_argument("--paper-batch-size", type=int, default=1, help="batch for the 5×64 paper preset (slow on CPU)")
    p.add_argument("--paper-tokens", type=int, default=8, help="T for the paper preset")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=3, help="calls per timing (tiny); the paper preset uses 1")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1: least hurt by other jobs on a shared CPU; 0: torch's choice)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--name", default="convlstm_throughput", help="results/<name>.json")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    info = machine_info()
    print(
        f"device {device}; cpu {info['cpu']}, {info.get('cpus_available')} cores, load {info.get('load_avg_1m')}, "
        f"torch {info['torch']} ({info.get('torch_threads')} threads)",
        file=sys.stderr,
    )

    rows = []
    for name in args.models:
        paper = name != "convlstm-tiny" and device.type == "cpu"
        rows += bench_model(
            name,
            batch_size=args.paper_batch_size if paper else args.batch_size,
            tokens=args.paper_tokens if paper else args.tokens,
            rounds=args.rounds,
            calls=1 if paper else args.calls,
            device=device,
        )
        print(f"done: {name}", file=sys.stderr)
    print_table(rows)
    print("fused_speedup = per-gate time / fused time (>1: fused faster); spread = (max-min)/median over rounds")
    path = write_results(args.name, {"args": vars(args), "device": str(device), "rows": rows})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
