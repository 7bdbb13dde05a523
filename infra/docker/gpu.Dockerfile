# syntax=docker/dockerfile:1.7
# GPU worker image of reindex: `reindex-worker --device cuda` with onnxruntime-node's CUDA
# execution provider.
#
# Build from the repository root (the context must be the whole workspace):
#   docker build -f infra/docker/gpu.Dockerfile -t reindex-gpu:0.1.0 .
# gpu.Dockerfile.dockerignore beside this file is the ignore file BuildKit uses for it.
#
# The build stage is the CPU image's (the steps of scripts/setup.sh on Debian 12), plus one
# step: onnxruntime-node's own install script, with ONNXRUNTIME_NODE_INSTALL=cuda12, fetches
# the CUDA execution provider (libonnxruntime_providers_cuda.so and friends) from NuGet, the
# one download outside Debian and npm. pnpm-workspace.yaml keeps that script off
# (onlyBuiltDependencies: []), so this image runs exactly that script and no other.
#
# Runtime: NVIDIA's CUDA 12 + cuDNN 9 runtime (what onnxruntime 1.30's CUDA 12 provider links
# against). NVIDIA publishes no Debian 12 images; Ubuntu 24.04 has a newer glibc (2.39) and
# libstdc++ than Debian 12 (2.36, GCC 12), so binaries built in the Debian stage run there.
# faiss is static inside the addon: only OpenBLAS and libgomp come from Ubuntu.

ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

FROM ${NODE_RUNTIME_IMAGE} AS node

FROM ${NODE_BUILD_IMAGE} AS build
ARG FAISS_OPT_LEVEL=avx2
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
    COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    COREPACK_INTEGRITY_KEYS=0 \
    CI=true
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      g++ make cmake python3 dpkg-dev cpio libopenblas-dev liblapack-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY scripts/build-faiss.sh scripts/build-faiss.sh
RUN FAISS_OPT_LEVEL="${FAISS_OPT_LEVEL}" bash scripts/build-faiss.sh
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN corepack enable \
 && corepack prepare "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")" --activate
COPY . .
RUN pnpm install --frozen-lockfile && pnpm run build
RUN ! ldd packages/faiss/native/build/Release/reindex_faiss.node | grep -q libfaiss
RUN rm -rf node_modules packages/*/node_modules test/node_modules \
 && pnpm install --frozen-lockfile --prod --offline \
 && node infra/docker/link-bins.mjs /app /app/bin reindex-worker
# onnxruntime-node with its CUDA execution provider: run the package's install script, then
# check that the provider libraries are where onnxruntime looks for them.
RUN ort_dir="$(dirname "$(node -p "require.resolve('onnxruntime-node/package.json', { paths: ['/app/packages/item-tower'] })")")" \
 && (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install) \
 && test -f "$ort_dir/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" \
 && test -f "$ort_dir/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so"

FROM ${CUDA_RUNTIME_IMAGE} AS runtime
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread libgomp1 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 reindex \
 && useradd --system --uid 10001 --gid reindex --home-dir /app --no-create-home --shell /usr/sbin/nologin reindex
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json /app/pnpm-workspace.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/bin ./bin
COPY infra/docker/healthcheck.mjs /usr/local/lib/reindex/healthcheck.mjs
# Loads without a GPU: the addon, and onnxruntime with its CPU provider. The CUDA provider can
# only be exercised on a GPU node (see infra/README.md, "GPU nodes").
RUN node -e "require('/app/packages/faiss/native/build/Release/reindex_faiss.node')" \
 && node -e "require(require.resolve('onnxruntime-node', { paths: ['/app/packages/item-tower'] }))"
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH \
    REINDEX_HEALTH_URL=http://127.0.0.1:9464/healthz \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "/usr/local/lib/reindex/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["reindex-worker", "--concurrency", "1", "--device", "cuda"]
