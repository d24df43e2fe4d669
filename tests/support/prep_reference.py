"""Reference preprocessing (models/training/data.py) for the TypeScript parity test.
usage: prep_reference.py CASE_DIR ROLES(comma) SPACING OUT_DIR SLICE[,SLICE...] [SLICE_CROP_MULTIPLE [skull] [neighbours=N]]
Writes box.json and cond.f32 ([len(slices), C, H, W]) and back.f32 (to_source of channel 0 of the first slice);
with SLICE_CROP_MULTIPLE also each slice's own box (in box.json) and its input (slice-K.f32), as with a card's
`cropPer: "slice"`; with "skull", the brain extracted as the engine does for a study with the skull (brain.py),
also written as brain.u8 (the engine's voxel order: i fastest, then j, then k); with neighbours=N, the 2.5D input
of train.py --neighbours N (data.stack_neighbours: the sequences of slices k - N and k + N after the slice's own)."""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "training"))
import data  # noqa: E402

case, roles, spacing, out = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), Path(sys.argv[4])
slices = [int(s) for s in sys.argv[5].split(",")]
flags = sys.argv[7:]
skull = "skull" in flags
neighbours = next((int(f.split("=")[1]) for f in flags if f.startswith("neighbours=")), 0)
vol = data.load_case(Path(case), roles, spacing, detect_skull=skull)
if neighbours:
    vol.cond = data.stack_neighbours(vol.cond, neighbours)
out.mkdir(parents=True, exist_ok=True)
multiple = int(sys.argv[6]) if len(sys.argv) > 6 else None
slice_boxes = {k: list(vol.slice_box(k, multiple)) for k in slices} if multiple else {}
(out / "box.json").write_text(json.dumps({"box": list(vol.box), "model_shape": list(vol.model_shape),
                                          "has_brain": [bool(b) for b in vol.has_brain], "slice_boxes": slice_boxes}))
for k in slice_boxes:
    vol.slice_cond(k, multiple).astype("<f4").tofile(out / f"slice-{k}.f32")
vol.cond[slices].astype("<f4").tofile(out / "cond.f32")
if skull:
    vol.brain.astype("u1").tofile(out / "brain.u8")  # [k, j, i], C order
vol.to_source(vol.cond[slices[0], 0]).astype("<f4").tofile(out / "back.f32")
