#!/usr/bin/env bash
# Validate, export, benchmark and document one trained model: models/<id>/model.onnx + card.json.
#   bash models/training/ship.sh wt-4seq [default-steps]
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; steps="${2:-50}"
py=/usr/bin/python3
mkdir -p models/training/eval
$py models/training/evaluate.py --model "$model" --default-steps "$steps" --out "models/training/eval/$model.json"
$py models/training/export.py --model "$model"
$py models/training/card.py --model "$model" --validation "models/training/eval/$model.json" --steps "$steps"
npx halo bench --model "$model" --json > "models/training/eval/$model-speed.json"
$py models/training/card.py --model "$model" --speed "models/training/eval/$model-speed.json" --steps "$steps"
