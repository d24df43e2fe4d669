#!/usr/bin/env bash
# `halo bench` on the CPU and on every GPU execution provider that loads, on a lent accelerator machine, which
# has no Node.js, no npm and no network. Two steps:
#
#   here:   bash scripts/device-bench.sh pack   → .device-bench/ (git-excluded, ~40 MiB): Node.js, the compiled CLI
#           (out/cli) and the runtime packages it loads, and one BraTS case (the held-out validation patient)
#   there:  bash scripts/device-bench.sh run    (the device tool: carry [".device-bench"], timeout 600 s)
#
# `run` prints one table: per execution provider, start-up, per-step time at batch 5, the slice in view from a
# cold CLI (fixed overhead + sampling), the whole volume, the CLI's peak RSS, and the largest difference of any
# ensemble member from the CPU's for the same seed (the GPU providers must agree within 1e-3). CUDA loads only
# where onnxruntime-node's CUDA libraries were installed (they are not carried: hundreds of MiB); WebGPU is
# inside the package and needs the GPU's Vulkan driver plus the Vulkan loader and glvnd (.gl/: libvulkan1,
# libglvnd0, libegl1, libglx0, libgl1, libopengl0, libgles2 from apt-get download; without glvnd the NVIDIA ICD
# cannot create an instance). Environment: VOLUME_ON_CPU=1 also times the whole
# volume on the CPU (minutes); OUT (the device tool's folder) receives the JSON of every run.
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.device-bench
CASE_ID=BraTS20_Training_001

pack() {
  [ -f out/cli/halo.mjs ] || npm run build:cli
  rm -rf "$PACK/case" "$PACK/app.tar.xz" && mkdir -p "$PACK/case"
  local exclude; exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"; grep -qx "/$PACK/" "$exclude" 2>/dev/null || echo "/$PACK/" >> "$exclude"
  local node; node=$(readlink -f "$(command -v node)")
  [ "$PACK/node.xz" -nt "$node" ] || xz -T0 -6 -c "$node" > "$PACK/node.xz"   # kept from an earlier pack: minutes
  # The packages the compiled CLI imports at run time (and theirs), Linux x64 binaries only.
  local pkgs=(onnxruntime-common commander zod nifti-reader-js fflate cli-progress string-width strip-ansi ansi-regex
    emoji-regex is-fullwidth-code-point)
  local files=(out/cli bin/halo.mjs package.json)
  for p in "${pkgs[@]}"; do files+=("node_modules/$p"); done
  files+=(node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist
    node_modules/onnxruntime-node/bin/napi-v6/linux/x64)
  tar -chf - "${files[@]}" | xz -T0 -6 > "$PACK/app.tar.xz"
  cp ../shared/data/brats-train/$CASE_ID/*.nii.xz "$PACK/case/"
  du -sh "$PACK"
}

run() {
  local work=/tmp/halo-device-bench out=${OUT:-/tmp/halo-device-bench/out}
  mkdir -p "$work/case" "$out"
  xz -dc "$PACK/node.xz" > "$work/node" && chmod +x "$work/node"
  export PATH="$work:$PATH"
  rm -rf node_modules && tar -xJf "$PACK/app.tar.xz"   # node_modules arrives as a dangling link: replace it
  touch out/cli/halo.mjs                                # newer than the sources: bin/halo.mjs runs the bundle
  for f in "$PACK"/case/*.nii.xz; do xz -dc "$f" > "$work/case/$(basename "${f%.xz}")"; done
  rm "$work/case/${CASE_ID}_seg.nii"
  # Vulkan for WebGPU (see the device tool's README): its loader, if carried, and the NVIDIA driver's ICD.
  if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  export HALO_PYTHON=${HALO_PYTHON:-python3}
  node --version; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
  ldconfig -p | grep libvulkan > /dev/null || echo "note: no libvulkan on this machine: WebGPU cannot load (carry .gl, see the device README)"

  local case=$work/case seed=(--slices 75:76 --steps 10 --ensemble 5 --seed 1 --samples --no-cache --no-progress)
  for dev in cpu cuda webgpu; do
    if node bin/halo.mjs segment --case "$case" "${seed[@]}" --device $dev --out "$work/parity-$dev" > "$work/$dev.out" 2> "$work/$dev.err"; then
      local extra=(--no-python)   # the PyTorch reference runs on the CPU: once, in the CPU row
      if [ $dev = cpu ]; then extra=(); [ "${VOLUME_ON_CPU:-0}" = 1 ] || extra=(--no-volume); fi
      node bin/halo.mjs bench --case "$case" --device $dev --json "${extra[@]}" > "$out/bench-$dev.json" 2> "$work/$dev.bench.err" ||
        { echo "$dev: bench failed: $(tail -1 "$work/$dev.bench.err")"; rm -f "$out/bench-$dev.json"; }
    else
      echo "{\"device\": \"$dev\", \"error\": $(tail -1 "$work/$dev.err" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')}" > "$out/bench-$dev.json"
    fi
  done
  python3 - "$out" "$work" <<'PY'
import gzip, json, os, sys
import numpy as np
out, work = sys.argv[1], sys.argv[2]
def members(dev):
    raw = gzip.open(os.path.join(work, f"parity-{dev}", "samples.nii.gz")).read()
    frames = int(np.frombuffer(raw[40:56], dtype="<i2")[4])  # dim[4]: one volume per ensemble member
    return np.frombuffer(raw[352:], dtype="<f4").reshape(frames, -1)
rows = [("device", "threads", "--help s", "step ms (batch 5)", "slice in view s", "fixed overhead s", "whole volume s", "peak RSS MiB", "max |member - CPU|")]
cpu = members("cpu") if os.path.exists(os.path.join(work, "parity-cpu", "samples.nii.gz")) else None
for dev in ("cpu", "cuda", "webgpu"):
    path = os.path.join(out, f"bench-{dev}.json")
    if not os.path.exists(path):
        continue
    b = json.load(open(path))
    if "error" in b:
        why = b["error"].split("did not load: ", 1)[-1].split(". ", 1)[0]
        rows.append((dev, "-", "-", "-", "-", "-", "-", "-", "did not load: " + why[:90]))
        continue
    diff = "-" if dev == "cpu" or cpu is None else f"{np.abs(members(dev) - cpu).max():.2e}"
    v, s = b.get("wholeVolume"), b["sliceInView"]
    rows.append((b["device"], str(b["threads"] or "-"), str(b["helpSeconds"]), f"{1000 * b['stepSeconds']:.1f}", str(s["wallSeconds"]),
                 str(s["fixedOverheadSeconds"]), str(v["wallSeconds"]) if v else "-", str(max(s["peakRssMiB"], v["peakRssMiB"] if v else 0)), diff))
    if b.get("pytorch"):
        print(f"PyTorch reference (CPU, {b['pytorch']['threads']} threads, batch 5 at {b['modelInput']}): {1000 * b['pytorch']['stepSeconds']:.1f} ms per step")
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for r in rows:
    print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
PY
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: bash scripts/device-bench.sh pack|run" >&2; exit 2 ;;
esac
