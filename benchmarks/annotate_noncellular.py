"""``radiofm annotate`` on captures that hold no NR or LTE carrier: does it call anything else NR or LTE?

The set (:data:`SPECS`, built by :mod:`_noncellular_signals`): 61 captures of 40 ms at 61.44 MS/s: Wi-Fi OFDM
20/40 MHz (bursty and continuous), Wi-Fi DSSS, Bluetooth, BLE, Zigbee, microwave ovens, ISM scenes without the
cellular source, band-limited noise, CW tones, tone combs, an FMCW chirp and pulsed radars, FM broadcast, DVB-T 2k/8k,
generic OFDM at 312.5 and 78.125 kHz, WiMAX, single-carrier RRC QAM, receiver noise alone (white, with DC and I/Q
imbalance, with AGC steps), CommRad's DAB, ADS-B, LoRa, GSM and FM; among them three "stress" captures on LTE's or
NR's numerology without any of their sync or reference signals (15 and 30 kHz CP-OFDM, a 15 kHz tone comb), which a
spectrogram alone cannot tell from LTE or NR. Controls: 10 frames of ``radiofm generate nrlte --iq`` (test split,
seed 5 + ``--seed``), their own annotations the truth.

Each capture is annotated in this process by :func:`radiofm.annotate.annotate_file` (``radiofm annotate``'s defaults,
no progress bar, no picture), and the annotations are tallied per category: captures, captures with an NR or LTE
label, annotations, NR, LTE, unknown, and each ``label/radiofm:decision``. A control's true carrier is right when an
annotation overlapping it by half the narrower band or more carries its label, wrong when one carries the other
cellular label, missed when none overlaps it. Prints the table; writes ``benchmarks/results/<name>.json`` with it,
every NR or LTE label on a non-cellular capture (band, decision, CP correlations, the span the physical-layer stage
read, scores), each capture's annotations, the machine and the command line.

WORK holds ``set/`` (the captures), ``ctrl/`` (the generator's frames), ``truth.json`` (what each capture is) and
``out/`` (annotate's outputs). The same ``--seed`` builds the same bytes; ``--skip-build`` reuses WORK's captures.
Run one process per core (the annotate stages are single-threaded with OMP_NUM_THREADS=1):

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/annotate_noncellular.py --model DEMO/segmentation \\
        --work W [--seed 0] [--skip-build] [--name annotate_noncellular]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _noncellular_signals as sig
from _common import print_table, write_results

from radiofm.annotate import AnnotateConfig, annotate_file
from radiofm.data import write_sigmf
from radiofm.io import write_json

CONTROL = "CONTROL nr/lte"
CELLULAR = ("NR", "LTE")
CONTROL_FRAMES, CONTROL_SEED = 10, 5
ISM, QAM, WIMAX, CR, ST = "ism-mix (no LTE/NR)", "sc-qam rrc", "wimax (10.94 kHz)", "commrad ", "STRESS "
ZB5 = (2415e6, 2420e6, 2425e6, 2430e6, 2435e6)
# (name, category, generator: _noncellular_signals.g_<name>, in-band SNR dB, centre Hz (None: the generator's), kwargs)
# fmt: off
SPECS = [
    ("wifi20_busy40_s00", "wifi-ofdm-20", "wifi", 0, 2437e6, dict(busy=0.4)),
    ("wifi20_busy30_s08", "wifi-ofdm-20", "wifi", 8, 2437e6, dict(busy=0.3, offset=-12e6)),
    ("wifi20_busy60_s15", "wifi-ofdm-20", "wifi", 15, 2437e6, dict(busy=0.6, offset=7e6)),
    ("wifi20_busy80_s22", "wifi-ofdm-20", "wifi", 22, 2437e6, dict(busy=0.8)),
    ("wifi20_busy20_s30", "wifi-ofdm-20", "wifi", 30, 2437e6, dict(busy=0.2, offset=-5e6)),
    ("wifi20_cont_s20", "wifi-ofdm-20", "wifi", 20, 2437e6, dict(continuous=True, offset=4e6)),
    ("wifi20_cont_s05", "wifi-ofdm-20", "wifi", 5, 2437e6, dict(continuous=True)),
    ("wifi40_busy50_s10", "wifi-ofdm-40", "wifi", 10, 2442e6, dict(bw=40e6, busy=0.5)),
    ("wifi40_busy70_s25", "wifi-ofdm-40", "wifi", 25, 2442e6, dict(bw=40e6, busy=0.7, offset=6e6)),
    ("wifi40_cont_s18", "wifi-ofdm-40", "wifi", 18, 2442e6, dict(bw=40e6, continuous=True)),
    ("dsss_busy30_s12", "wifi-dsss", "dsss", 12, 2437e6, dict(busy=0.3)),
    ("dsss_busy70_s25", "wifi-dsss", "dsss", 25, 2437e6, dict(busy=0.7)),
    ("bt_3pico_s10", "bluetooth", "bluetooth", 10, 2441e6, dict()),
    ("bt_5pico_s20", "bluetooth", "bluetooth", 20, 2441e6, dict(piconets=5, activity=0.9)),
    ("bt_1pico_s30", "bluetooth", "bluetooth", 30, 2441e6, dict(piconets=1)),
    ("ble_6adv_s15", "ble", "ble", 15, 2420e6, dict(fc=2420e6)),
    ("ble_10adv_s28", "ble", "ble", 28, 2440e6, dict(advertisers=10)),
    ("zigbee_3ch_s10", "zigbee", "zigbee", 10, 2440e6, dict()),
    ("zigbee_5ch_s25", "zigbee", "zigbee", 25, 2440e6, dict(channels=ZB5, busy=0.8)),
    ("microwave_s15", "microwave", "microwave", 15, 2450e6, dict()),
    ("microwave_s30", "microwave", "microwave", 30, 2450e6, dict(sweep=10e6)),
    ("ism_mix_a", ISM, "ism_mix", None, None, dict(seed=101)),
    ("ism_mix_b", ISM, "ism_mix", None, None, dict(seed=202)),
    ("ism_mix_c", ISM, "ism_mix", None, None, dict(seed=303)),
    ("ism_mix_d", ISM, "ism_mix", None, None, dict(seed=404)),
    ("noise10M_cont_s05", "noise-band", "noise_band", 5, 1.0e9, dict()),
    ("noise18M_cont_s20", "noise-band", "noise_band", 20, 1.0e9, dict(bw=18e6, offset=-6e6)),
    ("noise5M_bursts_s15", "noise-band", "noise_band", 15, 1.0e9, dict(bw=5e6, busy=0.4, offset=10e6)),
    ("cw_s30", "cw-tones", "tones", 30, 1.5e9, dict(freqs=[7.31e6])),
    ("cw3_s20", "cw-tones", "tones", 20, 1.5e9, dict(freqs=[-11.2e6, 0.41e6, 15.07e6])),
    ("comb100k_s15", "comb", "comb", 15, 1.5e9, dict(spacing=100e3, n_tones=100)),
    ("comb1M_s25", "comb", "comb", 25, 1.5e9, dict(spacing=1e6, n_tones=21, offset=2e6)),
    ("chirp20M_s10", "chirp/radar", "chirp", 10, 5.6e9, dict()),
    ("radar_lfm_s20", "chirp/radar", "radar", 20, 5.6e9, dict()),
    ("radar_pulse1us_s25", "chirp/radar", "radar", 25, 2.8e9, dict(pw=1e-6, bw=0, pri=100e-6, offset=3e6)),
    ("fm_single_s30", "fm", "fm", 30, 98e6, dict()),
    ("fm_band_s25", "fm", "fm", 25, 98e6, dict(n_stations=25)),
    ("dvbt8k_s20", "dvb-t", "dvbt", 20, 610e6, dict()),
    ("dvbt2k_s10", "dvb-t", "dvbt", 10, 610e6, dict(mode="2k", guard=0.125, offset=-9e6)),
    ("dvbt8k_s03", "dvb-t", "dvbt", 3, 610e6, dict(guard=0.125)),
    ("ofdm312k_cont_s15", "ofdm-312.5k", "ofdm", 15, 5.2e9, dict(rate=20e6, fft=64, n_used=53, cp=16, offset=5e6)),
    ("ofdm78k_cont_s20", "ofdm-78.125k", "ofdm", 20, 5.2e9, dict(rate=20e6, fft=256, n_used=245, cp=32, order=256)),
    ("ofdm78k_busy_s08", "ofdm-78.125k", "ofdm", 8, 5.2e9,
     dict(rate=20e6, fft=256, n_used=245, cp=64, busy=0.5, offset=-10e6)),
    ("wimax10M_s15", WIMAX, "wimax", 15, 3.5e9, dict()),
    ("wimax10M_s28", WIMAX, "wimax", 28, 3.5e9, dict(offset=9e6)),
    ("scqam5M_s10", QAM, "scqam", 10, 1.2e9, dict(rs=4.5e6, alpha=0.2, order=16, offset=-6e6)),
    ("scqam10M_s20", QAM, "scqam", 20, 1.2e9, dict(rs=8e6, alpha=0.25, order=64)),
    ("scqam16M_s28", QAM, "scqam", 28, 1.2e9, dict(rs=16e6, alpha=0.2, order=256, offset=3e6)),
    ("scqam10M_burst_s15", QAM, "scqam", 15, 1.2e9, dict(rs=10e6, alpha=0.35, order=4, busy=0.5)),
    ("noise_white", "pure-noise", "pure_noise", None, 2.0e9, dict()),
    ("noise_dc_iq", "pure-noise", "pure_noise", None, 2.0e9, dict(dc=True)),
    ("noise_agcstep", "pure-noise", "pure_noise", None, 2.0e9, dict(agc=True)),
    ("commrad_dab_s20", CR + "dab", "commrad", 20, None, dict(name="digital-audio-broadcasting", seed=11)),
    ("commrad_dab_s08", CR + "dab", "commrad", 8, None, dict(name="digital-audio-broadcasting", seed=12)),
    ("commrad_adsb_s25", CR + "ads-b", "commrad", 25, None, dict(name="ads-b", seed=13)),
    ("commrad_lora_s20", CR + "lora", "commrad", 20, None, dict(name="lora", seed=14)),
    ("commrad_gsm_s25", CR + "gsm", "commrad", 25, None, dict(name="cellular", seed=15)),
    ("commrad_fm_s30", CR + "fm", "commrad", 30, None, dict(name="fm", seed=16)),
    # stress: non-cellular OFDM / combs on LTE's or NR's numerology (no PSS/SSS/CRS/SSB/DMRS)
    ("stress_ofdm15k_10M_s20", ST + "ofdm 15 kHz (no sync)", "ofdm", 20, 3.5e9,
     dict(rate=15.36e6, fft=1024, n_used=601, cp=72, offset=-5e6)),
    ("stress_ofdm30k_20M_s20", ST + "ofdm 30 kHz (no sync)", "ofdm", 20, 3.5e9,
     dict(rate=30.72e6, fft=1024, n_used=613, cp=72, dc_null=False, offset=8e6)),
    ("stress_comb15k_s20", ST + "comb 15 kHz", "comb", 20, 3.5e9, dict(spacing=15e3, n_tones=600, offset=-3e6)),
]
# fmt: on


def build_set(work: Path, seed: int) -> list[dict]:
    """Write every capture of :data:`SPECS` to WORK/set, the control frames to WORK/ctrl and WORK/truth.json."""
    entries = []
    for i, (name, category, gen, snr_db, center_hz, kwargs) in enumerate(SPECS):
        t = time.perf_counter()
        iq, fc, info = sig.render(i, gen, snr_db, kwargs, seed)
        fc = float(center_hz if fc is None else fc)
        write_sigmf(work / "set" / name, iq, sample_rate_hz=sig.FS, center_freq_hz=fc, datatype="cf32_le")
        entries.append({"name": name, "category": category, "control": False, "snr_db": snr_db,
                        "center_freq_hz": fc, "meta": f"set/{name}.sigmf-meta", "info": info})  # fmt: skip
        print(f"built {name:26s} {category:30s} {time.perf_counter() - t:5.1f} s", flush=True)
    ctrl = work / "ctrl"
    if ctrl.exists():
        shutil.rmtree(ctrl)
    subprocess.run([sys.executable, "-m", "radiofm.cli.main", "generate", "nrlte", "--out", str(ctrl), "--frames",
                    str(CONTROL_FRAMES), "--split", "test", "--seed", str(CONTROL_SEED + seed), "--iq", "--workers",
                    "1", "--no-progress"], check=True)  # fmt: skip
    for meta in sorted((ctrl / "iq").glob("*.sigmf-meta")):
        name = "ctrl_" + meta.name.split(".")[0]
        entries.append({"name": name, "category": CONTROL, "control": True, "snr_db": None,
                        "meta": str(meta.relative_to(work))})  # fmt: skip
    write_json(work / "truth.json", {"seed": seed, "captures": entries})
    return entries


def annotation_row(a, fc: float, fs: float) -> dict:
    """The parts of an annotation the benchmark reports (band relative to the capture's centre)."""
    ev = a.extra.get("radiofm:evidence") or {}
    row = {"label": a.label,
           "band_mhz": [round((a.freq_lower_edge_hz - fc) / 1e6, 3), round((a.freq_upper_edge_hz - fc) / 1e6, 3)],
           "time_ms": [round(a.sample_start / fs * 1e3, 2), round((a.sample_start + a.sample_count) / fs * 1e3, 2)],
           "decision": a.extra.get("radiofm:decision"), "confidence": a.extra.get("radiofm:confidence"),
           "scores": a.extra.get("radiofm:scores"), "pci": a.extra.get("radiofm:pci"),
           "cp_rho": ev.get("cp_rho"), "span_ms": ev.get("span_ms")}  # fmt: skip
    if a.label in CELLULAR:
        row["evidence"] = ev.get("items")
    return row


def control_check(truth: list[dict], anns: list[dict], fc: float) -> dict:
    """Each true carrier (the capture's own annotations) and the labels of the annotations overlapping it by half
    the narrower band or more: right, wrong (the other cellular label) or missed."""
    carriers = []
    for c in truth:
        lo, hi = (c["core:freq_lower_edge"] - fc) / 1e6, (c["core:freq_upper_edge"] - fc) / 1e6
        hits = []
        for a in anns:
            (a_lo, a_hi), width = a["band_mhz"], a["band_mhz"][1] - a["band_mhz"][0]
            if min(hi, a_hi) - max(lo, a_lo) >= 0.5 * min(hi - lo, width):
                hits.append(a["label"])
        carriers.append({"truth": c["core:label"], "snr_db": c.get("radiofm:snr_db"),
                         "traffic": c.get("radiofm:traffic"), "band_mhz": [round(lo, 2), round(hi, 2)],
                         "annotated_as": hits})  # fmt: skip
    return {"carriers": carriers, "right": sum(c["truth"] in c["annotated_as"] for c in carriers),
            "wrong": sum(any(h in CELLULAR and h != c["truth"] for h in c["annotated_as"]) for c in carriers),
            "missed": sum(not c["annotated_as"] for c in carriers)}  # fmt: skip


def annotate_one(entry: dict, work: Path, model: str, config: AnnotateConfig) -> dict:
    """Annotate one capture; its record (annotations, counts, seconds; an exception's message as ``error``)."""
    meta_path = work / entry["meta"]
    meta = json.loads(meta_path.read_text())
    fc, fs = meta["captures"][0].get("core:frequency") or 0.0, meta["global"]["core:sample_rate"]
    rec = {k: entry[k] for k in ("name", "category", "control", "snr_db")}
    t = time.perf_counter()
    try:
        result, _ = annotate_file(meta_path, model, work / "out" / entry["name"], config)
    except Exception as exc:  # a failed capture is a result too: recorded, and the rest go on
        return rec | {"seconds": round(time.perf_counter() - t, 2), "error": f"{type(exc).__name__}: {exc}",
                      "n": dict.fromkeys((*CELLULAR, "unknown"), 0), "annotations": []}  # fmt: skip
    anns = [annotation_row(a, fc, fs) for a in result.annotations]
    rec["seconds"] = round(time.perf_counter() - t, 2)
    rec["n"] = {k: sum(a["label"] == k for a in anns) for k in (*CELLULAR, "unknown")}
    rec["annotations"] = anns
    if entry["control"]:
        rec["control_check"] = control_check(meta.get("annotations", []), anns, fc)
    return rec


def tally(records: list[dict]) -> list[dict]:
    """One row per category, in the set's order."""
    rows: dict[str, dict] = {}
    for r in records:
        s = rows.setdefault(r["category"], {"category": r["category"], "captures": 0, "with NR/LTE": 0,
                                            "annotations": 0, "NR": 0, "LTE": 0, "unknown": 0, "carriers": None,
                                            "right": None, "wrong": None, "missed": None, "failed": 0,
                                            "decisions": {}})  # fmt: skip
        s["captures"] += 1
        s["failed"] += "error" in r
        s["annotations"] += len(r["annotations"])
        for k in (*CELLULAR, "unknown"):
            s[k] += r["n"][k]
        s["with NR/LTE"] += bool(r["n"]["NR"] + r["n"]["LTE"])
        for a in r["annotations"]:
            key = f"{a['label']}/{a['decision']}"
            s["decisions"][key] = s["decisions"].get(key, 0) + 1
        if "control_check" in r:
            cc = r["control_check"]
            s["carriers"] = (s["carriers"] or 0) + len(cc["carriers"])
            for k in ("right", "wrong", "missed"):
                s[k] = (s[k] or 0) + cc[k]
    return list(rows.values())


def totals(records: list[dict]) -> dict:
    nonc = [r for r in records if not r["control"]]
    checks = [r["control_check"] for r in records if "control_check" in r]
    return {
        "noncellular_captures": len(nonc),
        "noncellular_annotations": sum(len(r["annotations"]) for r in nonc),
        "noncellular_false_NR": sum(r["n"]["NR"] for r in nonc),
        "noncellular_false_LTE": sum(r["n"]["LTE"] for r in nonc),
        "noncellular_unknown": sum(r["n"]["unknown"] for r in nonc),
        "noncellular_captures_with_false_label": sum(bool(r["n"]["NR"] + r["n"]["LTE"]) for r in nonc),
        "control_captures": sum(r["control"] for r in records),
        "control_carriers": sum(len(c["carriers"]) for c in checks),
        "control_carriers_right": sum(c["right"] for c in checks),
        "control_carriers_wrong_label": sum(c["wrong"] for c in checks),
        "control_carriers_missed": sum(c["missed"] for c in checks),
        "failed": [r["name"] for r in records if "error" in r],
    }


def load_truth(work: Path, seed: int) -> list[dict]:
    path = work / "truth.json"
    if not path.exists():
        raise SystemExit(f"annotate_noncellular: no {path}: build the set first (run without --skip-build)")
    doc = json.loads(path.read_text())
    if doc["seed"] != seed:
        raise SystemExit(f"annotate_noncellular: {work} holds the set of --seed {doc['seed']}, not {seed}")
    return doc["captures"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="segmentation run folder (e.g. a demo's segmentation)")
    ap.add_argument("--work", type=Path, required=True, help="folder for the captures and annotate's outputs")
    ap.add_argument("--name", default="annotate_noncellular")
    ap.add_argument("--results-dir", type=Path, default=None, help="where the JSON goes (default benchmarks/results)")
    ap.add_argument("--seed", type=int, default=0, help="0: the set of session 56's review")
    ap.add_argument("--skip-build", action="store_true", help="reuse the captures already in WORK")
    args = ap.parse_args(argv)

    from radiofm.heap import retain_freed_memory

    retain_freed_memory()  # as the command line does before annotating
    t0 = time.perf_counter()
    if args.skip_build:
        entries = load_truth(args.work, args.seed)
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        entries = build_set(args.work, args.seed)
    t_build = time.perf_counter() - t0
    print(f"{len(entries)} captures {'found' if args.skip_build else 'built'} in {t_build:.0f} s", flush=True)
    config = AnnotateConfig(progress=False, picture=False)
    records = []
    for entry in entries:
        r = annotate_one(entry, args.work, str(args.model), config)
        records.append(r)
        counts = " ".join(f"{v} {k}" for k, v in r["n"].items())
        print(f"{r['name']:26s} {r['seconds']:5.1f} s  {counts}  {r.get('error', '')}", flush=True)
    t_annotate = time.perf_counter() - t0 - t_build

    rows = tally(records)
    total = totals(records)
    print_table([row | {"decisions": ", ".join(f"{k} {v}" for k, v in row["decisions"].items())} for row in rows])
    print(json.dumps(total, indent=1))
    false = [{"capture": r["name"], "category": r["category"], "snr_db": r["snr_db"], **a}
             for r in records if not r["control"] for a in r["annotations"] if a["label"] in CELLULAR]  # fmt: skip
    seconds = {"build": round(t_build, 1), "annotate": round(t_annotate, 1), "total": round(t_build + t_annotate, 1)}
    print(f"build {seconds['build']} s, annotate {seconds['annotate']} s ({len(records)} captures)")
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    payload = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "settings": settings,
               "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "PYTHONPATH")}, "seconds": seconds,
               "totals": total, "table": rows, "false_labels": false, "captures": records}  # fmt: skip
    path = write_results(args.name, payload, args.results_dir)
    print(f"wrote {path}")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
