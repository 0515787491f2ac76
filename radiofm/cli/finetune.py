"""``radiofm finetune TASK``: adapt a pretrained backbone to a downstream task on the one training loop.

Tasks plug in through :data:`TASKS`: each module provides ``add_finetune_args(p)`` (usually calling
:func:`radiofm.cli._args.add_finetune_args`) and ``run_finetune(args) -> int``.
"""

from __future__ import annotations

from radiofm.cli import _args

# task name -> (module, help)
TASKS = {
    "segmentation": ("radiofm.cli.tasks.segmentation", "NR/LTE spectrogram segmentation (paper B §III-D)"),
    "forecasting": ("radiofm.cli.tasks.forecasting", "spectrum forecasting with a ConvLSTM backbone (paper A)"),
    "signals": ("radiofm.cli.tasks.signals", "signal identification, 20 CommRad RF classes (slides Task 1)"),
    "sensing": ("radiofm.cli.tasks.sensing", "CSI human activity sensing, NTU-Fi HAR (paper B §III-C)"),
    "positioning": ("radiofm.cli.tasks.positioning", "5G NR positioning from 4 base stations' CSI (slides Task 3)"),
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a pretrained backbone on a task (frozen, last-k, lora, full, scratch)",
        description="Fine-tune a pretrained backbone (or train the same architecture from scratch) on a task.",
    )
    _args.add_plugin_parsers(
        p, "task", "TASK", TASKS, add_args="add_finetune_args", run="run_finetune", skip_without_args=True
    )
