// Where to find faiss for the addon: REINDEX_FAISS_PREFIX, else the AVX2 build that
// scripts/build-faiss.sh installs, else Debian's libfaiss-dev (generic x86-64 code).
// Usage from binding.gyp: node scripts/faiss-location.cjs <include|lib|libname|simd>
const fs = require('node:fs');
const path = require('node:path');

function locate() {
  const candidates = [process.env.REINDEX_FAISS_PREFIX, '/opt/reindex/faiss'].filter(Boolean);
  for (const prefix of candidates) {
    for (const [libname, simd] of [['faiss_avx2', 'avx2'], ['faiss', 'generic']]) {
      if (fs.existsSync(path.join(prefix, 'lib', `lib${libname}.a`))) {
        return { include: path.join(prefix, 'include'), lib: path.join(prefix, 'lib'), libname, simd };
      }
    }
  }
  const system = '/usr/lib/x86_64-linux-gnu';
  if (fs.existsSync(path.join(system, 'libfaiss.a')) || fs.existsSync(path.join(system, 'libfaiss.so'))) {
    return { include: '/usr/include', lib: system, libname: 'faiss', simd: 'generic' };
  }
  throw new Error('faiss not found: run scripts/setup.sh (or set REINDEX_FAISS_PREFIX)');
}

module.exports = { locate };
if (require.main === module) {
  process.stdout.write(String(locate()[process.argv[2]]));
}
