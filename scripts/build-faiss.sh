#!/usr/bin/env bash
# Builds faiss 1.7.3 from Debian's source package with AVX2 kernels into $REINDEX_FAISS_PREFIX (default /opt/reindex/faiss).
# Why: Debian's libfaiss-dev is compiled for baseline x86-64 (no AVX2), which makes PQ
# encoding and distance kernels slower: IVF-PQ train + add took 2.5x as long in bench:faiss
# (docs/benchmarks.md).
# Only Debian's archive is used (deb-src), never another host. Idempotent: a finished
# build is recognised by its stamp file and skipped.
set -euo pipefail

FAISS_PREFIX=${REINDEX_FAISS_PREFIX:-/opt/reindex/faiss}
FAISS_OPT_LEVEL=${FAISS_OPT_LEVEL:-avx2}
stamp="$FAISS_PREFIX/.reindex-build-$FAISS_OPT_LEVEL"
if [[ -f "$stamp" ]]; then
  echo "faiss ($FAISS_OPT_LEVEL) already built in $FAISS_PREFIX"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

# deb-src entries for the same suite the machine installs binaries from.
src_list=/etc/apt/sources.list.d/reindex-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  "${sudo_cmd[@]}" tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  "${sudo_cmd[@]}" apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only faiss=1.7.3-2 2>/dev/null || apt-get source -qq --download-only faiss
dpkg-source -x --no-check faiss_1.7.3-*.dsc src >/dev/null

cmake -S src -B build -DCMAKE_BUILD_TYPE=Release \
  -DFAISS_OPT_LEVEL="$FAISS_OPT_LEVEL" -DFAISS_ENABLE_GPU=OFF -DFAISS_ENABLE_PYTHON=OFF \
  -DBUILD_TESTING=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBLA_VENDOR=OpenBLAS -DCMAKE_INSTALL_PREFIX="$FAISS_PREFIX" >/dev/null
cmake --build build --target "faiss$([[ $FAISS_OPT_LEVEL == avx2 ]] && echo _avx2)" -j "$(nproc)"
# Install by hand: faiss's install rule also wants the generic library we did not build.
"${sudo_cmd[@]}" mkdir -p "$FAISS_PREFIX/lib" "$FAISS_PREFIX/include"
"${sudo_cmd[@]}" cp build/faiss/libfaiss*.a "$FAISS_PREFIX/lib/"
(cd src && find faiss -name '*.h' -not -path '*/gpu/*' -print0 | "${sudo_cmd[@]}" cpio -0pdm --quiet "$FAISS_PREFIX/include")
"${sudo_cmd[@]}" touch "$stamp"
echo "faiss ($FAISS_OPT_LEVEL) installed in $FAISS_PREFIX"
