"""Pack a model's preprocessed training slices and validation slices into one compressed file, for training on a
machine that has neither ../shared/data nor nibabel (the lent GPU machine: see device_train.sh).

  /usr/bin/python3 models/training/pack_data.py --model wt-4seq --out .pack/wt-4seq.npz.xz --free-share 0.5 --levels 128

What the device tool carries is limited (64 MiB with the tracked tree), so the pack is made small: intensities in
`levels` steps of the preprocessed [0, 1] range (256: uint8; 128 is still far finer than the training's intensity
augmentation), masks as bits, xz with a delta filter (neighbouring pixels are alike), and optionally only a share of
the tumour-free slices (every slice with tumour is kept; batches draw half their slices from the tumour-free ones,
so a smaller pool is drawn more often). Which slices are an LGG patient's travels with them (--lgg: train.py
--lgg-share). It says how big it is against the budget left. train.py --data FILE reads it back (data.unpack).
"""
import argparse
import io
import lzma
import subprocess
from pathlib import Path

import numpy as np

import data
import train

CARRY_LIMIT = 64 * 2**20  # the device tool's limit on the working tree plus carried paths


def evenly(indices: np.ndarray, share: float) -> np.ndarray:
    """`share` of `indices`, spread evenly over them (deterministic)."""
    if share >= 1 or not len(indices):
        return indices
    return indices[np.unique(np.round(np.linspace(0, len(indices) - 1, round(share * len(indices)))).astype(int))]


def keep_slices(mask: np.ndarray, free_share: float, tumour_share: float = 1.0) -> np.ndarray:
    """`tumour_share` of the slices with tumour and `free_share` of the tumour-free ones, each spread evenly. The
    slices come in each patient's axial order, so a tumour share of 0.5 keeps about every other slice: at 1 mm
    neighbours are nearly alike, and this halves the pack for little loss."""
    has_tumour = mask.reshape(len(mask), -1).any(1)
    keep = np.zeros(len(mask), bool)
    keep[evenly(np.flatnonzero(has_tumour), tumour_share)] = True
    keep[evenly(np.flatnonzero(~has_tumour), free_share)] = True
    return keep


def quantise(cond: np.ndarray, levels: int) -> np.ndarray:
    return np.round(cond * (levels - 1)).astype(np.uint8)


def write_pack(arrays: dict, out: Path) -> None:
    """One .npz, xz-compressed with a delta filter, written atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    filters = [{"id": lzma.FILTER_DELTA, "dist": 1}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(lzma.compress(buf.getvalue(), format=lzma.FORMAT_XZ, filters=filters))
    tmp.replace(out)


def tracked_bytes() -> int:
    """The size of the tracked tree, which travels to the device with the pack."""
    root = Path(__file__).resolve().parents[2]
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    return sum((root / f.decode()).stat().st_size for f in files if f and (root / f.decode()).is_file())


def pack(model_id: str, out: Path, free_share: float = 1.0, levels: int = 256, tumour_share: float = 1.0,
         neighbours: int = 0) -> None:
    prepared, val = train.load_split(model_id, "train"), train.load_split(model_id, "val")
    # 2.5D (train.py --neighbours N): each slice packed with its neighbours' sequences. They are mostly other packed
    # slices' own, byte for byte, and xz's window finds them: the pack grows far less than threefold.
    train.add_neighbours(train.DATASETS[model_id]["train"], prepared, neighbours)
    train.add_neighbours(train.DATASETS[model_id]["val"], val, neighbours)
    cond, mask = data.training_slices(prepared, min_size=train.PAD)
    from_lgg = train.lgg_slice_flags(train.DATASETS[model_id]["train"], prepared)
    # Every LGG slice is kept: they are few (5 mm apart, nothing alike to drop) and --lgg-share draws them often.
    keep = keep_slices(mask, free_share, tumour_share) | from_lgg
    arrays = {"cond": quantise(cond[keep], levels), "mask": mask[keep].astype(bool), "levels": np.array(levels),
              "from_lgg": from_lgg[keep], "neighbours": np.array(neighbours)}
    names = []
    for vol, (_, name) in zip(val, train.DATASETS[model_id]["val"]):
        tumour, free = train.validation_slices(vol, n_free=train.free_slices_checked(name))
        zs = tumour + free
        arrays[f"val_cond_{len(names)}"] = quantise(vol.cond[zs], levels)
        arrays[f"val_mask_{len(names)}"] = vol.masks[zs].astype(bool)
        names.append(name)
    arrays["val_names"] = np.array(names)
    write_pack(arrays, out)
    size, budget = out.stat().st_size, CARRY_LIMIT - tracked_bytes()
    print(f"wrote {out}: {keep.sum()} of {len(keep)} training slices ({(keep & from_lgg).sum()} LGG), {len(names)} validation patients, "
          f"{size / 2**20:.1f} MiB; the device carries {budget / 2**20:.1f} MiB beside the tracked tree"
          + ("" if size < budget else ": TOO BIG, lower --free-share or --levels"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(train.DATASETS))
    ap.add_argument("--out", required=True, help="e.g. .pack/wt-4seq.npz.xz (ignored by git, carried to the device)")
    ap.add_argument("--free-share", type=float, default=1.0, help="share of the tumour-free training slices kept")
    ap.add_argument("--tumour-share", type=float, default=1.0, help="share of the training slices with tumour kept")
    ap.add_argument("--levels", type=int, default=256, choices=(64, 128, 256), help="intensity steps stored")
    ap.add_argument("--lgg", action="store_true", help="with the skull-on LGG patients too (train.py --lgg)")
    ap.add_argument("--neighbours", type=int, default=0, help="2.5D: with the sequences of the slices N mm below and above (train.py --neighbours N)")
    args = ap.parse_args()
    for flag, share in (("--free-share", args.free_share), ("--tumour-share", args.tumour_share)):
        if not 0 < share <= 1:
            raise SystemExit(f"{flag} {share:g}: a share of the slices, above 0 and at most 1")
    if args.neighbours < 0:
        raise SystemExit(f"--neighbours {args.neighbours}: how many mm away the neighbours are (0: none)")
    if args.lgg:
        train.neighbour_offset("lgg", args.neighbours)
        train.add_lgg(args.model)
    pack(args.model, Path(args.out), args.free_share, args.levels, args.tumour_share, args.neighbours)


if __name__ == "__main__":
    main()
