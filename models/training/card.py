"""Write models/<id>/card.json: the engine's contract (inputs, preprocessing, encoding, schedule, defaults) and
the model's documentation (training data and provenance, settings, validation results, speed).

  /usr/bin/python3 models/training/card.py --model wt-4seq [--validation eval/wt-4seq.json] [--speed speed.json]
"""
import argparse
import json
from pathlib import Path

import torch

import train

HERE = Path(__file__).resolve().parent
PROVENANCE = {
    "BraTS2021_00006": "BraTS 2021 training set, via the public repository 1brahimmohamed/Brain-Tumor-Segmentation-GP (MIT); BraTS data terms apply",
    "slices-pt001": "BraTS 2020 slices shipped with JuliaWolleb/Diffusion-based-Segmentation, the paper's own code (MIT)",
    "2018": "BraTS 2018 cases shipped with JeroenBertels/deepvoxnet2, demos/brats_2018 (LGPL-2.1); BraTS data terms apply",
}
CITATION = ("Menze et al., IEEE TMI 2015; Bakas et al., Sci Data 2017; Bakas et al., arXiv:1811.02629 (2018); "
            "Baid et al., arXiv:2107.02314 (2021). Method: Wolleb et al., MIDL 2022; Nichol & Dhariwal, ICML 2021.")


def describe(split):
    out = []
    for kind, name in split:
        key = name if kind != "2018" else "2018"
        out.append({"case": name if kind != "2018" else f"brats2018-flair-t1/{name}", "source": PROVENANCE[key]})
    return out


def summarise(v, speed, steps):
    """The card's plain-language verdict, from the numbers (never hand-written)."""
    if not v:
        return "not validated yet"
    single, ens, base = v["single"]["dice"], v["ensemble5"]["dice"], v["baseline"]["dice"]
    out = [f"On the held-out patient {v['patient']} ({v['ensemble5']['slices']} tumour slices): Dice {single:.3f} for one "
           f"sample, {ens:.3f} for an ensemble of 5 ({'better' if ens > single else 'NOT better'} than one sample)."]
    if ens >= base + 0.05:
        out.append(f"It beats the FLAIR-threshold baseline ({base:.3f}) by a wide margin.")
    elif ens > base:
        out.append(f"It beats the FLAIR-threshold baseline ({base:.3f}) only narrowly.")
    else:
        out.append(f"It does NOT beat the FLAIR-threshold baseline ({base:.3f}): treat its masks as unreliable; "
                   "it needs more training data (see models/training/README.md).")
    auc = v.get("uncertainty_auroc_wrong_pixels")
    if auc is not None:
        out.append(f"The variance flags wrong pixels inside the brain with AUROC {auc:.2f}.")
    if speed:
        out.append(f"Default {steps} DDPM steps: the slice in view with an ensemble of 5 takes {speed['sliceInViewSeconds']} s "
                   f"on 2 CPU cores (budget 5 s); more steps raise single-sample Dice and AUROC a little (steps_curve) but "
                   f"break the budget.")
    out.append("Validation is one patient: a research prototype, not clinically validated.")
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--validation", default=None)
    ap.add_argument("--speed", default=None)
    ap.add_argument("--steps", type=int, default=None, help="default sampling steps (chosen from the validation curve)")
    ap.add_argument("--sampler", default="ddpm")
    args = ap.parse_args()
    spec = train.DATASETS[args.model]
    state = torch.load(HERE / "checkpoints" / args.model / "last.pt")
    log = [json.loads(l) for l in (HERE / "checkpoints" / args.model / "log.jsonl").read_text().splitlines() if l.strip()]
    card_path = train.HERE.parent / args.model / "card.json"
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    validation = json.loads(Path(args.validation).read_text()) if args.validation else old.get("validation")
    speed = json.loads(Path(args.speed).read_text()) if args.speed else old.get("speed")
    steps = args.steps or (old.get("defaults") or {}).get("steps") or 20
    card = {
        "id": args.model,
        "version": args.version,
        "description": f"Whole-tumour (all BraTS labels > 0) mask diffusion model on {', '.join(spec['roles'])}; "
                       "implicit ensembles give the probability (mean) and uncertainty (variance).",
        "inputs": spec["roles"],
        "onnx": {"file": "model.onnx", "input": "x", "timestep": "t", "output": "out",
                 "layout": "x: [B, len(inputs)+1, H, W] = inputs in order, then the noisy mask; t: [B] timestep on the "
                           "0..T-1 scale; out: [B, 2, H, W] = eps, learned-variance interpolation v in [-1, 1]; "
                           "H, W multiples of 32"},
        "preprocessing": {
            "brainMask": "nonzero-in-any-input",
            "clipPercentiles": [1, 99],
            "scale": "clip to the percentiles of the brain voxels, map to [0, 1], 0 outside the brain (per volume)",
            "slicePlane": "the volume's k axis (axial for BraTS); rows = j, columns = i",
            "pixelSpacingMm": train.MODEL_SPACING,
            "resampling": "separable linear, pixel centres aligned (x_in = (x_out + 0.5) * s_out / s_in - 0.5), edges clamped",
            "cropMultiple": 32,
            "crop": "bounding box of the brain over the whole volume on the model grid, centred in a box rounded up to a multiple of 32; zero padding",
        },
        "maskEncoding": {"x0FromMask": "2*m-1", "maskFromX0": "clip((x0 + 1) / 2, 0, 1)", "threshold": 0.5},
        "postprocessing": "each member mapped back to the source grid (bilinear) and set to 0 outside the brain mask; "
                          "mean, population variance and mask (mean > threshold) over the members",
        "schedule": {"kind": "linear", "T": train.T, "betaStart": 1e-4, "betaEnd": 0.02, "learnedSigma": True,
                     "prediction": "eps", "clipDenoised": True},
        "defaults": {"sampler": args.sampler, "steps": steps, "eta": 0.0, "ensemble": 5},
        "architecture": {"kind": "improved-diffusion U-Net (own implementation, models/training/unet.py)",
                         **state["config"], "parameters": sum(v.numel() for k, v in state["ema"].items())},
        "training": {
            "data": describe(spec["train"]),
            "validation": describe(spec["val"]),
            "split": "by patient",
            "iterations": state["step"],
            "batch": 12,
            "crop": f"random {train.CROP}x{train.CROP} crops of the model-grid slices, random rot90/flip, +-5% intensity scaling",
            "sampling": "half of each batch from slices with tumour",
            "optimizer": "Adam, lr 2e-4, grad-norm clip 1.0", "ema": 0.998, "weights": "EMA",
            "loss": "hybrid: MSE on eps + variational bound for the variance (improved-diffusion RESCALED_MSE)",
            "hardware": "2 CPU cores (PyTorch 1.13), no GPU",
            "finalLoss": log[-1] if log else None,
        },
        "validation": validation,
        "summary": summarise(validation, speed, steps),
        "speed": speed,
        "licence": "Model weights: MIT, like the project. Trained on BraTS data: research use; cite the BraTS papers.",
        "citation": CITATION,
    }
    card_path.parent.mkdir(parents=True, exist_ok=True)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {card_path}")


if __name__ == "__main__":
    main()
