"""The app's brain extraction (main/engine/brain-extraction.ts) in numpy/scipy, so that training sees skull-on
studies exactly as the engine prepares them. Same steps, same parameters, distances in millimetres:

  1. tissue = voxels above the 2nd percentile + 25 % of the 2nd-98th percentile range (of all voxels), less a 6 mm
     band inside the head's outline (head_mask) in each slice: the scalp;
  2. erosion by a 5 mm ball (the outside of the image counts as non-tissue);
  3. the largest 6-connected component, dilated back by 5 mm within the tissue;
  4. holes filled slice by slice, a 1.25 mm margin;
  5. a closing by a 3 mm ball (the CSF of sulci open to the surface), holes filled again;
  6. when that threshold lies above SECOND_PASS_FRACTION x the median of the brain's interior, steps 1-5 again at
     that lower threshold (a very bright scalp had set the 98th percentile: TCGA_EZ_7264's cortex was cut);
and `interior`, the part of that brain whose intensities set the normalisation (8 mm inside its surface).

Volumes are numpy arrays indexed [i, j, k] (nibabel's order) with voxel sizes (si, sj, sk). A TypeScript test
(tests/unit/preprocess-parity.test.ts) checks that both give the same mask on a real skull-on case.
"""
import math

import numpy as np
from scipy import ndimage

# Bump when the extraction changes: train.py's data cache of skull-on patients is keyed on it.
VERSION = 5
THRESHOLD_FRACTION = 0.25
OPENING_RADIUS_MM = 5.0
MARGIN_MM = 1.25
CLOSING_MM = 3.0
SCALP_MM = 6.0
HEAD_FRACTION = 0.1
INTERIOR_MM = 8.0
# The engine's (brain-extraction.ts says why: 0.25 took a BraTS FLAIR with a short field of view for one with the skull).
UNSTRIPPED_OUTSIDE_FRACTION = 0.38
COARSE_PIXEL_MM = 3.0
# Step 6 (the engine's SECOND_PASS, capped): the threshold is only ever lowered, so open-ms is untouched.
SECOND_PASS_FRACTION = 0.55


def _squared_distance_to(sites: np.ndarray, spacing, border_is_site: bool) -> np.ndarray:
    """Exact squared Euclidean distance (mm^2) from every voxel to the nearest site (True); with border_is_site
    the voxels just outside the image are sites too."""
    if border_is_site:
        padded = np.pad(sites, 1, constant_values=True)
        d = ndimage.distance_transform_edt(~padded, sampling=spacing)[1:-1, 1:-1, 1:-1]
    elif not sites.any():
        return np.full(sites.shape, np.inf)
    else:
        d = ndimage.distance_transform_edt(~sites, sampling=spacing)
    return d * d


def _fill_holes_per_slice(mask: np.ndarray) -> np.ndarray:
    """Fill, in each axial slice, the background not 4-connected to the slice's edge."""
    out = mask.copy()
    for k in range(mask.shape[2]):
        out[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return out


def _largest_component(mask: np.ndarray) -> np.ndarray:
    # Labels are numbered in the engine's scan order (i fastest): on equal sizes both keep the first found.
    labels, n = ndimage.label(mask.transpose(2, 1, 0), structure=ndimage.generate_binary_structure(3, 1))
    if n == 0:
        return np.zeros_like(mask)
    sizes = np.bincount(labels.ravel())[1:]
    return (labels == 1 + int(np.argmax(sizes))).transpose(2, 1, 0)


def extract_brain(data: np.ndarray, spacing) -> np.ndarray:
    """The brain mask (bool, same shape) of one volume that still has its skull."""
    spacing = tuple(float(s) for s in spacing)
    # The engine's voxels are float32; its percentiles interpolate linearly in double precision, as here.
    values = np.asarray(data, dtype=np.float32).astype(np.float64)
    p2, p98 = np.percentile(values, [2, 98])
    threshold = p2 + THRESHOLD_FRACTION * (p98 - p2)
    scalp = np.zeros(values.shape, dtype=bool)
    if SCALP_MM > 0:  # in the slice plane only: the air above the top slice is not the scalp's measure
        in_plane = (spacing[0], spacing[1], 1e6)
        scalp = _squared_distance_to(~head_mask(values), in_plane, border_is_site=False) <= SCALP_MM ** 2
    brain = _brain_above(values, spacing, threshold, scalp)
    inner = interior(brain, spacing)
    if not inner.any():
        return brain  # nothing found: no brain's intensity to go by
    second = SECOND_PASS_FRACTION * np.median(values[inner])
    return brain if second >= threshold else _brain_above(values, spacing, second, scalp)


def _brain_above(values: np.ndarray, spacing, threshold: float, scalp: np.ndarray) -> np.ndarray:
    """Steps 1-5 at one threshold; `scalp`: the band that is never brain."""
    tissue = (values > threshold) & ~scalp
    r2 = OPENING_RADIUS_MM ** 2
    eroded = _squared_distance_to(~tissue, spacing, border_is_site=True) > r2
    core = _largest_component(eroded)
    brain = tissue & (_squared_distance_to(core, spacing, border_is_site=False) <= r2)
    brain = _fill_holes_per_slice(brain)
    brain = _squared_distance_to(brain, spacing, border_is_site=False) <= MARGIN_MM ** 2
    dilated = _squared_distance_to(brain, spacing, border_is_site=False) <= CLOSING_MM ** 2
    closed = _squared_distance_to(~dilated, spacing, border_is_site=False) > CLOSING_MM ** 2
    return _fill_holes_per_slice(brain | closed)


def head_mask(values: np.ndarray) -> np.ndarray:
    """The head: above a tenth of the 98th percentile, the largest 6-connected part, holes filled per slice."""
    p98 = np.percentile(values, 98)
    return _fill_holes_per_slice(_largest_component(values > HEAD_FRACTION * p98))


def interior(brain: np.ndarray, spacing) -> np.ndarray:
    """The voxels of an extracted brain farther than INTERIOR_MM from its outside (the whole brain if none are):
    the normalisation's percentiles come from them, since the surface band keeps bright dura, marrow and flow
    artefacts that a skull-stripped BraTS brain does not have (the engine's brainInterior)."""
    spacing = tuple(float(s) for s in spacing)
    inner = _squared_distance_to(~brain, spacing, border_is_site=False) > INTERIOR_MM ** 2
    return inner if inner.any() else brain


def looks_unstripped(data: np.ndarray, brain: np.ndarray) -> bool:
    """Whether more than UNSTRIPPED_OUTSIDE_FRACTION of a volume's non-zero voxels lie outside `brain`."""
    nonzero = data != 0
    return bool(nonzero.any()) and (nonzero & ~brain).sum() / nonzero.sum() > UNSTRIPPED_OUTSIDE_FRACTION


def brain_if_unstripped(data: np.ndarray, spacing):
    """The extracted brain of a volume with the skull, or None when it is already skull-stripped (as the engine
    decides it: on every stride-th row and column, pixels of about 3 mm)."""
    stride = max(1, math.floor(COARSE_PIXEL_MM / max(spacing[0], spacing[1])))
    coarse = data[::stride, ::stride, :]
    coarse_spacing = (spacing[0] * stride, spacing[1] * stride, spacing[2])
    if not looks_unstripped(coarse, extract_brain(coarse, coarse_spacing)):
        return None
    return extract_brain(data, spacing)
