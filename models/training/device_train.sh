#!/usr/bin/env bash
# Train on the lent GPU machine within one device command (10 minutes). Up to three runs share the GPU, each on
# its own share of 12 CPU cores, for the same wall time and batch:
#   resume  continues the shipped model from its committed resume point (the one to ship if it beats it);
#   c16     a new model at the default 16 base channels, and
#   c32     a new model at 32: the capacity comparison, both from scratch on the same data and iterations' budget.
#
# Here, once:  /usr/bin/python3 models/training/pack_data.py --model wt-4seq --out .pack/wt-4seq.npz.xz --free-share 0.5 --levels 128
#              (it says whether the pack fits beside the tracked tree; see pack_data.py)
# There:       device run, carry [".pack"], command: bash models/training/device_train.sh wt-4seq 420
# RUNS chooses the runs (default "resume c16 c32"); RESUME_ARGS adds train.py arguments to the resume run. The
# skull-on recipe of wt-flair-t1 (its pack made with --lgg):
#              RUNS=resume RESUME_ARGS="--lgg --lgg-share 0.25 --lr 5e-5" bash models/training/device_train.sh wt-flair-t1 420
# CORES="FIRST COUNT" gives this call its own CPU cores (default "0 12"), so that both models can train side by side
# in one device command, each with its own OUT (e.g. OUT=$OUT/wt-4seq CORES="0 6" ... & OUT=$OUT/wt-flair-t1 CORES="6 6" ... & wait).
# Back (at most 8 files under $OUT): resume-best.pt (the run's best validated EMA), resume-carry.pt (model + EMA, no optimiser: commit it as
# resume/<model>.pt), c16-best.pt, c32-best.pt (EMA weights only, half precision) and logs.tar. Then
#   /usr/bin/python3 models/training/export.py --model wt-4seq --checkpoint FILE   and evaluate/ship as in README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
model="${1:?model id}"; seconds="${2:-420}"
pack=".pack/$model.npz.xz"; [ -f "$pack" ] || pack=".pack/$model.npz"   # an older pack: zlib
out="${OUT:-/tmp/device-out}"; ckpt="/tmp/ckpt/$model"; mkdir -p "$out" "$ckpt"
read -r first_core core_count <<< "${CORES:-0 12}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available())'

train() {  # name, cores, extra train.py arguments
  local name=$1 cores=$2 pin=(); shift 2
  command -v taskset > /dev/null && pin=(taskset -c "$cores")
  PYTHONUNBUFFERED=1 "${pin[@]}" python3 models/training/train.py --model "$model" --data "$pack" \
    --device "${DEVICE:-cuda}" --batch 64 --threads "$per" --out "$ckpt/$name" --val-every "${VAL_EVERY:-1000}" --save-every 1000 \
    --iters 100000000 --max-seconds "$seconds" "$@" > "$ckpt/$name.log" 2>&1
}
runs=(${RUNS:-resume c16 c32})
read -ra resume_args <<< "${RESUME_ARGS:-}"
per=$((core_count / ${#runs[@]}))   # the CPU cores (augmentation sets the pace) shared out; 4 of 16 leave room for the rest
pids=(); core=$first_core
for name in "${runs[@]}"; do
  case "$name" in
    resume) train resume "$core-$((core + per - 1))" --resume "${resume_args[@]}" & ;;
    c16|c32) train "$name" "$core-$((core + per - 1))" --channels "${name#c}" & ;;
    *) echo "device_train.sh: unknown run $name (resume, c16, c32)" >&2; exit 2 ;;
  esac
  pids+=($!); core=$((core + per))
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
tail -n 3 "$ckpt"/*.log
# The logs first: they come back even when a run failed and has no weights to return.
(cd "$ckpt" && tar -cf "$out/logs.tar" --ignore-failed-read *.log */"$model"/log.jsonl) || true

python3 - "$model" "$out" "$ckpt" "${runs[@]}" <<'PY'
import glob, sys, torch
model, out, ckpt, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
for name in runs:
    # The best validated EMA of this run (best.pt alone may be missing: a resumed run keeps the score of the
    # weights it resumed from, and saves best.pt only when it beats that).
    # Loaded onto the CPU: the files must load where there is no GPU.
    validated = [torch.load(f, map_location="cpu", weights_only=False) for f in glob.glob(f"{ckpt}/{name}/{model}/ema-*.pt")]
    if not validated:
        print(f"{name}: no validated weights"); continue
    best = max(validated, key=lambda c: c["best"]["score"])
    if name != "resume":  # comparison runs: the EMA in half precision keeps c32 under the 16 MiB a file may be
        best["ema"] = {k: v.half() if v.is_floating_point() else v for k, v in best["ema"].items()}
    torch.save(best, f"{out}/{name}-best.pt")
    print(name, "best", best["step"], {k: round(v, 4) for k, v in best["best"].items() if isinstance(v, float)})
if "resume" not in runs:
    sys.exit(0)
try:
    last = torch.load(f"{ckpt}/resume/{model}/last.pt", map_location="cpu", weights_only=False)
except FileNotFoundError:
    sys.exit("resume: no last.pt (see resume.log in logs.tar)")
# As train.carried_point: weights and EMA in half precision, no optimiser (train.py's imports need not load here).
half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
torch.save({**{k: v for k, v in last.items() if k != "opt"}, "model": half(last["model"]), "ema": half(last["ema"])},
           f"{out}/resume-carry.pt")
print("resume: last step", last["step"])
PY
exit $status
