"""How fast a step runs: the device's math settings, the optimizer kernel, ``torch.compile`` with a clean eager
fallback, and the process's peak memory. Used by :func:`radiofm.train.fit`; nothing here changes what a step
computes beyond float rounding.

- :func:`setup_device` — on CUDA: TF32 matmuls/convolutions and cuDNN autotuning (bf16 autocast itself is
  :func:`radiofm.train.autocast_for`); on CPU nothing (threads are the user's ``OMP_NUM_THREADS``/``torch``'s).
- :func:`make_adamw` — AdamW with the fused kernel (one pass over each parameter, CPU and CUDA), or the
  foreach one where the fused kernel is missing; same update rule as the plain loop.
- :func:`fast_wanted` — ``TrainConfig.fast``: fused AdamW and the tasks' loss-only shortcuts (the MAE's
  masked-only decoder head). Float rounding differs from the plain path and Adam magnifies it in parameters
  whose true gradient is zero (the attention key biases), so ``"auto"`` keeps the plain, bit-reproducible path on
  CPU (old checkpoints retrain to the same weights, tests/models/test_checkpoint_compat.py) and goes fast on CUDA.
- :func:`compile_wanted` / :func:`maybe_compile` — ``TrainConfig.compile`` ``"auto"`` compiles on CUDA only
  (on CPU the compile time outweighs the gain for the runs this toolkit makes, see docs/RESULTS.md);
  ``"on"`` compiles anywhere; a compiler that is missing or fails is reported in one line and the run continues
  eagerly.
- :func:`peak_rss_mb` — the process's peak resident memory so far.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch
from torch import nn

from radiofm.errors import RadioFMError


def setup_device(device: torch.device) -> None:
    """Fast math settings for ``device`` (CUDA: TF32 and cuDNN autotuning; CPU: none)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


def make_adamw(groups, *, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """AdamW over ``groups`` with the fused kernel where this torch has it, else the foreach one."""
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for these tensors' device/dtype
        return torch.optim.AdamW(groups, lr=lr, betas=betas, foreach=True)


def compile_wanted(mode: str, device: torch.device) -> bool:
    """``mode`` "on"/"off" as given; "auto": on CUDA only."""
    return mode == "on" or (mode == "auto" and device.type == "cuda")


def fast_wanted(mode: str, device: str | torch.device) -> bool:
    """``TrainConfig.fast`` for ``device`` (a torch device or TrainConfig.device's "auto"/"cpu"/"cuda:N")."""
    if isinstance(device, str):
        cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
        device = torch.device("cuda" if cuda else "cpu")
    return compile_wanted(mode, device)


class EagerFallback(nn.Module):
    """Calls ``torch.compile(model)``; if compiling fails, says so once through ``log`` and runs ``model`` eagerly.

    radiofm's own errors (a user's bad input) are raised as they are, never taken for a compiler failure.
    """

    def __init__(self, model: nn.Module, log: Callable[[str], None] | None = None, *, backend: str = "inductor"):
        super().__init__()
        self.eager = model
        self.compiled = torch.compile(model, backend=backend)
        self.log = log
        self.failed = False

    def forward(self, *args, **kwargs):
        if not self.failed:
            try:
                return self.compiled(*args, **kwargs)
            except RadioFMError:
                raise
            except Exception as exc:  # noqa: BLE001 — any compiler failure: eager continues
                self.failed = True
                _say(
                    self.log,
                    f"warning: torch.compile failed ({type(exc).__name__}: {_first_line(exc)}); running eagerly",
                )
        return self.eager(*args, **kwargs)


def maybe_compile(
    model: nn.Module, mode: str, device: torch.device, log=None, *, backend: str = "inductor"
) -> nn.Module:
    """``model`` compiled per ``mode`` (see :func:`compile_wanted`), or ``model`` itself; never raises for a
    compiler that is missing: one line through ``log`` and the model runs eagerly. ``backend``: torch.compile's
    (tests use "aot_eager": the same graphs without code generation)."""
    if not compile_wanted(mode, device):
        return model
    problem = compile_problem(device, backend=backend)
    if problem:
        _say(log, f"warning: torch.compile unavailable ({problem}); running eagerly")
        return model
    return EagerFallback(model, log, backend=backend)


def compile_problem(device: torch.device, *, backend: str = "inductor") -> str | None:
    """Why ``torch.compile`` cannot run here (None when it can): compiles and runs a tiny forward + backward."""
    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    try:
        lin = nn.Linear(4, 4).to(device)
        fn = torch.compile(lambda x: torch.nn.functional.gelu(lin(x)).square().sum(), backend=backend)
        fn(torch.ones(2, 4, device=device)).backward()
    except Exception as exc:  # noqa: BLE001 — the compiler or its C++ toolchain is missing or broken
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (0.0 where the platform does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else ""


def _say(log, line: str) -> None:
    if log is not None:
        log(line)
