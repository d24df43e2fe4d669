"""Dice against sampling steps, from `halo evaluate` reports of one model on the validation patients: the curve that
chooses the default steps (card.py --curve). Each report is one (steps, seed); the curve averages the seeds.

  for s in 15 20 25; do for seed in 0 1; do
    node bin/halo.mjs evaluate --cases <validation cases> --model wt-4seq --steps $s --seed $seed --slices all \
      --stride 8 --no-progress --out eval/steps-$s-$seed.json; done; done
  /usr/bin/python3 models/training/steps_curve.py eval/steps-*.json --out models/training/eval/wt-4seq-steps.json
"""
import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def curve(reports: list) -> dict:
    first = reports[0]
    for r in reports:
        if (r["model"], r["ensemble"], r["stride"], r["slices"]) != (first["model"], first["ensemble"], first["stride"], first["slices"]):
            raise SystemExit("the reports must share the model, ensemble, stride and slices")
    groups = defaultdict(list)
    for r in reports:
        groups[(r["sampler"]["kind"], r["sampler"]["steps"])].append(r)
    points = []
    for (kind, steps), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        m = lambda f: round(float(np.mean([f(r["mean"]) for r in rs])), 4)
        points.append({"sampler": kind, "steps": steps, "seeds": sorted(r["seed"] for r in rs),
                       "dice_single": m(lambda x: x["single"]["dice"]), "dice_ensemble5": m(lambda x: x["ensemble"]["dice"]),
                       "hd95_mm": m(lambda x: x["ensemble"]["hd95_mm"]), "auroc": m(lambda x: x["varianceAuroc"]),
                       "fp_cm2": m(lambda x: x["falsePositiveCm2"]),
                       # how much the seed moves the mean Dice: the noise any difference between points must beat
                       "dice_ensemble5_by_seed": [round(r["mean"]["ensemble"]["dice"], 4) for r in sorted(rs, key=lambda r: r["seed"])]})
    return {"steps_curve": {"model": first["model"], "patients": first["mean"]["patients"],
                            "tumourSlices": first["mean"]["tumourSlices"], "tumourFreeSlices": first["mean"]["tumourFreeSlices"],
                            "stride": first["stride"], "ensemble": first["ensemble"], "points": points}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reports", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    result = curve([json.loads(Path(p).read_text()) for p in args.reports])
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for p in result["steps_curve"]["points"]:
        print(f"{p['sampler']} {p['steps']:4d} steps, seeds {p['seeds']}: Dice 1 {p['dice_single']:.3f}, Dice 5 {p['dice_ensemble5']:.3f} "
              f"{p['dice_ensemble5_by_seed']}, HD95 {p['hd95_mm']:.1f} mm, AUROC {p['auroc']:.3f}, FP {p['fp_cm2']:.2f} cm2")


if __name__ == "__main__":
    main()
