"""Pack a model's preprocessed training slices and validation slices into one compressed file, for training on a
machine that has neither ../shared/data nor nibabel (the lent GPU machine: see device_train.sh).

  /usr/bin/python3 models/training/pack_data.py --model wt-4seq --out .pack/wt-4seq.npz

Intensities are stored as uint8 (the preprocessed [0, 1] range in 255 steps: far finer than the training's
intensity augmentation); masks as bits. train.py --data FILE reads it back (data.unpack).
"""
import argparse
from pathlib import Path

import numpy as np

import data
import train


def pack(model_id: str, out: Path) -> None:
    cond, mask = data.training_slices(train.load_split(model_id, "train"), min_size=train.PAD)
    arrays = {"cond": np.round(cond * 255).astype(np.uint8), "mask": mask.astype(bool)}
    names = []
    for vol, (_, name) in zip(train.load_split(model_id, "val"), train.DATASETS[model_id]["val"]):
        tumour, free = train.validation_slices(vol)
        zs = tumour + free
        arrays[f"val_cond_{len(names)}"] = np.round(vol.cond[zs] * 255).astype(np.uint8)
        arrays[f"val_mask_{len(names)}"] = vol.masks[zs].astype(bool)
        names.append(name)
    arrays["val_names"] = np.array(names)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    print(f"wrote {out}: {len(cond)} training slices, {len(names)} validation patients, {out.stat().st_size / 1e6:.1f} MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(train.DATASETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--lgg", action="store_true", help="with the skull-on LGG patients too (train.py --lgg)")
    args = ap.parse_args()
    if args.lgg:
        train.add_lgg(args.model)
    pack(args.model, Path(args.out))


if __name__ == "__main__":
    main()
