#!/usr/bin/env bash
# Installs everything Halo's tests and tools need on a fresh Debian machine (as root, or with sudo):
# Debian packages (PyTorch/ONNX for the training code, DCMTK + dicom3tools + pydicom for DICOM checks, Orthanc for
# the PACS tests, Chromium for the end-to-end tests, redis-server for the job-queue tests, openssl for the TLS
# tests' own CA) and the npm packages. Offline-safe: the Electron binary and onnxruntime-node's CUDA libraries are
# not downloaded (see README, "GPU inference").
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-torch python3-numpy python3-onnx python3-nibabel python3-scipy python3-pydicom
  dcmtk dicom3tools orthanc orthanc-dicomweb chromium redis-server openssl
)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}"
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
npm ci --no-audit --no-fund
