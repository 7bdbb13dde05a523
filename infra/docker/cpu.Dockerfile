# syntax=docker/dockerfile:1.7
# CPU image of reindex: the coordinator CLI (`reindex`), the dashboard (`reindex-dashboard`) and
# the CPU worker (`reindex-worker --device cpu`). Which one runs is the container's command.
#
# Build from the repository root (the context must be the whole workspace):
#   docker build -f infra/docker/cpu.Dockerfile -t reindex-cpu:0.1.0 .
# cpu.Dockerfile.dockerignore beside this file is the ignore file BuildKit uses for it.
#
# The build stage runs the steps of scripts/setup.sh: Debian 12 toolchain and OpenBLAS, faiss
# 1.7.3 from Debian's source package with AVX2 kernels (scripts/build-faiss.sh), pnpm through
# corepack, `pnpm install` with ONNXRUNTIME_NODE_INSTALL=skip (CPU binaries ship in the npm
# tarball), `pnpm run build`. faiss is linked statically into the addon (--whole-archive), so
# the runtime stage needs only OpenBLAS, libgomp and libstdc++.
# Not included from setup.sh: redis-server, python3-faiss, python3-numpy (tests only).

ARG NODE_BUILD_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${NODE_BUILD_IMAGE} AS build
# The addon is compiled with -mavx2 (packages/faiss/native/binding.gyp): nodes need AVX2.
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
# faiss first: its layer is reused until build-faiss.sh changes.
COPY scripts/build-faiss.sh scripts/build-faiss.sh
RUN FAISS_OPT_LEVEL="${FAISS_OPT_LEVEL}" bash scripts/build-faiss.sh
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN corepack enable \
 && corepack prepare "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")" --activate
COPY . .
RUN pnpm install --frozen-lockfile && pnpm run build
# faiss must be inside the addon, not a shared library the runtime would lack.
RUN ! ldd packages/faiss/native/build/Release/reindex_faiss.node | grep -q libfaiss
# Production dependencies only (pnpm prune does not handle workspaces: re-install instead).
RUN rm -rf node_modules packages/*/node_modules test/node_modules \
 && pnpm install --frozen-lockfile --prod --offline \
 && node infra/docker/link-bins.mjs /app /app/bin reindex reindex-worker reindex-dashboard

FROM ${NODE_RUNTIME_IMAGE} AS runtime
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libopenblas0-pthread libgomp1 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 reindex \
 && useradd --system --uid 10001 --gid reindex --home-dir /app --no-create-home --shell /usr/sbin/nologin reindex
WORKDIR /app
COPY --from=build /app/package.json /app/pnpm-workspace.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/bin ./bin
COPY infra/docker/healthcheck.mjs /usr/local/lib/reindex/healthcheck.mjs
# Fails the image build, not the first night, when a runtime library is missing.
RUN node -e "require('/app/packages/faiss/native/build/Release/reindex_faiss.node')"
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH \
    REINDEX_HEALTH_URL=http://127.0.0.1:9464/healthz
USER 10001:10001
# 9464: worker /healthz and /metrics; 3000: dashboard.
EXPOSE 9464 3000
# Docker only (Kubernetes ignores HEALTHCHECK and uses the probes in infra/k8s). Set
# REINDEX_HEALTH_URL=http://127.0.0.1:3000/healthz for the dashboard, =none for the one-shot CLI.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/reindex/healthcheck.mjs"]
# tini is PID 1: it forwards SIGTERM to node and reaps zombies (onnxruntime/faiss threads, redis-cli).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["reindex-worker", "--concurrency", "1", "--device", "cpu"]
