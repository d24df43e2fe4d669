#!/usr/bin/env bash
# Export, validate, benchmark and document one trained model: models/<id>/model.onnx + card.json.
#   bash models/training/ship.sh wt-4seq [version] [default-steps] [stride]
# Ships checkpoints/<id>/best.pt (the best quick validation). The card's validation numbers are `halo evaluate`'s
# on the held-out patients (every slice with brain, every <stride>-th slice), kept in eval/<id>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; version="${2:-0.2.0}"; steps="${3:-50}"; stride="${4:-4}"
py=/usr/bin/python3
cases=models/training/data-cache/validation-cases
mkdir -p models/training/eval
mapfile -t folders < <(cd models/training && $py -c "import train; [print(train.data.DATA / train.PATIENTS_4SEQ[n][0]) for _, n in train.DATASETS['$model']['val']]")
bash models/training/unpack_cases.sh "$cases" "${folders[@]}"
$py models/training/export.py --model "$model" --checkpoint "models/training/checkpoints/$model/best.pt"
$py models/training/card.py --model "$model" --version "$version" --steps "$steps"   # the engine reads the new card
node bin/halo.mjs evaluate --cases "$cases" --model "$model" --steps "$steps" --slices all --stride "$stride" \
  --no-progress --out "models/training/eval/$model.json"
node bin/halo.mjs bench --model "$model" --json > "models/training/eval/$model-speed.json"
$py models/training/card.py --model "$model" --version "$version" --steps "$steps" \
  --validation "models/training/eval/$model.json" --speed "models/training/eval/$model-speed.json"
