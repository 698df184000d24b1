#!/usr/bin/env python3
"""Site calibration on decks no model has seen: the per-deck table of models/training/README.md.

For each deck: 200-odd healthy windows to calibrate on and 600 (beam) or 400 (main) others, half
on the damaged deck, to measure; `plateau tune` on the healthy ones, then `plateau eval
--sequence 12` on the measuring set with the shipped model and with what the tune left active
(the calibrated version when the gate accepted it, else the shipped model). A deck is

    beam:S   beam_deck.py --deck-seed S (finite elements; held out: never trained or tuned on)
    main:S   plateau simulate vibration --site-seed S --sites 1 (the training generator's kind)

Usage (from the repository root, after `mvn -B package -DskipTests`):

    /usr/bin/python3 models/training/calibration_table.py beam:301-308 main:51-58

Prints one Markdown row per deck as it goes and a summary of the issue's targets (window ROC AUC
>= 0.75; 12-window blocks: detection >= 0.90 at a block false-alarm rate <= 0.05). Needs numpy
for the beam decks; about 20 s a deck on two cores.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEQUENCE = 12


def decks(specs):
    for spec in specs:
        kind, _, seeds = spec.partition(":")
        if kind not in ("beam", "main") or not seeds:
            sys.exit(f"{spec}: expected beam:S, main:S or a range such as beam:301-308")
        low, _, high = seeds.partition("-")
        for seed in range(int(low), int(high or low) + 1):
            yield kind, seed


def generate(kind, seed, out, calibration, jar, minutes):
    if kind == "beam":
        args = ["--windows", str(12 * minutes), "--damaged-fraction", "0", "--seed", "5"] if calibration else \
            ["--windows", "600", "--damaged-fraction", "0.5", "--seed", "6"]
        cmd = [sys.executable, os.path.join(HERE, "beam_deck.py"), "--out", out, "--deck-seed", str(seed)] + args
    else:
        args = ["--windows", str(200 * minutes // 17), "--damaged-fraction", "0", "--seed", "5"] if calibration else \
            ["--windows", "400", "--damaged-fraction", "0.5", "--seed", "6"]
        cmd = ["java", "-jar", jar, "simulate", "vibration", "--out", out, "--site-seed", str(seed),
               "--sites", "1"] + args
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def evaluate(jar, bundle, data):
    out = subprocess.run(["java", "-jar", jar, "eval", "-m", bundle, "-d", data, "--sequence", str(SEQUENCE)],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    s = r["sequence"]
    return {"auc": r["roc_auc"], "fa": 1 - r["per_class"]["healthy"],
            "det": r["per_class"]["damaged"], "block_auc": s["roc_auc"], "block_fa": s["false_alarm_rate"],
            "block_det": s["detection_rate"]}


def figures(e):
    return (f"{e['auc']:.3f} / {e['fa']:.3f} / {e['det']:.3f} \\| "
            f"{e['block_auc']:.3f} / {e['block_fa']:.3f} / {e['block_det']:.3f}")


def meets(e):
    return e["auc"] >= 0.75 and e["block_det"] >= 0.90 and e["block_fa"] <= 0.05


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("decks", nargs="+", help="beam:S[-T] or main:S[-T]")
    p.add_argument("--jar", default="target/plateau.jar")
    p.add_argument("--model", default="models/bridge-vibration")
    p.add_argument("--keep", help="keep the generated sets and stores in this directory")
    p.add_argument("--minutes", type=int, default=17,
                   help="minutes of healthy calibration data (12 windows each; default 17: 204 beam, 200 main windows)")
    a = p.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="plateau-calibration-")
    print("| generator | deck | verdict | before: window AUC / false alarms / detection \\| block AUC / "
          "block false alarms / block detection | after |")
    print("|---|---|---|---|---|")
    held = []
    try:
        for kind, seed in decks(a.decks):
            base = os.path.join(work, f"{kind}-{seed}")
            cal, test, store = base + "-cal", base + "-test", base + "-store"
            for d in (cal, test, store):
                shutil.rmtree(d, ignore_errors=True)
            generate(kind, seed, cal, True, a.jar, a.minutes)
            generate(kind, seed, test, False, a.jar, a.minutes)
            tune = subprocess.run(["java", "-jar", a.jar, "tune", "-m", a.model, "-d", cal, "--store", store],
                                  capture_output=True, text=True)
            if tune.returncode not in (0, 3):
                sys.exit(f"{kind}:{seed}: plateau tune exit {tune.returncode}: {tune.stderr[-2000:]}")
            report = json.loads(tune.stdout)
            before = evaluate(a.jar, a.model, test)
            verdict = report["verdict"]
            if report["decision"] == "accepted":
                version = os.path.join(store, "models", report["model"], "versions", f"{report['version']:04d}")
                after = evaluate(a.jar, version, test)
                shown = figures(after)
            else:
                after = before
                shown = "(refused: shipped model stays)"
            held.append((kind, seed, meets(before), meets(after)))
            print(f"| {kind} | {seed} | {verdict} | {figures(before)} | {shown} |", flush=True)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    for kind in ("beam", "main"):
        rows = [h for h in held if h[0] == kind]
        if rows:
            print(f"\n{kind}: the targets hold on {sum(h[2] for h in rows)} of {len(rows)} decks before, "
                  f"{sum(h[3] for h in rows)} after calibration")


if __name__ == "__main__":
    main()
