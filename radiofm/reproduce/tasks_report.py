"""``reproduce tasks``' report: the table (task x mode), the label-efficiency curve, the markdown beside the authors'
follow-up figures, and the curve's plot."""

from __future__ import annotations

from pathlib import Path

TASKS = ("sensing", "signals", "positioning")
# what a backbone was pretrained on: the ISM corpus, or each task's own training inputs (labels unused)
BACKBONES = ("ism", "own")
# task -> (report key, unit, higher is better)
METRICS = {
    "sensing": ("accuracy", "%", True),
    "signals": ("accuracy", "%", True),
    "positioning": ("mean_error_m", "m", False),
}
# the authors' follow-up work: linear probe / last blocks / LoRA (accuracy % or mean error m)
REFERENCE = {
    "sensing": {"frozen": 94.4, "last-k": 99.3, "lora": 98.5},
    "signals": {"frozen": 55.5, "last-k": 84.5, "lora": 86.5},
    "positioning": {"frozen": 3.17, "last-k": 1.24, "lora": 1.45},
}
MODE_TITLES = {"frozen": "frozen", "last-k": "last-2", "lora": "LoRA", "full": "full", "scratch": "scratch"}


def _value(task: str, result: dict) -> float | None:
    key, unit, _ = METRICS[task]
    v = result.get(key)
    if v is None:
        return None
    # two decimals more than tasks.md prints: 5.1946 m kept as 5.195 printed as 5.20 (rounded twice)
    return round(100 * float(v), 3) if unit == "%" else round(float(v), 4)


def build_report(steps: list[dict], settings: dict, preset: str, available: dict, *, total_s: float) -> dict:
    """{"table": {task: {mode: value}} (the first backbone's), "tables": {backbone: {task: {mode: value}}},
    "curve": {task: {"pretrained"|"scratch": {fraction: value}}}, ...}; scratch stands in every backbone's table."""
    runs = [st for st in steps if "task" in st]
    backbones = list(settings.get("backbones") or ["ism"])
    tables = {b: {t: {} for t in settings["tasks"] if available.get(t)} for b in backbones}
    table = tables[backbones[0]]
    curve = {t: {"pretrained": {}, "scratch": {}} for t in table}
    for r in runs:
        v = _value(r["task"], r)
        backbone = r.get("backbone", "ism")  # runs recorded before there was a choice: the ISM backbone
        if r["fraction"] == 1.0:
            for b in backbones if r["mode"] == "scratch" else [backbone]:
                tables[b][r["task"]][r["mode"]] = v
        if r["mode"] == "scratch" or (r["mode"] == settings["curve_mode"] and backbone == backbones[0]):
            side = "scratch" if r["mode"] == "scratch" else "pretrained"
            curve[r["task"]][side][f"{r['fraction']:g}"] = v
    for t in curve:  # fractions in increasing order
        for side in curve[t]:
            curve[t][side] = dict(sorted(curve[t][side].items(), key=lambda kv: float(kv[0])))
    return {
        "preset": preset,
        "settings": settings,
        "metrics": {t: {"key": METRICS[t][0], "unit": METRICS[t][1]} for t in table},
        "table": table,
        "backbones": backbones,
        "tables": tables,
        "curve": curve,
        "curve_mode": settings["curve_mode"],
        "reference": REFERENCE,
        "missing_tasks": [t for t in settings["tasks"] if not available.get(t)],
        "runs": runs,
        "steps": steps,
        "total_s": round(total_s, 1),
        "step_seconds_total": round(sum(st.get("seconds", 0.0) for st in steps), 1),
    }


def _cell(v, unit: str) -> str:
    return "—" if v is None else (f"{v:.1f}" if unit == "%" else f"{v:.2f}")


def _backbone_text(r: dict) -> str:
    st = r["settings"]
    ism = f"reused from {st['init']}" if st.get("init") else "pretrained on the ISM corpus"
    texts = {"ism": ism, "own": "pretrained on each task's own training inputs (labels unused)"}
    return " / ".join(f"{b}: {texts[b]}" if len(r["backbones"]) > 1 else texts[b] for b in r["backbones"])


def markdown(r: dict) -> str:
    modes = list(r["settings"]["modes"])
    r = {**r, "backbones": r.get("backbones") or ["ism"]}
    tables = r.get("tables") or {r["backbones"][0]: r["table"]}
    several = len(r["backbones"]) > 1
    size = r["settings"]["image_size"]
    lines = [
        f"# One backbone, three tasks ({r['preset']} preset)",
        "",
        f"Backbone: {r['settings']['model']} MAE at {size[0]}x{size[1]}, {_backbone_text(r)}. Sensing and signals: "
        f"test accuracy (%); positioning: mean error (m). last-2 = the last {r['settings']['k']} blocks trained; "
        "scratch = same architecture, random init.",
        "",
        "| task | " + ("backbone | " if several else "") + " | ".join(MODE_TITLES[m] for m in modes)
        + " | reference: linear probe / last blocks / LoRA |",
        "|---" * (len(modes) + 2 + several) + "|",
    ]  # fmt: skip
    for task in r["table"]:
        unit = METRICS[task][1]
        ref = REFERENCE[task]
        ref_cell = " / ".join(_cell(ref[m], unit) for m in ("frozen", "last-k", "lora")) + f" {unit}"
        for b in r["backbones"]:
            row = tables[b].get(task, {})
            cells = " | ".join(_cell(row.get(m), unit) for m in modes)
            lines.append(f"| {task} ({unit}) | " + (f"{b} | " if several else "") + f"{cells} | {ref_cell} |")
    for task in r.get("missing_tasks", []):
        lines.append(f"| {task} | " + ("| " if several else "") + " | ".join("not run" for _ in modes) + " | |")
    fractions = sorted({f for c in r["curve"].values() for side in c.values() for f in side}, key=float)
    lines += [
        "",
        f"Label efficiency (pretrained = {MODE_TITLES[r['curve_mode']]}"
        + (f" from the {r['backbones'][0]} backbone" if several else "")
        + " vs scratch; fraction of the training labels, class-stratified):",
        "",
        "| task | model | " + " | ".join(f"{100 * float(f):g} %" for f in fractions) + " |",
        "|---" * (len(fractions) + 2) + "|",
    ]
    for task, c in r["curve"].items():
        unit = METRICS[task][1]
        for side in ("pretrained", "scratch"):
            cells = " | ".join(_cell(c[side].get(f), unit) for f in fractions)
            lines.append(f"| {task} ({unit}) | {side} | {cells} |")
    lines += ["", f"Total step time: {r['step_seconds_total']:.0f} s."]
    return "\n".join(lines) + "\n"


def plot_label_efficiency(r: dict, path: Path) -> None:
    """One panel per task: metric against the label fraction (log axis), pretrained vs scratch."""
    from radiofm.viz import new_figure, save_figure

    tasks = list(r["curve"]) or ["(none)"]
    fig = new_figure((4.2 * len(tasks), 3.6))
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        c = r["curve"].get(task, {})
        for side, style in (("pretrained", "o-"), ("scratch", "s--")):
            pts = [(float(f), v) for f, v in c.get(side, {}).items() if v is not None]
            if pts:
                ax.plot([100 * f for f, _ in pts], [v for _, v in pts], style, label=side)
        ax.set_xscale("log")
        ax.set_xlabel("labels used (%)")
        if task in METRICS:
            key, unit, higher = METRICS[task]
            ax.set_ylabel(f"{'accuracy' if unit == '%' else 'mean error'} ({unit})")
            ax.set_title(f"{task} ({'higher' if higher else 'lower'} is better)")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    save_figure(fig, path)
