"""``reproduce tasks``' report: the table (task x mode), the label-efficiency curve, the markdown beside the authors'
follow-up figures, and the curve's plot."""

from __future__ import annotations

from pathlib import Path

TASKS = ("sensing", "signals", "positioning")
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
    return round(100 * float(v), 2) if unit == "%" else round(float(v), 3)


def build_report(steps: list[dict], settings: dict, preset: str, available: dict, *, total_s: float) -> dict:
    """{"table": {task: {mode: value}}, "curve": {task: {"pretrained"|"scratch": {fraction: value}}}, ...}."""
    runs = [st for st in steps if "task" in st]
    table = {t: {} for t in settings["tasks"] if available.get(t)}
    curve = {t: {"pretrained": {}, "scratch": {}} for t in table}
    for r in runs:
        v = _value(r["task"], r)
        if r["fraction"] == 1.0:
            table[r["task"]][r["mode"]] = v
        if r["mode"] in (settings["curve_mode"], "scratch"):
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


def markdown(r: dict) -> str:
    modes = list(r["settings"]["modes"])
    lines = [
        f"# One backbone, three tasks ({r['preset']} preset)",
        "",
        f"Backbone: {r['settings']['model']} MAE at {r['settings']['image_size'][0]}x{r['settings']['image_size'][1]}"
        + (f", reused from {r['settings']['init']}" if r["settings"].get("init") else ", pretrained on the ISM corpus")
        + ". Sensing and signals: test accuracy (%); positioning: mean error (m). last-2 = the last "
        f"{r['settings']['k']} blocks trained; scratch = same architecture, random init.",
        "",
        "| task | " + " | ".join(MODE_TITLES[m] for m in modes) + " | reference: linear probe / last blocks / LoRA |",
        "|---" * (len(modes) + 2) + "|",
    ]
    for task, row in r["table"].items():
        unit = METRICS[task][1]
        ref = REFERENCE[task]
        ref_cell = " / ".join(_cell(ref[m], unit) for m in ("frozen", "last-k", "lora")) + f" {unit}"
        lines.append(f"| {task} ({unit}) | " + " | ".join(_cell(row.get(m), unit) for m in modes) + f" | {ref_cell} |")
    for task in r.get("missing_tasks", []):
        lines.append(f"| {task} | " + " | ".join("not run" for _ in modes) + " | |")
    fractions = sorted({f for c in r["curve"].values() for side in c.values() for f in side}, key=float)
    lines += [
        "",
        f"Label efficiency (pretrained = {MODE_TITLES[r['curve_mode']]} vs scratch; fraction of the training labels, "
        "class-stratified):",
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
