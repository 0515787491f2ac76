"""``radiofm evaluate EVALUATION``: score a trained model; writes JSON and pictures into an output folder.

Evaluations plug in through :data:`EVALUATIONS`: each module provides ``add_eval_args(p)`` and
``run_eval(args) -> int`` (parse, call ``radiofm.tasks.<task>.evaluate_<task>_run``, print).
"""

from __future__ import annotations

from radiofm.cli import _args

# evaluation name -> (module, help); each module has add_eval_args(p) and run_eval(args)
EVALUATIONS = {
    "reconstruction": ("radiofm.cli.tasks.reconstruction", "MAE reconstruction accuracy per mask ratio (paper B)"),
    "segmentation": ("radiofm.cli.tasks.segmentation", "NR/LTE segmentation confusion matrices (paper A/B)"),
    "annotate": ("radiofm.cli.tasks.annotate_eval", "annotate's output on labelled recordings: carriers and pixels"),
    "forecasting": ("radiofm.cli.tasks.forecasting", "resource-block forecasting metric (paper A Fig. 6)"),
    "signals": ("radiofm.cli.tasks.signals", "signal identification accuracy, per class, confusion (slides Task 1)"),
    "sensing": ("radiofm.cli.tasks.sensing", "CSI activity sensing accuracy and confusion matrix (paper B)"),
    "positioning": ("radiofm.cli.tasks.positioning", "positioning errors (mean/median/p90 m), CDF and error map"),
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a model (reconstruction, segmentation, forecasting, annotate, sensing, signals, positioning)",
    )
    _args.add_plugin_parsers(p, "evaluation", "EVALUATION", EVALUATIONS, add_args="add_eval_args", run="run_eval")
