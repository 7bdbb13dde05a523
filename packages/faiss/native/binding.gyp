{
  "targets": [
    {
      "target_name": "reindex_faiss",
      "sources": ["addon.cc", "index_wrap.cc", "index_io.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node ../scripts/faiss-location.cjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "REINDEX_FAISS_SIMD=\"<!(node ../scripts/faiss-location.cjs simd)\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fopenmp", "-O3", "-mavx2", "-mfma", "-mf16c", "-mpopcnt"],
      "libraries": [
        "-L<!(node ../scripts/faiss-location.cjs lib)",
        "-Wl,--whole-archive -l<!(node ../scripts/faiss-location.cjs libname) -Wl,--no-whole-archive",
        "-lopenblas",
        "-lgomp"
      ],
      "ldflags": ["-fopenmp"]
    }
  ]
}
