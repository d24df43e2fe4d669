#!/usr/bin/env bash
# Decompress BraTS case folders stored as .nii.xz (../shared/data/brats-train) into plain .nii case folders that
# `halo evaluate --cases` reads. Usage: unpack_cases.sh OUT_DIR CASE_DIR...   (already unpacked files are kept)
set -euo pipefail
out="$1"; shift
for case in "$@"; do
  name="$(basename "$case")"
  mkdir -p "$out/$name"
  for f in "$case"/*; do
    base="$(basename "$f")"
    case "$base" in
      *.nii.xz) target="$out/$name/${base%.xz}"; [ -s "$target" ] || { xz -dc "$f" > "$target.tmp" && mv "$target.tmp" "$target"; } ;;
      *.nii|*.nii.gz) [ -e "$out/$name/$base" ] || cp "$f" "$out/$name/$base" ;;
    esac
  done
done
