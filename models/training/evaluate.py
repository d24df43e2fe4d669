"""Validate a trained model on its held-out patient (whole tumour, slices with tumour), the paper's way:
Dice / Jaccard / HD95 for one sample and for an ensemble of 5, empty predictions, the Dice-vs-steps curve
(respaced DDPM and DDIM), the uncertainty quality (AUROC of the variance for flagging wrong pixels inside the
brain), and a trivial baseline (FLAIR above a high brain percentile, the percentile tuned on the training data).

  /usr/bin/python3 models/training/evaluate.py --model wt-4seq --out models/training/eval/wt-4seq.json

Metrics are computed per slice on the original 1 mm grid (outputs mapped back as the app does) and averaged.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

import data
import diffusion
import train
from export import load_checkpoint

HERE = Path(__file__).resolve().parent


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2 * (a & b).sum() / s


def jaccard(a, b):
    u = (a | b).sum()
    return 1.0 if u == 0 else (a & b).sum() / u


def hd95(a, b, spacing=(1.0, 1.0)):
    """95th percentile symmetric surface distance (mm); None when either mask is empty."""
    if not a.any() or not b.any():
        return None
    sa = a & ~ndimage.binary_erosion(a)
    sb = b & ~ndimage.binary_erosion(b)
    da = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    db = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    return float(np.percentile(np.concatenate([da, db]), 95))


def auroc(scores, labels):
    """Area under the ROC curve (Mann-Whitney U, ties averaged)."""
    labels = labels.astype(bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return None
    ranks = _rankdata(scores)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _rankdata(x):
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def sample_members(model, vol, slices, kind, steps, n, seed, batch=40):
    """n members per slice on the source grid: [len(slices), n, rows, cols] in [0, 1]."""
    sampler = diffusion.make_sampler(kind, train.T, steps, 0.0)
    gen = torch.Generator().manual_seed(seed)
    items = [(z, m) for z in slices for m in range(n)]
    out = np.zeros((len(slices), n) + tuple(vol.source_shape), dtype=np.float32)
    for s in range(0, len(items), batch):
        chunk = items[s:s + batch]
        cond = torch.from_numpy(np.stack([vol.cond[z] for z, _ in chunk]))
        x0 = diffusion.sample(model, sampler, cond, generator=gen)
        masks = ((x0[:, 0].numpy() + 1) / 2).clip(0, 1)
        src = vol.to_source(masks)
        for (z, m), img in zip(chunk, src):
            out[slices.index(z), m] = img * vol.brain[z]  # as the engine does: 0 outside the brain
    return out


def score(members, gts, brains):
    """members [S, n, H, W]; returns the paper's rows for one sample (member 0) and the n-ensemble."""
    res = {}
    for name, preds in (("single", members[:, 0] > 0.5), (f"ensemble{members.shape[1]}", members.mean(1) > 0.5)):
        d = [dice(p, g) for p, g in zip(preds, gts)]
        j = [jaccard(p, g) for p, g in zip(preds, gts)]
        h = [hd95(p, g) for p, g in zip(preds, gts)]
        hv = [x for x in h if x is not None]
        res[name] = {"dice": float(np.mean(d)), "jaccard": float(np.mean(j)),
                     "hd95_mm": float(np.mean(hv)) if hv else None,
                     "empty_predictions": int(sum(1 for p in preds if not p.any())),
                     "slices": len(preds)}
    mean = members.mean(1)
    var = members.var(1)
    wrong = ((mean > 0.5) != gts)[brains]
    res["uncertainty_auroc_wrong_pixels"] = auroc(var[brains], wrong)
    res["wrong_pixel_fraction_in_brain"] = float(wrong.mean())
    return res


def flair_baseline(train_vols, val_vol, val_slices, roles):
    """Threshold FLAIR at the brain percentile that maximises Dice on the training patients."""
    fi = roles.index("FLAIR")

    def predict(vol, q, zs):
        flair = np.stack([vol.to_source(vol.cond[z, fi]) for z in zs])
        brain = np.stack([vol.to_source((vol.cond[z] != 0).any(0).astype(np.float32)) > 0.5 for z in zs])
        t = np.percentile(flair[brain], q) if brain.any() else 1.0
        return (flair > t) & brain

    best = None
    for q in (85, 88, 90, 92, 94, 96, 98):
        ds = []
        for v in train_vols:
            zs = [z for z in range(len(v.seg)) if v.seg[z].any()]
            pred = predict(v, q, zs)
            ds += [dice(p, g) for p, g in zip(pred, v.seg[zs])]
        if best is None or np.mean(ds) > best[1]:
            best = (q, float(np.mean(ds)))
    pred = predict(val_vol, best[0], val_slices)
    gts = val_vol.seg[val_slices]
    return {"method": f"FLAIR > its {best[0]}th brain percentile (percentile tuned on the training patients)",
            "dice": float(np.mean([dice(p, g) for p, g in zip(pred, gts)])),
            "jaccard": float(np.mean([jaccard(p, g) for p, g in zip(pred, gts)]))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--default-steps", type=int, default=20)
    ap.add_argument("--curve", default="ddpm:10,ddpm:20,ddpm:50,ddpm:100,ddpm:250,ddpm:1000,ddim:10,ddim:20,ddim:50")
    ap.add_argument("--curve-slices", type=int, default=8, help="tumour slices used for the steps curve")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = load_checkpoint(HERE / "checkpoints" / args.model / "last.pt")
    roles = train.DATASETS[args.model]["roles"]
    val = train.load_split(args.model, "val")[0]
    tumour = [z for z in range(len(val.seg)) if val.seg[z].any()]
    gts = val.seg[tumour]
    brains = val.brain[tumour]

    t0 = time.time()
    members = sample_members(model, val, tumour, "ddpm", args.default_steps, 5, seed=1)
    main_rows = score(members, gts, brains)
    print(json.dumps(main_rows), flush=True)

    sub = [tumour[i] for i in np.linspace(0, len(tumour) - 1, min(args.curve_slices, len(tumour))).round().astype(int)]
    sub = sorted(set(sub))
    sub_idx = [tumour.index(z) for z in sub]
    curve = []
    for spec in args.curve.split(","):
        kind, steps = spec.split(":")
        t1 = time.time()
        m = sample_members(model, val, sub, kind, int(steps), 5, seed=2)
        r = score(m, gts[sub_idx], brains[sub_idx])
        curve.append({"sampler": kind, "steps": int(steps), "dice_single": r["single"]["dice"],
                      "dice_ensemble5": r["ensemble5"]["dice"], "auroc": r["uncertainty_auroc_wrong_pixels"],
                      "seconds": round(time.time() - t1, 1)})
        print(json.dumps(curve[-1]), flush=True)

    baseline = flair_baseline(train.load_split(args.model, "train"), val, tumour, roles)
    result = {
        "patient": train.DATASETS[args.model]["val"][0][1],
        "task": "whole tumour (labels > 0), axial slices with tumour, per-slice metrics averaged, original 1 mm grid",
        "sampler": {"kind": "ddpm", "steps": args.default_steps},
        **main_rows,
        "baseline": baseline,
        "steps_curve": {"slices": len(sub), "ensemble": 5, "points": curve},
        "evaluated": time.strftime("%Y-%m-%d"),
        "seconds": round(time.time() - t0),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
