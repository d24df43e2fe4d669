"""Underfitting or overfitting? The ensemble's Dice by position in each patient's tumour, on training patients and
on the validation patients, side by side (model grid, each slice in its own crop box, 20 DDPM steps, ensemble 3).

  /usr/bin/python3 models/training/fit_check.py --model wt-4seq [--checkpoint checkpoints/wt-4seq-large/best.pt] [--paper]

If the training patients score no better than the validation ones, more data will not help much: the net does
not fit what it was shown. The positions run from the tumour's first slice (0) to its last (1), where the tumour
is small and faint: they pull the per-slice means of `halo evaluate` down. --paper adds, for the validation
patients, the ensemble of 5 on every tumour slice of the paper's range and 4 tumour-free slices (model grid): an
A/B of two checkpoints of a recipe the engine does not run yet (2.5D: a checkpoint trained with --neighbours).
"""
import argparse
import json

import numpy as np
import torch

import data
import diffusion
import train
from export import load_checkpoint
from onnx_weights import load_unet_from_onnx

POSITIONS = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
# Five training patients from five sites, against the five validation patients.
TRAINING = ["Brats18_2013_11_1", "Brats18_CBICA_ABM_1", "Brats18_TCIA01_201_1", "Brats18_TCIA10_628_1", "BraTS2021_00006"]


@torch.no_grad()
def dice_by_position(model, vol, n=3, steps=20, seed=0, own=None):
    area = vol.masks.reshape(len(vol.masks), -1).sum(1)
    first, last = np.flatnonzero(area)[[0, -1]]
    sampler = diffusion.make_sampler("ddpm", train.T, steps)
    gen = torch.Generator().manual_seed(seed)
    zs = [int(round(first + f * (last - first))) for f in POSITIONS]
    out = []
    for z, (cond, truth) in zip(zs, train._validation_inputs(vol, zs, tight=True, own=own)):
        pred, truth = train.ensemble_masks(model, sampler, cond, n, gen, own)[0], truth[0] > 0.5
        total = pred.sum() + truth.sum()
        out.append({"slice": z, "tumourPixels": int(area[z]), "dice": float(2 * (pred & truth).sum() / max(total, 1))})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="wt-4seq", help="its data; and its shipped weights unless --checkpoint")
    ap.add_argument("--checkpoint", default=None, help="a training checkpoint (EMA weights) instead")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--paper", action="store_true", help="also every tumour slice of the paper's range (validation)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_checkpoint(args.checkpoint) if args.checkpoint else load_unet_from_onnx(train.MODELS / args.model)
    neighbours = torch.load(args.checkpoint)["recipe"].get("neighbours", 0) if args.checkpoint else 0
    own = len(train.DATASETS[args.model]["roles"]) if neighbours else None

    def volume(name):
        vol = train.load_one(args.model, "brats", name)
        if neighbours:
            vol.cond = data.stack_neighbours(vol.cond, neighbours)
        return vol

    report = {}
    if args.paper:
        paper = train.quick_validation(model, [volume(n) for n in train.VALIDATION], train.VALIDATION, n=5,
                                       tight=True, own=own, slices=(1000, 4))
        for name, row in paper["patients"].items():
            print(f"paper      {name:22} Dice {row['dice']:.3f}  FP {row['fp_cm2']:.2f} cm2", flush=True)
        print(f"paper      {'mean':22} Dice {paper['dice']:.3f}  FP {paper['fp_cm2']:.2f} cm2", flush=True)
        report["paper"] = paper
    for group, names in (("training", TRAINING), ("validation", train.VALIDATION)):
        rows = {name: dice_by_position(model, volume(name), own=own) for name in names}
        for name, row in rows.items():
            print(f"{group:10} {name:22}", " ".join(f"{r['dice']:.2f}" for r in row), flush=True)
        means = np.array([[r["dice"] for r in row] for row in rows.values()]).mean(0)
        print(f"{group:10} {'mean by position':22}", " ".join(f"{d:.2f}" for d in means), f"overall {means.mean():.3f}")
        report[group] = {"patients": rows, "meanByPosition": dict(zip(map(str, POSITIONS), means.tolist()))}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
