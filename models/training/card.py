"""Write models/<id>/card.json: the engine's contract (inputs, preprocessing, encoding, schedule, defaults) and
the model's documentation (training data and provenance, settings, validation results, speed).

  /usr/bin/python3 models/training/card.py --model wt-4seq [--validation eval/wt-4seq.json] [--speed speed.json]
"""
import argparse
import json
from pathlib import Path

import torch

import train
from readme_table import never_trained_on

HERE = Path(__file__).resolve().parent
PROVENANCE = {
    "BraTS2021_00006": "BraTS 2021 training set, via the public repository 1brahimmohamed/Brain-Tumor-Segmentation-GP (MIT); BraTS data terms apply",
    "BraTS2021_00495": "BraTS 2021 training set, via the public repository jacobtuxen/BRaTS_UNET (no licence stated); BraTS data terms apply",
    "BraTS20_Training_001": "BraTS 2020 training set, via the public repository HunorLaczko/IPCV-TRDP_BraTS_2020 (no licence stated); BraTS data terms apply",
    "Brats18": "BraTS 2018 training set, via the public repository koriavinash1/DeepBrainSeg (MIT); BraTS data terms apply",
    "slices-pt001": "BraTS 2020 slices shipped with JuliaWolleb/Diffusion-based-Segmentation, the paper's own code (MIT)",
    "Brats18-2mm": "BraTS 2018 training set, via the public repository koriavinash1/BioExp (MIT); BraTS data terms apply; stored at 2 mm in-plane",
    "BraTS19": "BraTS 2019 training set, via the public repository VoxLogicA-Project/VoxLogicA-UI (GPL-3.0); BraTS data terms apply; stored at 2 mm in-plane",
    "TCGA-LGG": "TCGA-LGG via TCIA, as the Kaggle LGG segmentation set (Buda et al. 2019) in the public repository TruongVanHien194276/Brain_Segmentation_data; TCIA data terms (CC BY 3.0); skull on, 8-bit, stored at 2x reduced in-plane",
}
CITATION = ("Menze et al., IEEE TMI 2015; Bakas et al., Sci Data 2017; Bakas et al., arXiv:1811.02629 (2018); "
            "Baid et al., arXiv:2107.02314 (2021). Method: Wolleb et al., MIDL 2022; Nichol & Dhariwal, ICML 2021.")
# The targets the project set for a model it calls good (validation patients, whole tumour): the paper's Table 1
# (Wolleb et al. 2022: ensemble 0.881, one sample 0.866, 34 of 1,082 slices empty) for a report by its protocol.
TARGETS = {"ensembleDice": 0.85, "varianceAuroc": 0.80, "falsePositiveCm2": 0.5}
PAPER_TARGETS = {"ensembleDice": 0.88, "singleDice": 0.86, "volumeDice3d": 0.88, "emptyShare": 0.03,
                 "varianceAuroc": 0.85, "falsePositiveCm2": 0.5}


def describe(split):
    out = []
    for kind, name in split:
        if kind == "lgg":
            out.append({"case": name, "site": train.LGG_PATIENTS[name][1], "source": PROVENANCE["TCGA-LGG"]})
            continue
        folder, site = train.PATIENTS_4SEQ.get(name, ("", None))
        key = ("Brats18-2mm" if "2mm" in folder else "Brats18") if name.startswith("Brats18_") else \
            "BraTS19" if name.startswith("BraTS19_") else name
        out.append({"case": name, "site": site, "source": PROVENANCE.get(key, "BraTS")})
    return out


def validated_on(validation, lgg) -> str:
    """The kinds of input the model was validated on, in one sentence (issue 23: the card says so)."""
    kinds = []
    if validation and validation.get("cases"):
        kinds.append(f"BraTS-preprocessed MR (skull-stripped, co-registered, resampled to 1 mm) of "
                     f"{len(validation['cases'])} patients")
    if lgg:
        m = lgg["mean"]
        kinds.append(f"skull-on clinical MR as a PACS holds it (TCGA lower-grade gliomas: 8-bit, 5 mm slices, the brain "
                     f"extracted by Halo) of {m['patients']} patients: ensemble Dice {m['ensemble']['dice']:.3f} per tumour "
                     f"slice with {lgg['ensemble']} samples, {m['falsePositiveCm2']:.2f} cm2 of false positives per tumour-free slice")
    said = "Validated on " + "; and on ".join(kinds) + "."
    return said if lgg else f"{said} Not validated on studies with the skull as a scanner writes them (Halo extracts the brain first)."


def lgg_report(model_id: str, given):
    """The skull-on LGG evaluation of this model (eval/lgg/<id>.json by default), if there is one."""
    path = Path(given) if given else HERE / "eval" / "lgg" / f"{model_id}.json"
    return json.loads(path.read_text()) if path.exists() else None


def with_validated_on(summary: str, sentence: str) -> str:
    """The summary ending in this "Validated on ..." sentence (an earlier one replaced)."""
    return f"{summary.split(' Validated on ')[0]} {sentence}"


def summarise(v, speed, steps):
    """The card's plain-language verdict, from the numbers of `halo evaluate` (never hand-written)."""
    if not v or "cases" not in v:
        return "not validated yet"
    if v.get("protocol") == "paper":
        return " ".join(paper_summary(v) + speed_and_caveat(speed, steps))
    m, cases = v["mean"], v["cases"]
    n = v["ensemble"]
    ens, single, base = m["ensemble"]["dice"], m["single"]["dice"], m["baseline"]["dice"]
    lo, hi = min(c["ensemble"]["dice"] for c in cases), max(c["ensemble"]["dice"] for c in cases)
    beats = sum(1 for c in cases if c["ensemble"]["dice"] > c["baseline"]["dice"])
    out = [f"On {len(cases)} held-out patients never trained on ({m['tumourSlices']} tumour slices): mean Dice "
           f"{ens:.3f} for an ensemble of {n} (per patient {lo:.3f} to {hi:.3f}), {single:.3f} for one sample "
           f"({'the ensemble is better' if ens > single else 'the ensemble is NOT better'}).",
           f"FLAIR-threshold baseline {base:.3f}: the model beats it on {beats} of {len(cases)} patients."]
    auc, fp = m.get("varianceAuroc"), m.get("falsePositiveCm2")
    if auc is not None:
        out.append(f"The variance flags wrong pixels with AUROC {auc:.2f}.")
    if fp is not None:
        out.append(f"False positives on tumour-free slices: {fp:.1f} cm2 per slice.")
    missed = [k for k, ok in (("ensemble Dice", ens >= TARGETS["ensembleDice"]),
                              ("variance AUROC", auc is not None and auc >= TARGETS["varianceAuroc"]),
                              ("false positives", fp is not None and fp <= TARGETS["falsePositiveCm2"]),
                              ("above the baseline on every patient", beats == len(cases))) if not ok]
    out.append("It meets the project's targets." if not missed else
               f"It does NOT yet meet the project's targets ({', '.join(missed)}): check every mask.")
    return " ".join(out + speed_and_caveat(speed, steps))


def paper_summary(v) -> list:
    """The verdict for a report by the paper's protocol (halo evaluate --protocol paper), against PAPER_TARGETS."""
    m, cases, n, p = v["mean"], v["cases"], v["ensemble"], v["mean"]["paper"]
    ens, single, base = m["ensemble"]["dice"], m["single"]["dice"], m["baseline"]["dice"]
    empty, slices = p["empty"]["ensemble"], m["tumourSlices"]
    vol = (p.get("volumeDice3d") or {}).get("ensemble")
    scored = [c for c in cases if c["ensemble"]["dice"] is not None]  # not a patient whose tumour misses 80-128
    lo, hi = min(c["ensemble"]["dice"] for c in scored), max(c["ensemble"]["dice"] for c in scored)
    above = sum(1 for c in scored if c["ensemble"]["dice"] > max(c["baseline"]["dice"], c["single"]["dice"]))
    out = [f"By the paper's protocol on {len(cases)} validation patients ({slices} tumour slices of axial "
           f"80-128): mean Dice {ens:.3f} for an ensemble of {n} (per patient {lo:.3f} to {hi:.3f}; "
           f"{p['nonEmpty']['ensemble']['dice']:.3f} without the {empty} empty slices), {single:.3f} for one sample; "
           f"the paper reports 0.881 and 0.866.",
           f"FLAIR-threshold baseline {base:.3f}; the ensemble beats both the baseline and one sample on {above} of "
           f"{len(scored)} patients with tumour in that range."]
    if vol is not None:
        out.append(f"Whole-volume 3D Dice {vol:.3f}.")
    earlier = train.TRAINED_EARLIER.get(v["model"]["id"], [])
    if earlier:
        u = never_trained_on(v)
        out.append(f"{len(earlier)} of these patients ({', '.join(earlier)}) were training patients of earlier weights "
                   f"this model continues from; on the {u['patients']} never trained on: ensemble Dice {u['ensemble']:.3f}, "
                   f"one sample {u['single']:.3f}"
                   + (f", whole-volume 3D Dice {u['volume']:.3f}." if u["volume"] is not None else "."))
    auc, fp = m.get("varianceAuroc"), m.get("falsePositiveCm2")
    if auc is not None:
        out.append(f"The variance flags wrong pixels with AUROC {auc:.2f}.")
    if fp is not None:
        out.append(f"False positives on tumour-free slices: {fp:.1f} cm2 per slice.")
    t = PAPER_TARGETS
    missed = [k for k, ok in (("ensemble Dice", ens >= t["ensembleDice"]), ("one-sample Dice", single >= t["singleDice"]),
                              ("whole-volume 3D Dice", vol is not None and vol >= t["volumeDice3d"]),
                              ("empty slices", slices and empty / slices <= t["emptyShare"]),
                              ("variance AUROC", auc is not None and auc >= t["varianceAuroc"]),
                              ("false positives", fp is not None and fp <= t["falsePositiveCm2"]),
                              ("above one sample and the baseline on every patient", above == len(scored))) if not ok]
    out.append("It meets the project's targets." if not missed else
               f"It does NOT yet meet the project's targets ({', '.join(missed)}): check every mask.")
    return out


def speed_and_caveat(speed, steps) -> list:
    out = []
    if speed:
        out.append(f"Default {steps} DDPM steps: the slice in view with an ensemble of 5 takes {speed.get('sliceInViewSeconds') or speed['sliceInView']['wallSeconds']} s "
                   f"on 2 CPU cores (budget 5 s).")
    out.append("A research prototype trained on CPU from few patients, not clinically validated: not for diagnosis.")
    return out


def checkpoint_choice(state: dict, validation) -> str:
    kind = (state.get("best") or {}).get("score_kind", "")
    if "paper range" in kind:
        sieve = ("validated EMA weights sieved by a quick validation (Dice minus 0.01 per cm2 of false positives, 20 DDPM "
                 "steps, ensemble 3, 8 tumour slices of axial 80-128 and 2 tumour-free slices per validation patient, "
                 f"{kind})")
    else:
        sieve = ("the EMA weights with the best quick validation (Dice minus 0.01 per cm2 of false positives, 20 DDPM "
                 "steps, ensemble 3, 6 slices per validation patient"
                 + ("; the mean of the volume's and each slice's crop box" if kind == "volume+slice boxes" else "") + ")")
    if (validation or {}).get("protocol") == "paper":
        sieve += "; shipped after beating the shipped model on halo evaluate --protocol paper (ship.sh)"
    return sieve


def lr_text(recipe: dict) -> str:
    schedule = recipe.get("lr_schedule") or [[0, recipe.get("lr")]]
    return ", then ".join(f"{lr:g}" + (f" from step {step:,}" if step else "") for step, lr in schedule)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--models-dir", default=str(train.MODELS), help="where models/<id>/card.json is written")
    ap.add_argument("--checkpoint", default="best.pt", help="in checkpoints/<model>/ (the one exported)")
    ap.add_argument("--validation", default=None, help="the JSON report of `halo evaluate` on the validation patients")
    ap.add_argument("--curve", default=None, help="evaluate.py's JSON, for its steps curve")
    ap.add_argument("--speed", default=None)
    ap.add_argument("--hardware", default="2 CPU cores (PyTorch 1.13), no GPU",
                    help="where the weights were trained, e.g. when a lent GPU trained the last steps")
    ap.add_argument("--steps", type=int, default=None, help="default sampling steps (chosen from the validation curve)")
    ap.add_argument("--sampler", default="ddpm")
    ap.add_argument("--crop-per", choices=["volume", "slice"], default=None,
                    help="the engine's crop box: the volume's (multiple of 32) or each slice's own (multiple of 16, for "
                         "a model trained on tight crops); default: the card's, else volume")
    ap.add_argument("--lgg", action="store_true", help="the model was trained with train.py --lgg")
    ap.add_argument("--lgg-validation", default=None,
                    help="its `halo evaluate` report on the skull-on LGG validation patients (default eval/lgg/<id>.json)")
    ap.add_argument("--ensemble-brain-extracted", type=int, default=None,
                    help="the default ensemble size on a study whose brain Halo extracts (defaults.ensembleBrainExtracted; "
                         "default: the shipped card's, else none: the same as on any study)")
    ap.add_argument("--refresh-validated-on", action="store_true",
                    help="only restate what the shipped card was validated on (no checkpoint needed) and exit; with "
                         "--validation, also take that report (of the shipped version) and restate the summary")
    args = ap.parse_args()
    lgg = lgg_report(args.model, args.lgg_validation)
    if args.refresh_validated_on:
        path = Path(args.models_dir) / args.model / "card.json"
        card = json.loads(path.read_text())
        if args.validation:  # e.g. the whole-volume run of a model shipped with NO_VOLUME=1
            report = json.loads(Path(args.validation).read_text())
            if report["model"] != {"id": card["id"], "version": card["version"]}:
                raise SystemExit(f"{args.validation} evaluates {report['model']}, not the shipped {card['id']} {card['version']}")
            card["validation"] = report
            card["summary"] = summarise(report, card.get("speed"), card["defaults"]["steps"])
        card["validatedOn"] = validated_on(card.get("validation"), lgg)
        if lgg and lgg["model"] != {"id": card["id"], "version": card["version"]}:
            raise SystemExit(f"the LGG report evaluates {lgg['model']}, not the shipped {card['id']} {card['version']}")
        card["validationSkullOn"] = lgg
        if args.ensemble_brain_extracted:
            card["defaults"]["ensembleBrainExtracted"] = args.ensemble_brain_extracted
        card["summary"] = with_validated_on(card["summary"], card["validatedOn"])
        path.write_text(json.dumps(card, indent=2) + "\n")
        print(f"wrote {path}")
        return
    if args.lgg:
        train.add_lgg(args.model)
    spec = train.DATASETS[args.model]
    ckpts = HERE / "checkpoints" / args.model
    state = torch.load(ckpts / args.checkpoint)
    recipe = state.get("recipe", {})
    neighbours = recipe.get("neighbours", 0)
    log = [json.loads(l) for l in (ckpts / "log.jsonl").read_text().splitlines() if l.strip() and "loss" in l]
    card_path = Path(args.models_dir) / args.model / "card.json"
    old = json.loads(card_path.read_text()) if card_path.exists() else {}
    validation = json.loads(Path(args.validation).read_text()) if args.validation else old.get("validation")
    speed = json.loads(Path(args.speed).read_text()) if args.speed else old.get("speed")
    curve = json.loads(Path(args.curve).read_text())["steps_curve"] if args.curve else old.get("stepsCurve")
    steps = args.steps or (old.get("defaults") or {}).get("steps") or 20
    skull_n = args.ensemble_brain_extracted or (old.get("defaults") or {}).get("ensembleBrainExtracted")
    crop_per = args.crop_per or (old.get("preprocessing") or {}).get("cropPer") or "volume"
    crop = ({"cropPer": "volume", "cropMultiple": 32,
             "crop": "bounding box of the brain over the whole volume on the model grid, centred in a box rounded up "
                     "to a multiple of 32; zero padding"} if crop_per == "volume" else
            {"cropPer": "slice", "cropMultiple": train.TIGHT_MULTIPLE,
             "crop": "bounding box of the brain in each slice on the model grid, centred in a box rounded up to a "
                     f"multiple of {train.TIGHT_MULTIPLE}; zero padding"})
    card = {
        "id": args.model,
        "version": args.version,
        "description": f"Whole-tumour (all BraTS labels > 0) mask diffusion model on {', '.join(spec['roles'])}; "
                       "implicit ensembles give the probability (mean) and uncertainty (variance).",
        "inputs": spec["roles"],
        "onnx": {"file": "model.onnx", "input": "x", "timestep": "t", "output": "out",
                 "layout": ("x: [B, 3*len(inputs)+1, H, W] = inputs in order, those of the slices neighboursMm below and "
                            "above, then the noisy mask" if neighbours else
                            "x: [B, len(inputs)+1, H, W] = inputs in order, then the noisy mask") + "; t: [B] timestep on the "
                           "0..T-1 scale; out: [B, 2, H, W] = eps, learned-variance interpolation v in [-1, 1]; "
                           "H, W multiples of 16"},
        "preprocessing": {
            "brainMask": "nonzero-in-any-input",
            "clipPercentiles": [1, 99],
            "scale": "clip to the percentiles of the brain voxels, map to [0, 1], 0 outside the brain (per volume)",
            "slicePlane": "the volume's k axis (axial for BraTS); rows = j, columns = i",
            "pixelSpacingMm": train.MODEL_SPACING,
            "resampling": "separable linear, pixel centres aligned (x_in = (x_out + 0.5) * s_out / s_in - 0.5), edges clamped",
            **crop,
            # train.py --neighbours N: the slices N mm below and above (train.neighbour_offset).
            **({"neighboursMm": float(neighbours)} if neighbours else {}),
        },
        "maskEncoding": {"x0FromMask": "2*m-1", "maskFromX0": "clip((x0 + 1) / 2, 0, 1)", "threshold": 0.5},
        "postprocessing": "each member mapped back to the source grid (bilinear) and set to 0 outside the brain mask; "
                          "mean, population variance and mask (mean > threshold) over the members",
        "schedule": {"kind": "linear", "T": train.T, "betaStart": 1e-4, "betaEnd": 0.02, "learnedSigma": True,
                     "prediction": "eps", "clipDenoised": True},
        "defaults": {"sampler": args.sampler, "steps": steps, "eta": 0.0, "ensemble": 5,
                     **({"ensembleBrainExtracted": skull_n} if skull_n else {})},
        "architecture": {"kind": "improved-diffusion U-Net (own implementation, models/training/unet.py)",
                         **state["config"], "parameters": sum(v.numel() for k, v in state["ema"].items())},
        "training": {
            "data": describe(spec["train"]),
            "validation": describe(spec["val"]),
            "split": f"by patient: the {len(spec['val'])} validation patients ("
                     f"{len({train.PATIENTS_4SEQ[n][1] for _, n in spec['val'] if n in train.PATIENTS_4SEQ})} sites) are never trained on"
                     + (f", except {', '.join(train.TRAINED_EARLIER[args.model])}: training patients of the earlier "
                        "weights this model continues from" if train.TRAINED_EARLIER.get(args.model) else ""),
            "iterations": state["step"],
            "startedFrom": recipe.get("origin"),
            "batch": recipe.get("batch"),
            "slices": "whole brain context: slices zero-padded to "
                      f"{recipe.get('pad')}x{recipe.get('pad')}, one random affine per sample (8 right-angle orientations, "
                      f"+-15 degrees, scale 0.9-1.1) cropping {recipe.get('crop')}x{recipe.get('crop')}"
                      + (f"; {recipe['tight']:.0%} of the batches cut instead to each slice's own brain box (multiple of "
                         f"{recipe.get('tight_multiple')}), as the engine's per-slice crop" if recipe.get("tight") else "")
                      + (f"; 2.5D: the sequences of the slices {neighbours} mm below and above after the "
                         "slice's own, changed alike by the intensity augmentation" if neighbours else "")
                      + (f"; {recipe['thick']:.0%} of the BraTS slices shown as a 5 mm slice shows them (the mean of "
                         f"{train.THICK_SLICES} 1 mm slices, normalised again)" if recipe.get("thick") else ""),
            "intensity": "per sequence inside the brain: gamma exp(U(-0.4, 0.4)), smooth multiplicative bias field "
                         "(4x4 control points, sd 0.15 in log), gain 0.9-1.1, shift +-0.05",
            "sampling": "every batch half slices with tumour, half tumour-free slices with brain"
                        + (f"; {recipe['small_tumour']:.0%} of the tumour half from slices with under "
                           f"{train.SMALL_TUMOUR_PX} tumour pixels" if recipe.get("small_tumour") else "")
                        + (f"; {recipe['lgg_share']:.0%} of each half from the skull-on LGG training patients"
                           if recipe.get("lgg_share") else ""),
            "optimizer": f"Adam, lr {lr_text(recipe)}, grad-norm clip 1.0", "ema": recipe.get("ema"), "weights": "EMA",
            "loss": "hybrid: MSE on eps + variational bound for the variance (improved-diffusion RESCALED_MSE)",
            "checkpointChoice": checkpoint_choice(state, validation),
            "bestQuickValidation": state.get("best"),
            "hardware": args.hardware,
            "finalLoss": log[-1] if log else None,
        },
        "validation": validation,
        "stepsCurve": curve,
        "validatedOn": validated_on(validation, lgg),
        "validationSkullOn": lgg,  # `halo evaluate --slices all` on the skull-on LGG validation patients (issue 23)
        "summary": with_validated_on(summarise(validation, speed, steps), validated_on(validation, lgg)),
        "speed": speed,
        "licence": "Model weights: MIT, like the project. Trained on BraTS data: research use; cite the BraTS papers.",
        "citation": CITATION,
    }
    card_path.parent.mkdir(parents=True, exist_ok=True)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {card_path}")


if __name__ == "__main__":
    main()
