"""Train a mask-diffusion U-Net on BraTS slices, split by patient, with periodic validation on held-out patients.

  /usr/bin/python3 models/training/train.py --model wt-4seq --iters 40000 --resume

--resume continues from checkpoints/<model>/last.pt, or, when there is none (a new session: checkpoints are not in
git), from the weights of the shipped models/<model>/model.onnx. Every --val-every iterations the EMA model is
validated on the held-out patients (log.jsonl) and the best so far is kept as best.pt: ship that one.
"""
import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import brain
import data
import diffusion
from unet import UNet
from widen import widen

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent
# Small resume points committed to git (model + EMA weights, no optimiser state, ~9 MB): training carries over to
# a new machine, where checkpoints/ is gone. Written by `train.py --carry`.
RESUME = HERE / "resume"
T = 1000

# The 53 patients with all four sequences and an expert segmentation: id -> (folder under ../shared/data, site).
# The site (contributing institution, or release where the institution is not named) lets the validation span
# institutions. brats-train-2mm holds its patients at 2 x 2 mm in-plane (the model's own grid): they only train.
_BRATS18 = ["2013_11", "2013_20", "2013_23", "CBICA_ABM", "CBICA_ALU", "CBICA_AME", "CBICA_AQN", "TCIA01_201",
            "TCIA01_378", "TCIA01_425", "TCIA01_499", "TCIA02_135", "TCIA02_370", "TCIA02_606", "TCIA03_265",
            "TCIA10_628", "TCIA10_637", "TCIA13_623"]
_BRATS18_2MM = [f"CBICA_{x}" for x in ("AMH AOP AOZ APR APY APZ AQO AQP AQQ AQR AQT ARW ARZ ASA ASE ASG ASV ASW "
                                        "ASY ATB ATD").split()]
_BRATS19_2MM = [f"CBICA_{x}" for x in ("AAG", "AAL", "AAP", "ABB")] + [f"TCIA01_{x}" for x in (131, 147, 150, 180, 186, 190, 203)]
PATIENTS_4SEQ = {
    "BraTS2021_00006": ("brats/BraTS2021_00006", "BraTS2021"),
    "BraTS2021_00495": ("brats-train/BraTS2021_00495", "BraTS2021"),
    "BraTS20_Training_001": ("brats-train/BraTS20_Training_001", "BraTS2020"),
    **{f"Brats18_{x}_1": (f"brats-train/Brats18_{x}_1", x.rsplit("_", 1)[0]) for x in _BRATS18},
    **{f"Brats18_{x}_1": (f"brats-train-2mm/Brats18_{x}_1", x.rsplit("_", 1)[0]) for x in _BRATS18_2MM},
    **{f"BraTS19_{x}_1": (f"brats-train-2mm/BraTS19_{x}_1", x.rsplit("_", 1)[0]) for x in _BRATS19_2MM},
}
# The validation patients: eight from six sites, all at 1 mm (Dice on the original grid), trained on by no model
# from now on. The first five were the validation set of every model up to wt-4seq 0.5.0 and were never trained on.
VALIDATION = ["Brats18_2013_20_1", "Brats18_CBICA_ALU_1", "Brats18_TCIA01_425_1", "Brats18_TCIA10_637_1",
              "BraTS2021_00495", "Brats18_2013_23_1", "Brats18_CBICA_AME_1", "Brats18_TCIA02_370_1"]
# ...but the last three were training patients of wt-4seq up to step 26,000 and of wt-flair-t1 0.3.0, and every
# later version continues from those weights: on them its numbers flatter it. Cards and the README report the
# never-trained-on five apart.
TRAINED_EARLIER = {m: ["Brats18_2013_23_1", "Brats18_CBICA_AME_1", "Brats18_TCIA02_370_1"] for m in ("wt-4seq", "wt-flair-t1")}
TRAIN_4SEQ = [p for p in PATIENTS_4SEQ if p not in VALIDATION]

DATASETS = {
    "wt-4seq": {
        "roles": ["T1", "T1ce", "T2", "FLAIR"],
        "train": [("brats", p) for p in TRAIN_4SEQ],
        "val": [("brats", p) for p in VALIDATION],
    },
    "wt-flair-t1": {
        "roles": ["FLAIR", "T1"],
        "train": [("brats", p) for p in TRAIN_4SEQ],
        "val": [("brats", p) for p in VALIDATION],
    },
}
# The capacity comparison: wt-4seq's data and inputs, twice the base channels (started by widening wt-4seq).
DATASETS["wt-4seq-large"] = DATASETS["wt-4seq"]

# Skull-on clinical input: the TCGA lower-grade gliomas of skull-on/lgg (FLAIR, T1, T1ce, no T2; 8-bit, 1.875 x
# 1.875 x 5 mm, with the skull), prepared as the engine prepares a study with the skull (brain extracted from the
# FLAIR: data.load_case(detect_skull=True)). TCGA_DU_7013 has no T1 and is left out. Split by patient: in each
# site (the TCGA code's institution), every third patient in name order from the second is held out for
# validation, 8 of 23; `halo evaluate --patients` scores these (models/training/README.md has the command).
LGG_PATIENTS = {p: ("skull-on/lgg/" + p, "TCGA_" + p.split("_")[1]) for p in (
    "TCGA_CS_4942_19970222 TCGA_CS_5393_19990606 TCGA_CS_5397_20010315 TCGA_CS_6290_20000917 TCGA_CS_6667_20011105 "
    "TCGA_DU_5849_19950405 TCGA_DU_5853_19950823 TCGA_DU_5871_19941206 TCGA_DU_6399_19830416 TCGA_DU_6404_19850629 "
    "TCGA_DU_6408_19860521 TCGA_DU_7019_19940908 TCGA_DU_7299_19910417 TCGA_DU_7302_19911203 TCGA_DU_7309_19960831 "
    "TCGA_DU_8164_19970111 TCGA_DU_8167_19970402 TCGA_DU_A5TR_19970726 TCGA_DU_A5TU_19980312 TCGA_EZ_7264_20010816 "
    "TCGA_FG_6688_20020215 TCGA_FG_6691_20020405 TCGA_FG_7637_20000922").split()}
LGG_VALIDATION = ["TCGA_CS_5393_19990606", "TCGA_CS_6667_20011105", "TCGA_DU_5853_19950823", "TCGA_DU_6404_19850629",
                  "TCGA_DU_7299_19910417", "TCGA_DU_8164_19970111", "TCGA_DU_A5TU_19980312", "TCGA_FG_6691_20020405"]
LGG_TRAIN = [p for p in LGG_PATIENTS if p not in LGG_VALIDATION]
LGG_SEQUENCES = {"FLAIR", "T1", "T1ce"}


def carried_point(state: dict) -> dict:
    """What is committed to carry training to the next session: weights and EMA in half precision (half the bytes
    of the tree that travels to the GPU machine with the data pack; load_state_dict makes them float again), no
    optimiser state."""
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    return {**{k: v for k, v in state.items() if k != "opt"}, "model": half(state["model"]), "ema": half(state["ema"])}


def add_lgg(model_id: str) -> None:
    """Train and validate on the skull-on LGG patients too (--lgg), beside the model's BraTS patients."""
    spec = DATASETS[model_id]
    if not set(spec["roles"]) <= LGG_SEQUENCES:
        raise SystemExit(f"--lgg: {model_id} needs {', '.join(spec['roles'])}, and the LGG patients have only "
                         f"{', '.join(sorted(LGG_SEQUENCES))} (no T2): use it with wt-flair-t1")
    DATASETS[model_id] = {**spec, "train": spec["train"] + [("lgg", p) for p in LGG_TRAIN],
                          "val": spec["val"] + [("lgg", p) for p in LGG_VALIDATION]}


MODEL_SPACING = 2.0
ARCH = dict(model_channels=16, channel_mult=(1, 2, 4, 4), num_res_blocks=1, attention_levels=(3,), heads=4)
# Whole-brain context: slices are padded to PAD x PAD and the training crop (CROP x CROP after a random
# rotation/scaling) holds most of a BraTS brain at 2 mm (about 70 x 85 pixels).
PAD, CROP = 128, 96
# Tight crops: a share of the batches is cut to each slice's own brain box rounded up to TIGHT_MULTIPLE, as the
# engine does for a card with preprocessing.cropPer "slice" (about half the whole volume's sampling time), so that
# the net sees the brain touching the window's edges as well as inside a margin of zeros.
TIGHT_MULTIPLE = 16
# A tumour slice with fewer pixels than this on the model grid (8 cm² at 2 mm) is "small": a quarter of them.
SMALL_TUMOUR_PX = 200
# --thick: BraTS's 1 mm slices in a 5 mm slab, the thickness of the clinical axial series (skull-on/lgg's).
THICK_SLICES = 5
# Slice thickness by kind of patient where it is not BraTS's 1 mm: the LGG series' headers say 1.875 x 1.875 x 5 mm.
SLICE_MM = {"lgg": 5.0}


def use_brats_root(model_id: str, root: Path, val_fraction: float) -> None:
    """Train on every labelled case of a full BraTS download instead (split by patient, last cases held out)."""
    cases = sorted(p.name for p in Path(root).iterdir() if p.is_dir() and any("seg" in f.name for f in p.iterdir()))
    if not cases:
        raise SystemExit(f"no labelled BraTS case folders in {root}")
    n_val = max(1, int(len(cases) * val_fraction))
    DATASETS[model_id] = {**DATASETS[model_id], "root": Path(root),
                          "train": [("root", c) for c in cases[:-n_val]], "val": [("root", c) for c in cases[-n_val:]]}


def first_of_each_kind(split: list, n: int) -> list:
    """The first n patients of each kind (BraTS, LGG...) of a split, in order: a quick run sees every kind."""
    seen = {}
    return [(kind, name) for kind, name in split if seen.setdefault(kind, []).append(name) or len(seen[kind]) <= n]


def load_one(model_id: str, kind: str, name: str) -> data.PreparedVolume:
    spec = DATASETS[model_id]
    roles = spec["roles"]
    if kind == "root":
        return data.load_case(spec["root"] / name, roles, MODEL_SPACING)
    key = f"v1-{kind}-{name}-{'-'.join(roles)}-{MODEL_SPACING}"
    if kind == "brats":
        return data.cached(key, lambda: data.load_case(data.DATA / PATIENTS_4SEQ[name][0], roles, MODEL_SPACING))
    if kind == "slices":
        return data.load_slices_pt001(roles, MODEL_SPACING)
    if kind == "lgg":  # skull-on: the extracted brain is part of what is cached
        return data.cached(f"{key}-brain{brain.VERSION}", lambda: data.load_case(data.DATA / LGG_PATIENTS[name][0], roles, MODEL_SPACING,
                                                       detect_skull=True))
    raise ValueError(kind)


def load_split(model_id: str, split: str) -> list:
    return [load_one(model_id, kind, name) for kind, name in DATASETS[model_id][split]]


def build_model(model_id: str, channels: int = ARCH["model_channels"], neighbours: int = 0) -> UNet:
    slices = 3 if neighbours else 1
    return UNet(in_channels=slices * len(DATASETS[model_id]["roles"]) + 1, **{**ARCH, "model_channels": channels})


def add_neighbour_inputs(model: UNet, sequences: int) -> UNet:
    """The same net with 2.5D inputs (the neighbours' sequences after the slice's own, then the noisy mask). Their
    weights start at 0, so it computes exactly what `model` does until training teaches it to use them."""
    wide = UNet(**{**model.config, "in_channels": 3 * sequences + 1})
    sd = model.state_dict()
    w = sd["input_conv.weight"]
    new = torch.zeros(w.shape[0], 3 * sequences + 1, *w.shape[2:], dtype=w.dtype)
    new[:, :sequences], new[:, -1] = w[:, :sequences], w[:, -1]
    wide.load_state_dict({**sd, "input_conv.weight": new})
    return wide


# ---- augmentation ----------------------------------------------------------------------------------------------

def _uniform(gen, shape, lo, hi):
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


def augment(cond, x0, gen, crop=CROP, slices=1):
    """One random affine per sample (any of the 8 right-angle orientations, +-15 degrees, scale 0.9-1.1, a random
    crop position) and random intensity changes per sequence inside the brain: gamma, a smooth multiplicative bias
    field, scale and shift. Outside the brain stays 0, as in the engine's preprocessing.
    slices: how many slices' sequences the channels hold (3 for 2.5D input: the slice, then its neighbours); a
    sequence changes alike in all of them, and each slice keeps its own brain."""
    b, c, h, w = cond.shape
    seq = c // slices
    angle = torch.randint(0, 4, (b,), generator=gen) * (math.pi / 2) + _uniform(gen, (b,), -1, 1) * math.radians(15)
    scale = _uniform(gen, (b,), 0.9, 1.1) * crop / h
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    shift = _uniform(gen, (b, 2), -1, 1) * (1 - crop / h)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1).to(cond)
    grid = F.affine_grid(theta, (b, c, crop, crop), align_corners=False)
    brain = (cond.reshape(b, slices, seq, h, w) > 0).any(2).to(cond)  # [b, slices, h, w]
    warped = F.grid_sample(torch.cat([cond, x0, brain], 1), grid, mode="bilinear", padding_mode="zeros",
                           align_corners=False)
    cond, x0, brain = warped[:, :c], warped[:, c:c + 1], (warped[:, c + 1:] > 0.5).to(cond)
    x0 = torch.where(x0 > 0, 1.0, -1.0).to(cond)  # the mask stays binary in {-1, 1}
    brain = brain.repeat_interleave(seq, dim=1)  # each channel: its own slice's brain

    tile = lambda a: a.repeat(1, slices, 1, 1)  # one draw per sequence, the same in every slice
    gamma = tile(torch.exp(_uniform(gen, (b, seq, 1, 1), -0.4, 0.4)).to(cond))
    field = tile(F.interpolate(torch.randn(b, seq, 4, 4, generator=gen).to(cond) * 0.15, size=(crop, crop),
                               mode="bicubic", align_corners=False).exp())
    gain = tile(_uniform(gen, (b, seq, 1, 1), 0.9, 1.1).to(cond))
    offset = tile(_uniform(gen, (b, seq, 1, 1), -0.05, 0.05).to(cond))
    cond = (cond.clamp(0, 1) ** gamma * field * gain + offset).clamp(0, 1) * brain
    return cond, x0


def _shift_crop(a, r0, c0, rows, cols):
    """a[..., r0:r0+rows, c0:c0+cols] with zeros where the window leaves a (the engine's crop)."""
    padded = F.pad(a, (cols, cols, rows, rows))
    return padded[..., r0 + rows:r0 + 2 * rows, c0 + cols:c0 + 2 * cols]


def tight_crop(cond, x0, multiple=TIGHT_MULTIPLE, groups=2, own=None):
    """Cut each sample to its own brain box rounded up to `multiple` (data.crop_box, the engine's per-slice box).
    A call needs one shape, so the samples are sorted by box area into `groups` groups and each group takes its
    largest box (smaller brains in it keep a margin of zeros). Returns a list of (cond, x0, share of the batch).
    own: how many of the channels are the slice's own sequences (the rest, its neighbours'); None: all."""
    brain = (cond[:, :own] > 0).any(1).cpu().numpy()
    h, w = brain.shape[-2:]
    boxes = [data.crop_box(b, multiple) if b.any() else ((h - multiple) // 2, (w - multiple) // 2, multiple, multiple)
             for b in brain]
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][2] * boxes[i][3])
    out = []
    for part in np.array_split(order, groups):
        if not len(part):
            continue
        rows, cols = max(boxes[i][2] for i in part), max(boxes[i][3] for i in part)
        cs, ms = [], []
        for i in part:
            r0, c0, sr, sc = boxes[i]
            r0, c0 = r0 - (rows - sr) // 2, c0 - (cols - sc) // 2
            cs.append(_shift_crop(cond[i], r0, c0, rows, cols))
            ms.append(_shift_crop(x0[i] + 1, r0, c0, rows, cols) - 1)  # the mask's background is -1
        out.append((torch.stack(cs), torch.stack(ms), len(part) / len(boxes)))
    return out


# ---- validation on the held-out patients ------------------------------------------------------------------------

def validation_slices(vol, n_tumour=8, n_free=2):
    """Evenly spaced slices with tumour in the paper's axial range (data.PAPER_SLICES; all tumour slices for a
    volume that has none there) and tumour-free slices with brain (model grid), for a quick check. n_free None: every
    tumour-free slice."""
    has_t = vol.masks.reshape(len(vol.masks), -1).any(1)
    tumour, free = np.flatnonzero(has_t), np.flatnonzero(~has_t & vol.has_brain)
    lo, hi = data.PAPER_SLICES
    in_range = tumour[(tumour >= lo) & (tumour <= hi)]
    tumour = in_range if len(in_range) else tumour
    pick = lambda zs, n: [] if not len(zs) else sorted(set(zs[np.linspace(0, len(zs) - 1, n).round().astype(int)]))
    return pick(tumour, n_tumour), [int(z) for z in free] if n_free is None else pick(free, n_free)


def free_slices_checked(name: str, n_free: int = 2):
    """How many tumour-free slices the quick validation checks of a patient: all of an LGG patient's (a 5 mm series
    has a dozen or so, and the skull-on false positives live there: two evenly spaced ones caught none), else n_free."""
    return None if name in LGG_PATIENTS else n_free


def _validation_inputs(vol, zs, tight, own=None):
    """Model inputs and masks of slices zs: in the volume's box, or (tight) each cut to its own brain box (found
    from the input's non-zero pixels, which the volume's box holds: works for packed volumes too; own: how many
    channels are the slice's own sequences, None: all)."""
    if not tight:
        return [(vol.cond[zs], vol.masks[zs])]
    boxes = [data.crop_box((vol.cond[z, :own] != 0).any(0), TIGHT_MULTIPLE) for z in zs]
    return [(data.crop(vol.cond[z], box)[None], data.crop(vol.masks[z], box)[None]) for z, box in zip(zs, boxes)]


@torch.no_grad()
def ensemble_masks(model, sampler, cond_np, n, gen, own=None):
    """The n-ensemble's mask (mean > 0.5) of each input in cond_np [N, C, H, W], set to 0 outside the brain as the
    engine does with every member (the slice's own brain: its first `own` channels; None: all)."""
    dev = next(model.parameters()).device
    cond = torch.from_numpy(np.repeat(cond_np, n, axis=0)).to(dev)
    x = diffusion.sample(model, sampler, cond, generator=gen)[:, 0].cpu().numpy()
    mean = ((x + 1) / 2).clip(0, 1).reshape(len(cond_np), n, *x.shape[1:]).mean(1)
    return (mean > 0.5) & (cond_np[:, :own] != 0).any(1)


@torch.no_grad()
def quick_validation(model, vols, names, steps=20, n=3, seed=0, tight=False, own=None, slices=(8, 2)):
    """Per patient: mean Dice of the n-ensemble on tumour slices, and false-positive area (cm^2 per slice) on
    tumour-free slices, on the model grid. A cheap proxy of evaluate.py for choosing the best checkpoint.
    tight: each slice in its own crop box (cropPer "slice") instead of the volume's. slices: how many tumour and
    tumour-free slices of each patient (evenly spaced; more than there are: all of them)."""
    sampler = diffusion.make_sampler("ddpm", T, steps)
    gen = torch.Generator().manual_seed(seed)  # noise drawn on the CPU: the same samples on any device
    out = {}
    for vol, name in zip(vols, names):
        tumour, free = validation_slices(vol, slices[0], free_slices_checked(name, slices[1]))
        preds, gts = [], []
        for cond_np, gt_np in _validation_inputs(vol, tumour + free, tight, own):
            preds += list(ensemble_masks(model, sampler, cond_np, n, gen, own))
            gts += list(gt_np > 0.5)
        dices = [2 * (p & g).sum() / max(p.sum() + g.sum(), 1) for p, g in zip(preds[:len(tumour)], gts[:len(tumour)])]
        fp_cm2 = [p.sum() * MODEL_SPACING ** 2 / 100 for p in preds[len(tumour):]]
        out[name] = {"dice": float(np.mean(dices)) if dices else None, "fp_cm2": float(np.mean(fp_cm2)) if fp_cm2 else 0.0}
    dice = float(np.mean([v["dice"] for v in out.values() if v["dice"] is not None]))
    fp = float(np.mean([v["fp_cm2"] for v in out.values()]))
    # One number to rank checkpoints: Dice, minus 0.01 per cm^2 of false positives on tumour-free slices.
    return {"dice": dice, "fp_cm2": fp, "score": dice - 0.01 * fp, "patients": out}


def score_kind(tight: float) -> str:
    return "slice box, paper range" if tight else "volume box, paper range"


def validate(model, vols, names, tight: float, own=None) -> dict:
    """The quick validation in each slice's own crop box (a model trained on tight crops: the shipped cards use
    cropPer "slice"), else in the volume's. Only a first sieve: ship.sh chooses among the saved checkpoints by
    `halo evaluate --protocol paper`."""
    return {**quick_validation(model, vols, names, tight=bool(tight), own=own), "score_kind": score_kind(tight)}


# ---- training --------------------------------------------------------------------------------------------------

def lgg_slice_flags(train_spec: list, prepared: list) -> np.ndarray:
    """Which of data.training_slices' slices are an LGG patient's (it keeps each patient's slices with brain, in
    order); pack_data.py stores them so that --lgg-share works from a pack too."""
    flags = [np.full(int(p.has_brain.sum()), kind == "lgg") for (kind, _), p in zip(train_spec, prepared)]
    return np.concatenate(flags) if flags else np.zeros(0, bool)


def neighbour_offset(kind: str, neighbours_mm: int) -> int:
    """How many slices away a patient's 2.5D neighbours are: --neighbours is in mm (the card's neighboursMm), which
    is that many of BraTS's 1 mm slices and a fifth as many of an LGG series' 5 mm ones."""
    offset = neighbours_mm / SLICE_MM.get(kind, 1.0)
    if neighbours_mm and (offset < 1 or offset != int(offset)):
        raise SystemExit(f"--neighbours {neighbours_mm}: the {kind} patients' slices are {SLICE_MM[kind]:g} mm thick; "
                         "pass a whole number of them")
    return int(offset)


def add_neighbours(split: list, prepared: list, neighbours_mm: int) -> None:
    """2.5D input (--neighbours): each patient's slices with those neighbours_mm below and above."""
    for (kind, _), p in zip(split, prepared if neighbours_mm else []):
        p.cond = data.stack_neighbours(p.cond, neighbour_offset(kind, neighbours_mm))


def thick_slices(train_spec: list, prepared: list, neighbours_mm: int = 0) -> np.ndarray:
    """data.training_slices' slices as a 5 mm slab shows them (--thick): the BraTS patients' slabs, the LGG
    patients' own slices (5 mm already); with --neighbours, each slab's neighbours are the slabs that far away (a
    5 mm series' adjacent slices for 5 mm). `prepared` holds the slices alone, before add_neighbours."""
    slabbed = []
    for (kind, _), p in zip(train_spec, prepared):
        p = copy.copy(p)
        if kind != "lgg":
            p.cond = data.thick_slabs(p.cond, THICK_SLICES)
        slabbed.append(p)
    add_neighbours(train_spec, slabbed, neighbours_mm)
    return data.training_slices(slabbed, min_size=PAD)[0]


def pool_counts(counts: list, lgg_share: float, lgg_free_share: float = None) -> list:
    """How many slices to draw from each pool: `counts` for (tumour, tumour-free), each split into (BraTS, LGG)
    when lgg_share > 0 (the pools then come in that order); the tumour-free half by lgg_free_share where given."""
    if not lgg_share:
        return counts
    shares = (lgg_share, lgg_share if lgg_free_share is None else lgg_free_share)
    return [n for c, share in zip(counts, shares) for n in (c - int(c * share + 0.5), int(c * share + 0.5))]


def initial_weights(model_id: str, dev):
    """The shipped model's weights and its training iterations, read back from models/<id>/model.onnx."""
    from onnx_weights import load_unet_from_onnx
    folder = MODELS / model_id
    if not (folder / "card.json").exists():
        raise SystemExit(f"{model_id} is not shipped (no {folder / 'card.json'}) and has no checkpoint to resume: start it "
                         "with --init-from <a shipped model> (and --channels twice its own to widen it)")
    card = json.loads((folder / "card.json").read_text())
    return load_unet_from_onnx(folder).to(dev), int(card.get("training", {}).get("iterations", 0)), card.get("version")


def transfer_weights(model: UNet, source: dict, source_roles: list, roles: list) -> None:
    """Start `model` from another model's weights (state dict `source`): every tensor is copied; the input
    convolution keeps the source's columns of the same sequences, by role, and of the noisy mask (the last input).
    With the sequences it lacks set to 0, the source model computes exactly what the new one does at the start."""
    own = model.state_dict()
    cols = [source_roles.index(r) for r in roles] + [len(source_roles)]
    for k, v in source.items():
        v = v[:, cols] if k == "input_conv.weight" else v
        if k not in own or own[k].shape != v.shape:
            raise SystemExit(f"--init-from: {k} does not fit ({tuple(v.shape)} vs {tuple(own[k].shape) if k in own else 'absent'}); "
                             "the two models must share the architecture")
        own[k] = v.clone()
    model.load_state_dict(own)


def save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(DATASETS))
    ap.add_argument("--iters", type=int, default=40000, help="total iterations to reach (counting earlier sessions)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--val-every", type=int, default=1000, help="0: never")
    ap.add_argument("--resume", action="store_true",
                    help="continue from checkpoints/<model>/last.pt, or from the shipped model.onnx when there is none")
    ap.add_argument("--out", default=str(HERE / "checkpoints"))
    ap.add_argument("--brats-root", default=None, help="a full BraTS download (case folders with *_seg): train on all of it")
    ap.add_argument("--lgg", action="store_true",
                    help="add the skull-on LGG training patients (and their validation patients) to the model's BraTS ones")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--carry", action="store_true",
                    help="only write resume/<model>.pt from checkpoints/<model>/last.pt (to commit) and exit")
    ap.add_argument("--resume-dir", default=str(RESUME), help="where --carry writes and --resume looks for a carried point")
    ap.add_argument("--max-seconds", type=float, default=0, help="stop (and save) after this much wall time; 0: no limit")
    ap.add_argument("--data", default=None, help="train from a pack made by pack_data.py instead of ../shared/data")
    ap.add_argument("--cases", type=int, default=0, help="use only the first N training and validation patients of each kind (quick tests)")
    ap.add_argument("--channels", type=int, default=ARCH["model_channels"],
                    help="base channels of a new model (capacity against speed); a resumed one keeps its own")
    ap.add_argument("--init-from", default=None, choices=sorted(DATASETS),
                    help="start a new run from another shipped model's weights (its inputs taken by sequence)")
    ap.add_argument("--small-tumour", type=float, default=0.0,
                    help=f"share of the tumour half of each batch drawn from slices with under {SMALL_TUMOUR_PX} tumour "
                         "pixels (the tumour's ends, where the net fails); 0: tumour slices drawn uniformly")
    ap.add_argument("--lgg-share", type=float, default=0.0,
                    help="with --lgg: share of each half of a batch (tumour, tumour-free) drawn from the LGG patients' "
                         "slices (a few hundred among thousands of BraTS ones); 0: every slice alike")
    ap.add_argument("--lgg-free-share", type=float, default=None,
                    help="with --lgg-share: the LGG share of the tumour-free half alone (their FLAIR-bright tissue the "
                         "expert left out is where the skull-on false positives are); default: --lgg-share")
    ap.add_argument("--thick", type=float, default=0.0,
                    help="share of a batch's BraTS slices shown as a clinical 5 mm slice shows them (data.thick_slabs; "
                         "the LGG patients' slices are 5 mm already)")
    ap.add_argument("--neighbours", type=int, default=0,
                    help="2.5D: condition on the sequences of the slices N mm below and above as well (N of BraTS's "
                         "1 mm slices, N/5 of an LGG series' 5 mm ones); a resumed 2D run gets the new inputs with "
                         "zero weights; 0: the slice alone")
    ap.add_argument("--tight", type=float, default=0.5,
                    help="share of the batches cut to each slice's own brain box (cropPer \"slice\"); 0: never")
    args = ap.parse_args()
    if not 0 <= args.small_tumour <= 1:
        raise SystemExit(f"--small-tumour {args.small_tumour:g}: a share of the tumour slices, between 0 and 1")
    if not 0 <= args.lgg_share < 1 or (args.lgg_share and not args.lgg):
        raise SystemExit(f"--lgg-share {args.lgg_share:g}: a share between 0 and 1, with --lgg")
    if args.lgg_free_share is not None and not (args.lgg_share and 0 <= args.lgg_free_share < 1):
        raise SystemExit(f"--lgg-free-share {args.lgg_free_share:g}: a share between 0 and 1, with --lgg-share")
    torch.set_num_threads(args.threads)
    if args.brats_root:
        use_brats_root(args.model, Path(args.brats_root), args.val_fraction)
    if args.lgg:
        add_lgg(args.model)
    out = Path(args.out) / args.model
    ckpt = out / "last.pt"
    if args.carry:
        state = torch.load(ckpt, weights_only=False)
        Path(args.resume_dir).mkdir(exist_ok=True)
        save(Path(args.resume_dir) / f"{args.model}.pt", carried_point(state))
        print(f"wrote {Path(args.resume_dir) / f'{args.model}.pt'} (step {state['step']})")
        return
    if args.neighbours < 0:
        raise SystemExit(f"--neighbours {args.neighbours}: how many mm away the neighbours are, 0 (none) or more")
    if args.lgg:
        neighbour_offset("lgg", args.neighbours)  # refused before loading when it is no whole number of LGG slices
    if not 0 <= args.thick <= 1 or (args.thick and args.data):
        raise SystemExit(f"--thick {args.thick:g}: a share between 0 and 1, without --data (packs hold no slabs yet)")
    if ckpt.exists() and not args.resume:
        raise SystemExit(f"{ckpt} exists: pass --resume to continue it, or --out for a new run")

    spec = DATASETS[args.model]
    if args.cases:
        spec = DATASETS[args.model] = {**spec, "train": first_of_each_kind(spec["train"], args.cases),
                                       "val": first_of_each_kind(spec["val"], args.cases)}
    t_load = time.time()
    if args.data:  # a pack made by pack_data.py (a machine without ../shared/data)
        cond, mask, val_vols, val_names, from_lgg, packed_neighbours = data.unpack(Path(args.data))
        if packed_neighbours != args.neighbours:
            raise SystemExit(f"--neighbours {args.neighbours}: {args.data} was packed with --neighbours {packed_neighbours}; "
                             "pass that, or pack again (pack_data.py --neighbours)")
    else:
        prepared = load_split(args.model, "train")
        val_vols = load_split(args.model, "val") if args.val_every else []
        thick_cond = thick_slices(spec["train"], prepared, args.neighbours) if args.thick else None
        add_neighbours(spec["train"], prepared, args.neighbours)
        add_neighbours(spec["val"], val_vols, args.neighbours)
        cond, mask = data.training_slices(prepared, min_size=PAD)
        from_lgg = lgg_slice_flags(spec["train"], prepared)
        val_names = [name for _, name in spec["val"]]
    tumour = mask.reshape(len(mask), -1).any(axis=1)
    n_seq = len(spec["roles"])
    own = n_seq if args.neighbours else None
    if args.lgg_share and not (from_lgg & tumour).any():
        raise SystemExit("--lgg-share: no LGG slice with tumour among the training slices"
                         + (f" of {args.data} (pack it with pack_data.py --lgg)" if args.data else ""))
    print(f"{args.model}: {len(spec['train'])} training patients, {len(cond)} slices ({tumour.sum()} with tumour), "
          f"size {cond.shape[-2:]}; {len(val_vols)} validation patients; loaded in {time.time() - t_load:.0f} s",
          flush=True)
    dev = torch.device(args.device)
    cond, x0 = torch.from_numpy(cond).to(dev), torch.from_numpy(mask * 2 - 1).to(dev)
    if args.thick:
        thick_cond, thin = torch.from_numpy(thick_cond).to(dev), torch.from_numpy(~from_lgg).to(dev)

    model = build_model(args.model, args.channels, args.neighbours).to(dev)
    step, best, origin = 0, None, "random initialisation"
    state = None
    carried = Path(args.resume_dir) / f"{args.model}.pt"
    if ckpt.exists() or (args.resume and carried.exists()):
        state = torch.load(ckpt if ckpt.exists() else carried, map_location=dev, weights_only=False)
        model = UNet(**state["config"]).to(dev)  # a resumed run keeps its own architecture, whatever --channels says
        model.load_state_dict(state["model"])
        step, best, origin = state["step"], state.get("best"), state.get("origin", origin)
        if best is not None and best.get("score_kind") != score_kind(args.tight):
            print(f"the best so far (step {best['step']}) was scored another way: it restarts", flush=True)
            best = None
        print(f"resumed at step {step}" + ("" if ckpt.exists() else f" from {carried.name} (optimiser state restarts)"), flush=True)
    elif args.resume:
        model, step, version = initial_weights(args.model, dev)
        origin = f"the shipped {args.model} {version} (model.onnx, {step} iterations)"
        print(f"resumed from {origin}", flush=True)
    elif args.init_from:
        source, source_steps, version = initial_weights(args.init_from, dev)
        widened = ""
        if args.channels != source.config["model_channels"]:
            if args.channels != 2 * source.config["model_channels"]:
                raise SystemExit(f"--init-from {args.init_from} --channels {args.channels}: a model can only be started "
                                 f"from one with the same or half the base channels ({source.config['model_channels']})")
            widened = f", widened from {source.config['model_channels']} to {args.channels} channels"
            source = widen(source.cpu()).to(dev)
        transfer_weights(model, source.state_dict(), DATASETS[args.init_from]["roles"], spec["roles"])
        origin = f"the shipped {args.init_from} {version} ({source_steps} iterations){widened}, inputs {'+'.join(spec['roles'])} taken by sequence"
        print(f"started from {origin}", flush=True)
    ema = copy.deepcopy(model).requires_grad_(False)
    if state is not None:
        ema.load_state_dict(state["ema"])
    if args.neighbours and model.config["in_channels"] == n_seq + 1:  # a 2D run continued in 2.5D
        model = add_neighbour_inputs(model.cpu(), n_seq).to(dev)
        ema = add_neighbour_inputs(ema.cpu(), n_seq).to(dev).requires_grad_(False)
        origin += f"; 2.5D inputs (the slices {args.neighbours} mm below and above) added at step {step}"
        state = {k: v for k, v in state.items() if k != "opt"} if state else None
        print(f"2.5D: neighbour inputs added to the 2D net at step {step} (zero weights)", flush=True)
    elif model.config["in_channels"] != (3 if args.neighbours else 1) * n_seq + 1:
        raise SystemExit(f"the resumed net takes {model.config['in_channels']} inputs: it was trained "
                         f"{'without' if args.neighbours else 'with'} --neighbours")
    elif state and args.neighbours != state.get("recipe", {}).get("neighbours", args.neighbours):
        raise SystemExit(f"--neighbours {args.neighbours}: the resumed net was trained with --neighbours "
                         f"{state['recipe']['neighbours']}; pass that")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    if state is not None:
        if "opt" in state:
            opt.load_state_dict(state["opt"])
            for group in opt.param_groups:  # the saved state carries its learning rate: --lr wins (e.g. to anneal)
                group["lr"] = args.lr
    out.mkdir(parents=True, exist_ok=True)
    # The learning rate over the run: [[from step, lr], ...] (a changed --lr on resume anneals it).
    earlier = (state or {}).get("recipe", {})
    lr_schedule = earlier.get("lr_schedule") or ([[0, earlier["lr"]]] if "lr" in earlier else [])
    if not lr_schedule or lr_schedule[-1][1] != args.lr:
        lr_schedule.append([step, args.lr])
    recipe = dict(batch=args.batch, lr=args.lr, lr_schedule=lr_schedule, ema=args.ema, pad=PAD, crop=CROP,
                  small_tumour=args.small_tumour, lgg_share=args.lgg_share, lgg_free_share=args.lgg_free_share, thick=args.thick, neighbours=args.neighbours, tight=args.tight, tight_multiple=TIGHT_MULTIPLE, origin=origin,
                  train=[name for _, name in spec["train"]], val=val_names)

    schedule = diffusion.Schedule(diffusion.linear_betas(T))
    gen = torch.Generator().manual_seed(step)
    # Every batch: half slices with tumour, half tumour-free slices with brain (brain edges, no tumour).
    pools = [torch.from_numpy(np.flatnonzero(tumour)), torch.from_numpy(np.flatnonzero(~tumour))]
    if args.lgg_share:  # each half split again: BraTS slices, then LGG slices
        pools = [torch.from_numpy(np.flatnonzero(t & (from_lgg == lgg))) for t in (tumour, ~tumour) for lgg in (False, True)]
    small = torch.from_numpy(np.flatnonzero(tumour & (mask.reshape(len(mask), -1).sum(1) < SMALL_TUMOUR_PX)))
    if args.small_tumour and not len(small):
        raise SystemExit(f"--small-tumour: no training slice has under {SMALL_TUMOUR_PX} tumour pixels")
    log = open(out / "log.jsonl", "a")
    t0, losses = time.time(), []
    deadline = time.time() + args.max_seconds if args.max_seconds else float("inf")
    while step < args.iters:
        half = args.batch // 2
        n_small = int(half * args.small_tumour + 0.5)
        counts = pool_counts([half - n_small, args.batch - half], args.lgg_share, args.lgg_free_share)
        draws = [pool[torch.randint(0, len(pool), (n,), generator=gen)] for pool, n in zip(pools, counts)]
        if n_small:
            draws.append(small[torch.randint(0, len(small), (n_small,), generator=gen)])
        idx = torch.cat(draws).to(dev)
        tight = torch.rand(1, generator=gen).item() < args.tight
        c = cond[idx]
        if args.thick:
            as_slab = (torch.rand(len(idx), generator=gen) < args.thick).to(dev) & thin[idx]
            c = torch.where(as_slab[:, None, None, None], thick_cond[idx], c)
        c, m = augment(c, x0[idx], gen, crop=PAD if tight else CROP, slices=3 if args.neighbours else 1)  # tight: the whole padded slice, then cut
        opt.zero_grad()
        loss, mse, vb = 0.0, 0.0, 0.0
        for c_part, m_part, share in (tight_crop(c, m, own=own) if tight else [(c, m, 1.0)]):
            part_loss, part_mse, part_vb = diffusion.hybrid_loss(schedule, model, c_part, m_part)
            (part_loss * share).backward()
            loss, mse, vb = loss + share * part_loss.item(), mse + share * part_mse, vb + share * part_vb
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        step += 1
        losses.append((loss, mse, vb))
        if step % 50 == 0:
            l, ms, v = np.mean(losses, axis=0)
            rec = dict(step=step, loss=l, mse=ms, vb=v, sec_per_iter=(time.time() - t0) / len(losses))
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n"), log.flush()
            t0, losses = time.time(), []
        if args.val_every and step % args.val_every == 0:
            t1 = time.time()
            val = validate(ema, val_vols, val_names, args.tight, own)
            rec = dict(step=step, validation=val, seconds=round(time.time() - t1, 1))
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n"), log.flush()
            # Every validated EMA is kept (4.5 MB): the paper protocol chooses among them afterwards.
            save(out / f"ema-{step}.pt", dict(ema=ema.state_dict(), step=step, config=model.config, best=val,
                                              recipe=recipe, arch_model=args.model))
            if best is None or val["score"] > best["score"]:
                best = {"step": step, **val}
                save(out / "best.pt", dict(ema=ema.state_dict(), step=step, config=model.config, best=best,
                                           recipe=recipe, arch_model=args.model))
            t0 = time.time()
        out_of_time = time.time() > deadline
        if step % args.save_every == 0 or step == args.iters or out_of_time:
            save(ckpt, dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                            config=model.config, arch_model=args.model, best=best, origin=origin, recipe=recipe))
        if out_of_time:
            print(f"stopped at step {step}: --max-seconds {args.max_seconds:g} reached", flush=True)
            break


if __name__ == "__main__":
    main()
