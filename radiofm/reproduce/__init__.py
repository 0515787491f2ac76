"""Paper reproductions, one module per experiment, each with ``add_args(p)`` and ``run(args) -> int``.

Every experiment has a ``cpu`` preset (finishes on a 2-core CPU within its stated budget) and a ``paper``
preset (the paper's sizes, for a GPU); both write a JSON report and a Markdown table beside the paper's figures.
"""

EXPERIMENTS = {
    "table5": ("radiofm.reproduce.table5", "paper B Table V: NR/LTE segmentation, mask ratios x model sizes + scratch"),
    "paper-a": ("radiofm.reproduce.paper_a", "paper A: ConvLSTM forecasting heatmaps and segmentation matrices"),
    "protobeam": ("radiofm.reproduce.protobeam", "seminar slides Table I: ProtoBeam TTSA/TOTA, baselines, ProtoAoA"),
}
