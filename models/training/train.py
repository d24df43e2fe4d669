"""Train a mask-diffusion U-Net on BraTS slices. Resumable: re-run the same command to continue.

  /usr/bin/python3 models/training/train.py --model wt-4seq --iters 20000

Checkpoints (model, EMA, optimiser, step) go to models/training/checkpoints/<model>/ (not in git).
"""
import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

import data
import diffusion
from unet import UNet

HERE = Path(__file__).resolve().parent
T = 1000

# Which patients each model trains and validates on (split by patient, never by slice).
DATASETS = {
    "wt-4seq": {
        "roles": ["T1", "T1ce", "T2", "FLAIR"],
        "train": [("brats", "BraTS2021_00006")],
        "val": [("slices", "slices-pt001")],
    },
    "wt-flair-t1": {
        "roles": ["FLAIR", "T1"],
        "train": [("2018", f"case_{n}") for n in range(9)] + [("brats", "BraTS2021_00006")],
        "val": [("2018", "case_9")],
    },
}
MODEL_SPACING = 2.0
ARCH = dict(model_channels=16, channel_mult=(1, 2, 4, 4), num_res_blocks=1, attention_levels=(3,), heads=4)
CROP = 64  # random training crops: 4x fewer pixels than whole slices on 2 CPU cores; the net is fully convolutional


def use_brats_root(model_id: str, root: Path, val_fraction: float) -> None:
    """Train on every labelled case of a full BraTS download instead (split by patient, last cases held out)."""
    cases = sorted(p.name for p in Path(root).iterdir() if p.is_dir() and any("seg" in f.name for f in p.iterdir()))
    if not cases:
        raise SystemExit(f"no labelled BraTS case folders in {root}")
    n_val = max(1, int(len(cases) * val_fraction))
    DATASETS[model_id] = {**DATASETS[model_id], "root": Path(root),
                          "train": [("root", c) for c in cases[:-n_val]], "val": [("root", c) for c in cases[-n_val:]]}


def load_split(model_id: str, split: str) -> list:
    spec = DATASETS[model_id]
    out = []
    for kind, name in spec[split]:
        if kind == "root":
            out.append(data.load_case(spec["root"] / name, spec["roles"], MODEL_SPACING))
        elif kind == "brats":
            out.append(data.load_case(data.DATA / "brats" / name, spec["roles"], MODEL_SPACING))
        elif kind == "2018":
            out.append(data.load_2018_case(data.DATA / "brats2018-flair-t1" / name, spec["roles"], MODEL_SPACING))
        elif kind == "slices":
            out.append(data.load_slices_pt001(spec["roles"], MODEL_SPACING))
    return out


def build_model(model_id: str) -> UNet:
    return UNet(in_channels=len(DATASETS[model_id]["roles"]) + 1, **ARCH)


def augment(cond, mask, gen):
    """Random crop, random dihedral transform (orientation-agnostic model) and mild intensity scaling."""
    r = int(torch.randint(0, cond.shape[2] - CROP + 1, (1,), generator=gen))
    c = int(torch.randint(0, cond.shape[3] - CROP + 1, (1,), generator=gen))
    cond, mask = cond[:, :, r:r + CROP, c:c + CROP], mask[:, :, r:r + CROP, c:c + CROP]
    k = int(torch.randint(0, 4, (1,), generator=gen))
    cond, mask = torch.rot90(cond, k, (2, 3)), torch.rot90(mask, k, (2, 3))
    if torch.rand(1, generator=gen) < 0.5:
        cond, mask = cond.flip(3), mask.flip(3)
    scale = 1 + 0.1 * (torch.rand(cond.shape[0], cond.shape[1], 1, 1, generator=gen).to(cond.device) - 0.5)
    return (cond * scale).clamp(0, 1), mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(DATASETS))
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--out", default=str(HERE / "checkpoints"))
    ap.add_argument("--brats-root", default=None, help="a full BraTS download (case folders with *_seg): train on all of it")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.brats_root:
        use_brats_root(args.model, Path(args.brats_root), args.val_fraction)

    cond, mask = data.training_slices(load_split(args.model, "train"))
    tumour = mask.reshape(len(mask), -1).any(axis=1)
    print(f"{args.model}: {len(cond)} training slices ({tumour.sum()} with tumour), size {cond.shape[-2:]}", flush=True)
    dev = torch.device(args.device)
    cond, x0 = torch.from_numpy(cond).to(dev), torch.from_numpy(mask * 2 - 1).to(dev)

    model = build_model(args.model).to(dev)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    out = Path(args.out) / args.model
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "last.pt"
    step = 0
    if ckpt.exists():
        state = torch.load(ckpt, map_location=dev)
        model.load_state_dict(state["model"]), ema.load_state_dict(state["ema"]), opt.load_state_dict(state["opt"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)

    schedule = diffusion.Schedule(diffusion.linear_betas(T))
    gen = torch.Generator().manual_seed(step)
    # Half of each batch from slices with tumour, half from any slice with brain.
    weights = torch.from_numpy(np.where(tumour, 0.5 / max(tumour.sum(), 1), 0.0) + 0.5 / len(tumour))
    log = open(out / "log.jsonl", "a")
    t0, losses = time.time(), []
    while step < args.iters:
        idx = torch.multinomial(weights, args.batch, replacement=True, generator=gen).to(dev)
        c, m = augment(cond[idx], x0[idx], gen)
        loss, mse, vb = diffusion.hybrid_loss(schedule, model, c, m)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        step += 1
        losses.append((loss.item(), mse, vb))
        if step % 50 == 0:
            l, ms, v = np.mean(losses, axis=0)
            rec = dict(step=step, loss=l, mse=ms, vb=v, sec_per_iter=(time.time() - t0) / len(losses))
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n"), log.flush()
            t0, losses = time.time(), []
        if step % args.save_every == 0 or step == args.iters:
            state = dict(model=model.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                         config=model.config, arch_model=args.model)
            torch.save(state, out / "last.tmp")
            (out / "last.tmp").replace(ckpt)


if __name__ == "__main__":
    main()
