#!/usr/bin/env bash
# Builds a second copy of @reindex/faiss linked against Debian's libfaiss-dev (generic x86-64
# kernels, no AVX2) into $1 (default /tmp/reindex-faiss-generic), for
#   pnpm run bench:faiss -- --compare-module /tmp/reindex-faiss-generic/dist/index.js
set -euo pipefail
out=${1:-/tmp/reindex-faiss-generic}
root=$(cd "$(dirname "$0")/../../.." && pwd)
dpkg-query -W -f='${Status}' libfaiss-dev 2>/dev/null | grep -q "install ok installed" || apt-get install -y -qq libfaiss-dev >/dev/null
rm -rf "$out" && mkdir -p "$out/prefix/lib"
ln -s /usr/lib/x86_64-linux-gnu/libfaiss.a "$out/prefix/lib/libfaiss.a"
ln -s /usr/include "$out/prefix/include"
cp -r "$root/packages/faiss/native" "$root/packages/faiss/scripts" "$root/packages/faiss/dist" "$out/"
rm -rf "$out/native/build"
ln -s "$root/packages/faiss/node_modules" "$out/node_modules"
echo '{"type":"module"}' > "$out/package.json"
(cd "$out" && REINDEX_FAISS_PREFIX="$out/prefix" node scripts/build-native.mjs >/dev/null)
node -e "import('$out/dist/index.js').then((m) => console.log('built', m.faissSimd, 'binding in $out'))"
