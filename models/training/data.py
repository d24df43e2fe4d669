"""Preprocessing shared by training, evaluation and (re-implemented from the model card) the TypeScript engine.

Per volume: brain = voxels where any sequence is non-zero (for a study with the skull, such as skull-on/lgg: the
brain the engine extracts from the FLAIR, brain.py); each sequence is clipped at the 1st/99th percentile of
its brain voxels (numpy's linear percentile) and scaled to [0, 1], 0 outside the brain. Per axial slice
(rows = j, columns = i of the NIfTI array, i.e. the NIfTI memory order): bilinear resampling to the model's pixel
spacing (pixel centres aligned, edges clamped), then a crop/pad to the brain's bounding box over the whole volume,
centred and rounded up to a multiple of 32.
"""
import io
import lzma
import math
import pickle
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MULTIPLE = 32
# The paper's evaluation (Wolleb et al. 2022, Table 1): axial slices 80-128 (inclusive) of a 155-slice BraTS volume.
PAPER_SLICES = (80, 128)


def load(path) -> tuple:
    """A NIfTI volume as float64 and its voxel sizes; `.nii.xz` (the shared training set) is decompressed in memory."""
    import nibabel as nib  # here, not at the top: training from a data pack (pack_data.py) needs no nibabel

    path = Path(path)
    img = nib.Nifti1Image.from_bytes(lzma.decompress(path.read_bytes())) if path.suffix == ".xz" else nib.load(str(path))
    return np.asarray(img.dataobj, dtype=np.float64), img.header.get_zooms()


def brain_mask(volumes: list) -> np.ndarray:
    return np.any([v != 0 for v in volumes], axis=0)


def normalise(vol: np.ndarray, brain: np.ndarray, measured=None) -> np.ndarray:
    """Clip at the 1st/99th percentile of the `measured` voxels (default: the brain's), scale to [0, 1], 0 outside
    the brain."""
    lo, hi = np.percentile(vol[brain if measured is None else measured], [1, 99])
    out = (np.clip(vol, lo, hi) - lo) / max(hi - lo, 1e-8)
    return np.where(brain, out, 0.0)


def resample_axis(a: np.ndarray, axis: int, n_out: int, ratio: float) -> np.ndarray:
    """Bilinear (linear per axis) resampling; ratio = out spacing / in spacing."""
    n_in = a.shape[axis]
    x = (np.arange(n_out) + 0.5) * ratio - 0.5
    x = np.clip(x, 0, n_in - 1)
    x0 = np.floor(x).astype(int)
    x1 = np.minimum(x0 + 1, n_in - 1)
    w = (x - x0).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
    return np.take(a, x0, axis=axis) * (1 - w) + np.take(a, x1, axis=axis) * w


def out_size(n_in: int, spacing_in: float, spacing_out: float) -> int:
    return max(1, int(round(n_in * spacing_in / spacing_out)))


def resample_2d(a: np.ndarray, spacing_in, spacing_out: float, shape_out=None) -> np.ndarray:
    """a: [..., rows, cols]; spacing_in: (row spacing, col spacing)."""
    rows, cols = a.shape[-2:]
    ro = shape_out[0] if shape_out else out_size(rows, spacing_in[0], spacing_out)
    co = shape_out[1] if shape_out else out_size(cols, spacing_in[1], spacing_out)
    a = resample_axis(a, a.ndim - 2, ro, spacing_out / spacing_in[0] if not shape_out else rows / ro)
    return resample_axis(a, a.ndim - 1, co, spacing_out / spacing_in[1] if not shape_out else cols / co)


def crop_box(brain_2d_union: np.ndarray, multiple: int = MULTIPLE) -> tuple:
    """(row0, col0, size_r, size_c): brain bounding box centred in a box rounded up to a multiple (32)."""
    rows = np.flatnonzero(brain_2d_union.any(axis=1))
    cols = np.flatnonzero(brain_2d_union.any(axis=0))
    box = []
    for idx in (rows, cols):
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        size = max(multiple, math.ceil((hi - lo) / multiple) * multiple)
        box.append((lo - (size - (hi - lo)) // 2, size))
    return box[0][0], box[1][0], box[0][1], box[1][1]


def crop(a: np.ndarray, box) -> np.ndarray:
    """Crop/pad the last two axes to box (zeros outside the source)."""
    r0, c0, sr, sc = box
    out = np.zeros(a.shape[:-2] + (sr, sc), dtype=a.dtype)
    rows, cols = a.shape[-2:]
    rs, re, cs, ce = max(r0, 0), min(r0 + sr, rows), max(c0, 0), min(c0 + sc, cols)
    out[..., rs - r0:re - r0, cs - c0:ce - c0] = a[..., rs:re, cs:ce]
    return out


def uncrop(a: np.ndarray, box, shape) -> np.ndarray:
    r0, c0, sr, sc = box
    out = np.zeros(a.shape[:-2] + tuple(shape), dtype=a.dtype)
    rows, cols = shape
    rs, re, cs, ce = max(r0, 0), min(r0 + sr, rows), max(c0, 0), min(c0 + sc, cols)
    out[..., rs:re, cs:ce] = a[..., rs - r0:re - r0, cs - c0:ce - c0]
    return out


class PreparedVolume:
    """Model-ready slices of one patient: cond [Z, C, H, W] float32, masks [Z, H, W] (model grid, or None),
    the crop box and grid sizes needed to map results back to the original slices."""

    def __init__(self, volumes: list, spacing_rc, model_spacing: float, seg=None, brain=None, measured=None):
        """brain: the extracted brain of a study with the skull ([i, j, k] like the volumes), else None: the
        voxels where any sequence is non-zero. measured: the voxels whose percentiles normalise (default: brain)."""
        brain = brain_mask(volumes) if brain is None else brain.astype(bool)
        # [Z, rows=j, cols=i] from NIfTI [i, j, k]
        norm = np.stack([normalise(v, brain, measured).transpose(2, 1, 0) for v in volumes], axis=1)
        self.source_shape = norm.shape[-2:]
        grid = resample_2d(norm, spacing_rc, model_spacing)
        self.model_shape = grid.shape[-2:]
        brain_grid = resample_2d(brain.transpose(2, 1, 0).astype(np.float64), spacing_rc, model_spacing) > 0
        self.box = crop_box(brain_grid.any(axis=0))
        self.cond = crop(grid, self.box).astype(np.float32)
        self._brain_grid = brain_grid
        self.brain = brain.transpose(2, 1, 0)  # [Z, rows, cols] on the source grid
        self.has_brain = self.brain.reshape(brain.shape[2], -1).any(axis=1)
        self.seg = None if seg is None else (seg.transpose(2, 1, 0) > 0)
        self.masks = None
        if seg is not None:
            m = resample_2d(self.seg.astype(np.float64), spacing_rc, model_spacing) >= 0.5
            self.masks = crop(m, self.box).astype(np.float32)

    def slice_box(self, k: int, multiple: int) -> tuple:
        """Slice k's own crop box (a card's `cropPer: "slice"`): its resampled brain's bounding box."""
        return crop_box(self._brain_grid[k], multiple)

    def slice_cond(self, k: int, multiple: int) -> np.ndarray:
        """Slice k's model input [C, H, W] in its own crop box."""
        # The volume's box holds every brain pixel of every slice, and all is 0 outside the brain.
        full = uncrop(self.cond[k], self.box, self.model_shape)
        return crop(full, self.slice_box(k, multiple)).astype(np.float32)

    def to_source(self, a: np.ndarray) -> np.ndarray:
        """Map model-grid crops [..., H, W] back onto the source slices (bilinear)."""
        full = uncrop(a, self.box, self.model_shape)
        return resample_2d(full, None, None, shape_out=self.source_shape)


def brats_case(folder: Path, roles: list) -> dict:
    """Find sequence files in a BraTS 2021 or 2023 case folder by role."""
    names = {"T1": ["_t1.", "-t1n."], "T1ce": ["_t1ce.", "-t1c."], "T2": ["_t2.", "-t2w."],
             "FLAIR": ["_flair.", "-t2f."], "seg": ["_seg.", "-seg."]}
    files = {}
    for f in sorted(Path(folder).iterdir()):
        for role, keys in names.items():
            if any(k in f.name.lower() for k in keys):
                files[role] = f
    return {r: files[r] for r in roles + ["seg"] if r in files}


def load_case(folder, roles, model_spacing, detect_skull=False):
    """A case folder (BraTS names; skull-on/lgg uses the same) prepared for the model. detect_skull: do what the
    engine does with every study, i.e. extract the brain from the FLAIR when the volume still has the skull."""
    files = brats_case(folder, roles + ["FLAIR"])
    vols = [load(files[r]) for r in roles]
    zooms = vols[0][1]
    seg = load(files["seg"])[0] if "seg" in files else None
    brain = measured = None
    if detect_skull:
        import brain as brain_extraction  # scipy: only for studies that may have the skull

        flair, flair_zooms = vols[roles.index("FLAIR")] if "FLAIR" in roles else load(files["FLAIR"])
        brain = brain_extraction.brain_if_unstripped(flair, flair_zooms)
        measured = None if brain is None else brain_extraction.interior(brain, flair_zooms)
    return PreparedVolume([v for v, _ in vols], (zooms[1], zooms[0]), model_spacing, seg, brain, measured)


def load_slices_pt001(roles, model_spacing):
    """The paper's own 2D slices (already in [0, 1]); stacked into a 6-slice volume, 1 mm pixels."""
    folder = DATA / "brats" / "slices-pt001"
    keys = {"T1": "t1", "T1ce": "t1ce", "T2": "t2", "FLAIR": "flair", "seg": "seg"}

    def stack(key):
        return np.stack([load(folder / f"brats_train_001_{key}_{n:03d}_w.nii.gz")[0] for n in range(80, 86)], axis=2)

    return PreparedVolume([stack(keys[r]) for r in roles], (1.0, 1.0), model_spacing, stack("seg"))


def stack_neighbours(cond: np.ndarray, offset: int) -> np.ndarray:
    """2.5D input: each slice's own sequences, then those of slice k - offset, then k + offset ([Z, 3C, H, W]).
    Beyond the volume's ends the neighbours are 0, as a slice without brain is."""
    zero = np.zeros((min(offset, len(cond)),) + cond.shape[1:], cond.dtype)
    below = np.concatenate([zero, cond[:-offset]])[:len(cond)]
    above = np.concatenate([cond[offset:], zero])[-len(cond):]
    return np.concatenate([cond, below, above], axis=1)


def thick_slabs(cond: np.ndarray, n: int) -> np.ndarray:
    """Each slice of cond [Z, C, H, W] as an n times thicker slice shows it (a clinical 5 mm axial series beside
    BraTS's 1 mm slices): the mean of slices k - n//2 .. k + n//2 (those inside the volume), each sequence then
    normalised again as the engine normalises the thick series itself (1st/99th percentile of the brain's voxels,
    the brain being wherever a sequence is non-zero in the slab: partial volume at its edges, as on a thick slice)."""
    z = len(cond)
    summed = np.concatenate([np.zeros((1,) + cond.shape[1:]), np.cumsum(cond, axis=0, dtype=np.float64)])
    lo, hi = np.clip(np.arange(z) - n // 2, 0, z), np.clip(np.arange(z) + n // 2 + 1, 0, z)
    slab = (summed[hi] - summed[lo]) / (hi - lo)[:, None, None, None]
    brain = (slab > 0).any(axis=1)
    out = np.zeros_like(cond)
    if brain.any():
        for s in range(cond.shape[1]):
            out[:, s] = normalise(slab[:, s], brain)
    return out


CACHE = Path(__file__).resolve().parent / "data-cache"


def cached(key: str, build):
    """build() once, then read it back from data-cache/ (reading and preprocessing a patient takes seconds)."""
    path = CACHE / f"{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(value, protocol=4))
    tmp.replace(path)
    return value


def training_slices(prepared: list, min_size: int = 0):
    """Slices with brain from several prepared volumes, zero-padded (centred) to one common size of at least
    min_size: cond [N, C, H, W], masks [N, 1, H, W]."""
    size_r = max([min_size] + [p.cond.shape[-2] for p in prepared])
    size_c = max([min_size] + [p.cond.shape[-1] for p in prepared])
    conds, masks = [], []
    for p in prepared:
        keep = p.has_brain
        pad = ((0, 0), (0, 0), ((size_r - p.cond.shape[-2]) // 2, (size_r - p.cond.shape[-2] + 1) // 2),
               ((size_c - p.cond.shape[-1]) // 2, (size_c - p.cond.shape[-1] + 1) // 2))
        conds.append(np.pad(p.cond[keep], pad))
        masks.append(np.pad(p.masks[keep][:, None], pad))
    return np.concatenate(conds), np.concatenate(masks)


# ---- a data pack (pack_data.py writes it; train.py --data reads it on a machine without ../shared/data) ----

class PackedVolume:
    """The validation slices of one patient, with just what train.quick_validation reads."""

    def __init__(self, cond, masks):
        self.cond, self.masks = cond, masks
        self.has_brain = (cond != 0).reshape(len(cond), -1).any(1)


def unpack(path: Path):
    """(cond float32 [N, C, H, W], mask float32 [N, 1, H, W], validation volumes, their names, which training
    slices are an LGG patient's [N], the neighbour distance of 2.5D input or 0). Reads the .npz packs of earlier
    sessions (no LGG flags: none is) and the xz-compressed ones pack_data.py writes now (.npz.xz, with their levels)."""
    if path.suffix == ".xz":
        z = np.load(io.BytesIO(lzma.decompress(path.read_bytes())))
    else:
        z = np.load(path)
    top = float(z["levels"]) - 1 if "levels" in z else 255.0
    cond = z["cond"].astype(np.float32) / top
    mask = z["mask"].astype(np.float32)
    names = [str(n) for n in z["val_names"]]
    vols = [PackedVolume(z[f"val_cond_{i}"].astype(np.float32) / top, z[f"val_mask_{i}"].astype(np.float32))
            for i in range(len(names))]
    from_lgg = z["from_lgg"].astype(bool) if "from_lgg" in z else np.zeros(len(cond), bool)
    neighbours = int(z["neighbours"]) if "neighbours" in z else 0
    return cond, mask, vols, names, from_lgg, neighbours
