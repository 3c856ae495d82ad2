# syntax=docker/dockerfile:1
# The one Lull image: `lull webhook|sidecar|reconciler|interceptor|status|wake|sleep` (bin/lull.ts),
# TypeScript run directly by Node 24's type stripping (no build step; our code is not under
# node_modules, where Node refuses to strip types). The webhook injects this same image as the sidecar.
#   docker build -t ghcr.io/lull-dev/lull:0.1.0 .

# Production dependencies only: `npm ci --omit=dev` (the `node` dev dependency that pins Node 24 for
# development is not needed: the base image is Node 24).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY core ./core
COPY webhook ./webhook
COPY sidecar ./sidecar
COPY reconciler ./reconciler
COPY interceptor ./interceptor
COPY cli ./cli
# Node's compile cache (bin/lull.ts enables it), filled at build time: a waking sidecar starts without
# stripping and compiling every module again. Read-only at run time, which is all it needs.
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN for part in sidecar webhook reconciler interceptor status wake sleep; do node bin/lull.ts "$part" --help >/dev/null; done
# Non-root, numeric so `runAsNonRoot` can verify it; the manifests run it with a read-only root filesystem.
USER 65532:65532
ENTRYPOINT ["node", "bin/lull.ts"]
