"""Tasks: one module per task, dataset → head → loss → metrics, as functions taking dataclass configs.

- :mod:`~radiofm.tasks.pretrain_mae`, :mod:`~radiofm.tasks.pretrain_convlstm` — masked spectrogram modeling
- :mod:`~radiofm.tasks.reconstruction` — MAE reconstruction accuracy (paper B Fig. 4/6)
- :mod:`~radiofm.tasks.segmentation` (+ ``segmentation_eval``) — NR/LTE segmentation (papers A and B)
- :mod:`~radiofm.tasks.forecasting` (+ ``forecasting_plots``) — spectrum forecasting (paper A)
- :mod:`~radiofm.tasks.finetune` — what every fine-tune shares; :mod:`~radiofm.tasks.metrics` — classification metrics

A training function is ``<verb>_<task>(data, config, train, out, *, resume=False, log=None) -> RunResult``; an
evaluation ``evaluate_<task>_run(model, data, out, config) -> report``. No argparse, no printing (progress goes to
the ``log`` callable), files only under the given output paths.
"""
