# syntax=docker/dockerfile:1
# The one Lull image: `lull webhook|sidecar|reconciler|interceptor|status|wake|sleep`, run from the
# pre-built JavaScript artefact dist/lull.mjs (scripts/build.ts): no type stripping, no walk of our
# module graph at start, which a waking sidecar would pay on the request path. The local cluster runs
# the same artefact. The webhook injects this same image as the sidecar.
#   docker build -t ghcr.io/lull-dev/lull:0.1.0 .
# Without Docker, scripts/build-image.sh builds the same layout (paths, user, entrypoint, env) from Debian packages.

# dist/ is built inside the image build, from the sources in the context, with the dev dependencies
# (rolldown); none of it reaches the final stage but dist/ itself.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.ts --force

# Production dependencies only: `npm ci --omit=dev` (the `node` dev dependency that pins Node 24 for
# development is not needed: the base image is Node 24). They stay external to the bundle.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
# package.json beside dist/: the webhook reads the version from it, and it makes the files ES modules' scope.
COPY package.json ./
COPY --from=build /src/dist ./dist
# No compile cache: measured, it does not speed up the bundle's start (bench/sidecar-boot.ts), and the
# root filesystem is read-only at run time.
ENV NODE_DISABLE_COMPILE_CACHE=1
# Non-root, numeric so `runAsNonRoot` can verify it; the manifests run it with a read-only root filesystem.
USER 65532:65532
ENTRYPOINT ["node", "dist/lull.mjs"]
LABEL org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/lull-dev/lull" \
      org.opencontainers.image.licenses="Apache-2.0"
