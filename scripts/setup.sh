#!/usr/bin/env bash
# One-command set-up on Debian 12 with Node 20: system packages, faiss (AVX2 build from
# Debian's source package), pnpm, dependencies, and a build of every package.
# Idempotent: a second run installs nothing and rebuilds only what changed.
# Only Debian's archive and the npm registry are used.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

# System packages: toolchain for the native addon and faiss, BLAS, Redis for the queues,
# python3-faiss as an independent faiss reader in tests, python3-torch for the PyTorch export
# recipe's test (a real torch.onnx.export), Chromium for the dashboard's browser test.
packages=(
  g++ make cmake python3 dpkg-dev cpio
  libopenblas-dev liblapack-dev
  redis-server
  python3-faiss python3-numpy python3-torch
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A Redis started by the package would hold port 6379; reindex starts private servers itself.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

# faiss with AVX2 kernels (see docs/benchmarks.md for why not Debian's generic build).
if grep -qw avx2 /proc/cpuinfo; then
  bash scripts/build-faiss.sh
else
  echo "setup: no AVX2 on this CPU; building faiss's generic kernels"
  FAISS_OPT_LEVEL=generic bash scripts/build-faiss.sh
fi

# pnpm, pinned by package.json's packageManager.
pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null || [[ $(pnpm --version 2>/dev/null) != "$pnpm_version" ]]; then
  if command -v corepack >/dev/null; then
    export COREPACK_INTEGRITY_KEYS=0 COREPACK_ENABLE_DOWNLOAD_PROMPT=0
    "${sudo_cmd[@]}" env COREPACK_INTEGRITY_KEYS=0 corepack enable
    corepack prepare "pnpm@$pnpm_version" --activate >/dev/null
  else
    "${sudo_cmd[@]}" npm install -g "pnpm@$pnpm_version" >/dev/null
  fi
fi

# onnxruntime-node's CPU binaries ship in its npm tarball; its install script would fetch
# CUDA parts from outside the registry, so CPU machines skip it (GPU images opt in, infra/).
export ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL:-skip}
export ONNXRUNTIME_NODE_INSTALL_CUDA=${ONNXRUNTIME_NODE_INSTALL_CUDA:-skip}
pnpm install --frozen-lockfile --prefer-offline
pnpm run build
echo "setup: done"
