"""Read SEG / Parametric Map files with pydicom (an independent reader) and print what the tests compare, as JSON.

Usage: python3 dicom-read-multiframe.py FILE...   ->  [{frames: [{position, sourceUID}], pixels: base64, dtype}, ...]
"""
import base64
import json
import sys

import pydicom

out = []
for path in sys.argv[1:]:
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    if ds.NumberOfFrames == 1:
        arr = arr.reshape((1,) + arr.shape)
    frames = []
    for item in ds.PerFrameFunctionalGroupsSequence:
        frames.append({
            'position': [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient],
            'sourceUID': item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID,
        })
    dtype = 'float32' if arr.dtype.kind == 'f' else 'uint8'
    out.append({
        'frames': frames,
        'rows': int(ds.Rows),
        'columns': int(ds.Columns),
        'dtype': dtype,
        'pixels': base64.b64encode(arr.astype(dtype).tobytes()).decode('ascii'),
    })
print(json.dumps(out))
