"""The README's validation tables, written from `halo evaluate` reports (never typed by hand):

  /usr/bin/python3 models/training/readme_table.py models/training/eval/wt-4seq.json              # paper protocol
  /usr/bin/python3 models/training/readme_table.py --lgg models/training/eval/lgg/wt-flair-t1.json  # skull-on LGG

A test (tests/test_readme_table.py) checks that the README holds exactly these tables for the shipped reports.
"""
import argparse
import json
from pathlib import Path

from train import TRAINED_EARLIER

PAPER = "| the paper (BraTS2020, 1,082 slices) | | 0.866 | 0.881 | 34 (3 %) | | | | |"


def f3(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def paired(value, non_empty) -> str:
    """A Dice, and in brackets the Dice without the empty predictions, as the paper's Table 1 writes it."""
    return f3(value) + ("" if non_empty is None else f" ({f3(non_empty)})")


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def never_trained_on(report: dict) -> dict:
    """Means over the validation patients no weights of this model were ever trained on (TRAINED_EARLIER)."""
    earlier = set(TRAINED_EARLIER.get(report["model"]["id"], []))
    cases = [c for c in report["cases"] if c["case"] not in earlier]
    slices = [s for c in cases for s in c["paper"]["perSlice"]]
    return {
        "patients": len(cases), "tumourSlices": sum(c["tumourSlices"] for c in cases),
        "single": mean([c["single"]["dice"] for c in cases]), "ensemble": mean([c["ensemble"]["dice"] for c in cases]),
        "empty": sum(c["paper"]["empty"]["ensemble"] for c in cases),
        "volume": mean([(c.get("volumeDice3d") or {}).get("ensemble") for c in cases]),
        "volumeBaseline": mean([(c.get("volumeDice3d") or {}).get("baseline") for c in cases]),
        "auroc": mean([c["varianceAuroc"] for c in cases]), "fp": mean([c["falsePositiveCm2"] for c in cases]),
        "baseline": mean([c["baseline"]["dice"] for c in cases]),
        "pooledEnsemble": mean([s["dice"]["ensemble"] for s in slices]), "pooledSingle": mean([s["dice"]["single"] for s in slices]),
    }


def table(report: dict) -> str:
    m = report["model"]
    earlier = set(TRAINED_EARLIER.get(m["id"], []))
    head = (f"| `{m['id']}` {m['version']}, patient | tumour slices in 80-128 | Dice, 1 sample | Dice, ensemble of "
            f"{report['ensemble']} | empty | 3D Dice, whole volume | variance AUROC | false positives cm²/tumour-free "
            "slice | FLAIR-threshold baseline: Dice / 3D |")
    rows = [head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in sorted(report["cases"], key=lambda c: c["case"]):
        p, v = c["paper"], c.get("volumeDice3d") or {}
        n = c["tumourSlices"]
        name = c["case"] + (" (trained on earlier)" if c["case"] in earlier else "")
        if n == 0:
            rows.append(f"| {name} | 0 (tumour outside the range) | – | – | – | {f3(v.get('ensemble'))} | "
                        f"{c['varianceAuroc']:.2f} | {c['falsePositiveCm2']:.1f} | – / {f3(v.get('baseline'))} |")
            continue
        rows.append(f"| {name} | {n} | {f3(c['single']['dice'])} | {f3(c['ensemble']['dice'])} | "
                    f"{p['empty']['ensemble']} | {f3(v.get('ensemble'))} | {c['varianceAuroc']:.2f} | "
                    f"{c['falsePositiveCm2']:.1f} | {f3(c['baseline']['dice'])} / {f3(v.get('baseline'))} |")
    mean, mp = report["mean"], report["mean"]["paper"]
    slices, empty = mean["tumourSlices"], mp["empty"]["ensemble"]
    volume = mp.get("volumeDice3d") or {}
    rows.append(f"| **mean of patients** | {slices} | {paired(mean['single']['dice'], mp['nonEmpty']['single']['dice'])} | "
                f"**{f3(mean['ensemble']['dice'])}** ({f3(mp['nonEmpty']['ensemble']['dice'])}) | "
                f"{empty} ({100 * empty / slices:.1f} %) | **{f3(volume.get('ensemble'))}** | "
                f"**{mean['varianceAuroc']:.2f}** | **{mean['falsePositiveCm2']:.1f}** | "
                f"{f3(mean['baseline']['dice'])} / {f3(volume.get('baseline'))} |")
    pooled = mp["pooled"]
    rows.append(f"| **pooled over the {pooled['slices']} slices, as the paper's Table 1** | | "
                f"{paired(pooled['dice']['single'], pooled['nonEmptyDice']['single'])} | "
                f"**{f3(pooled['dice']['ensemble'])}** ({f3(pooled['nonEmptyDice']['ensemble'])}) | "
                f"{pooled['empty']['ensemble']} | | | | {f3(pooled['dice']['baseline'])} |")
    if earlier:
        u = never_trained_on(report)
        rows.append(f"| **mean of the {u['patients']} never trained on** | {u['tumourSlices']} | {f3(u['single'])} | "
                    f"**{f3(u['ensemble'])}** | {u['empty']} ({100 * u['empty'] / u['tumourSlices']:.1f} %) | "
                    f"**{f3(u['volume'])}** | **{u['auroc']:.2f}** | **{u['fp']:.1f}** | "
                    f"{f3(u['baseline'])} / {f3(u['volumeBaseline'])} |")
        rows.append(f"| **pooled over their {u['tumourSlices']} slices** | | {f3(u['pooledSingle'])} | "
                    f"**{f3(u['pooledEnsemble'])}** | | | | | |")
    rows.append(PAPER)
    return "\n".join(rows)


def lgg_table(report: dict) -> str:
    """Per skull-on LGG validation patient (every slice with brain): Dice per tumour slice, 3D Dice, AUROC, false
    positives per tumour-free slice, the FLAIR baseline inside the extracted brain, the tumour left outside it."""
    m = report["model"]
    rows = [f"| `{m['id']}` {m['version']}, patient | tumour / tumour-free slices | Dice, 1 sample | Dice, ensemble of "
            f"{report['ensemble']} | 3D Dice, whole volume | variance AUROC | false positives cm²/tumour-free slice | "
            "FLAIR-threshold baseline inside the extracted brain: Dice / 3D / false positives | tumour outside the brain |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in sorted(report["cases"], key=lambda c: c["case"]):
        v, b = c.get("volumeDice3d") or {}, c["baseline"]
        rows.append(f"| {c['case']} | {c['tumourSlices']} / {c['tumourFreeSlices']} | {f3(c['single']['dice'])} | "
                    f"{f3(c['ensemble']['dice'])} | {f3(v.get('ensemble'))} | {c['varianceAuroc']:.2f} | "
                    f"{c['falsePositiveCm2']:.1f} | {f3(b['dice'])} / {f3(v.get('baseline'))} / {b['falsePositiveCm2']:.1f} | "
                    f"{100 * c['tumourOutsideBrain']:.1f} % |")
    mean = report["mean"]
    v, b = mean.get("volumeDice3d") or {}, mean["baseline"]
    rows.append(f"| **mean of {mean['patients']}** | {mean['tumourSlices']} / {mean['tumourFreeSlices']} | "
                f"{f3(mean['single']['dice'])} | **{f3(mean['ensemble']['dice'])}** | **{f3(v.get('ensemble'))}** | "
                f"**{mean['varianceAuroc']:.2f}** | **{mean['falsePositiveCm2']:.1f}** | "
                f"{f3(b['dice'])} / {f3(v.get('baseline'))} / {b['falsePositiveCm2']:.1f} | "
                f"{100 * mean['tumourOutsideBrain']:.1f} % |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report", type=Path)
    ap.add_argument("--lgg", action="store_true", help="a skull-on LGG report (`halo evaluate --slices all`)")
    args = ap.parse_args()
    report = json.loads(args.report.read_text())
    print(lgg_table(report) if args.lgg else table(report))


if __name__ == "__main__":
    main()
