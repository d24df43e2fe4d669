#!/usr/bin/env bash
# Train on the lent GPU machine within one device command (10 minutes), from the shipped weights.
#
# Here, once:  /usr/bin/python3 models/training/pack_data.py --model wt-4seq --out .pack/wt-4seq.npz   (≈25 MB)
# There:       device run, carry [".pack"], command: bash models/training/device_train.sh wt-4seq 480
# Back here:   /usr/bin/python3 models/training/export.py --model wt-4seq --checkpoint /work/.device/.../best.pt
#              then evaluate and ship as in README.md; later CPU runs continue with train.py --resume.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:?model id}"; seconds="${2:-480}"
out="${OUT:-/tmp/device-out}"; mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 models/training/train.py --model "$model" --data ".pack/$model.npz" --device cuda \
  --batch 64 --threads 8 --resume --out /tmp/ckpt --val-every 500 --save-every 500 --iters 100000000 \
  --max-seconds "$seconds" 2>&1 | tee "$out/train.log"
cp "/tmp/ckpt/$model/best.pt" "/tmp/ckpt/$model/log.jsonl" "$out/"
