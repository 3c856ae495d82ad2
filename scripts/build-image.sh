#!/usr/bin/env bash
# Builds the Lull image as an OCI image without Docker, from Debian packages: a minimal Debian rootfs
# (mmdebstrap, only the libraries Node links), Node 24 from the pinned npm `node` package, production
# dependencies (npm ci --omit=dev), package.json and the pre-built dist/. Same layout as the Dockerfile:
# /app/{dist,node_modules,package.json}, /usr/local/bin/node, user 65532:65532, entrypoint
# `node dist/lull.mjs` in /app. Four layers (debian, node, node_modules, app) so a code change ships one.
#
# Output, in a cache outside git keyed by a hash of the inputs (a rerun with the same inputs is a no-op):
#   <cache>/image/<key>/oci              OCI layout, reference ghcr.io/lull-dev/lull:<version>
#   <cache>/image/<key>/lull.oci.tar     the same layout as one file (skopeo's oci-archive:)
# Prints the layout as a skopeo reference on stdout: oci:<dir>:<reference>
#   scripts/build-image.sh [--print-ref]      --print-ref: only print where the current inputs' image is (or would be)
#   skopeo copy oci:<dir>:<reference> docker://ghcr.io/you/lull:0.1.0
# Needs root (mmdebstrap's root mode), umoci, skopeo and mmdebstrap (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cache_root=${LULL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lull}
images="$cache_root/image"
node=node_modules/.bin/node
version=$("$node" -p 'require("./package.json").version')
reference=${LULL_IMAGE_REFERENCE:-ghcr.io/lull-dev/lull:$version}
# Reproducible layers (file times and history), so the same inputs give the same digests.
epoch=0

# The Debian suite and the packages Node's binary links (ldd: libc, libstdc++, libgcc_s); nothing else.
suite=bookworm
packages=libc6,libgcc-s1,libstdc++6,gcc-12-base
mirrors=("deb http://deb.debian.org/debian $suite main" "deb http://deb.debian.org/debian $suite-updates main" "deb http://deb.debian.org/debian-security $suite-security main")

log() { echo "build-image: $*" >&2; }
hash() { sha256sum | cut -c1-16; }
elapsed() { echo "$(( $(date +%s%N) / 1000000 - $1 ))ms"; }

# dist/ first: its content is part of the key (scripts/build.ts skips when fresh).
"$node" scripts/build.ts

node_binary=$(readlink -f node_modules/node/bin/node)
node_version=$("$node_binary" --version)
debian_key=$( { echo "$suite $packages ${mirrors[*]}"; sed -n '/^# debian-layer-begin/,/^# debian-layer-end/p' "$0"; } | hash)
deps_key=$(cat package.json package-lock.json | hash)
# Everything that reaches the image: the script itself, the Debian layer, Node, dependencies, dist/.
key=$( {
  cat "$0"; echo "$debian_key $deps_key $node_version $reference"
  sha256sum "$node_binary" | cut -c1-64
  (cd dist && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | hash)
out="$images/lull-$key"
if [ "${1:-}" = "--print-ref" ]; then echo "oci:$out/oci:$reference"; exit 0; fi
if [ -f "$out/done" ]; then
  log "cached: $out"
  touch "$out/done"
  echo "oci:$out/oci:$reference"
  exit 0
fi

for tool in mmdebstrap umoci skopeo; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "error: building the image needs root (mmdebstrap and umoci keep file ownership)" >&2; exit 1; }

started=$(( $(date +%s%N) / 1000000 ))
mkdir -p "$images"
work=$(mktemp -d "$images/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT

# debian-layer-begin (a change between these markers rebuilds the Debian layer)
debian="$images/debian-$debian_key"
if [ ! -d "$debian" ]; then
  t=$(( $(date +%s%N) / 1000000 ))
  mkdir -p "$work/debian"
  mmdebstrap --quiet --variant=extract --include="$packages" --mode=root "$suite" "$work/debian/rootfs" "${mirrors[@]}" >&2
  rootfs="$work/debian/rootfs"
  # What apt and the host left in the tree is not part of an image; the kubelet provides resolv.conf and hosts.
  rm -rf "$rootfs"/etc/apt "$rootfs"/var/cache/apt "$rootfs"/var/lib/apt "$rootfs"/var/log/* \
    "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname "$rootfs"/etc/fstab "$rootfs"/dev/*
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
  # Without it glibc asks DNS before /etc/hosts, even for localhost.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
  mkdir -p "$rootfs"/{proc,sys,dev,root,home/nonroot,usr/local/bin}
  chown 65532:65532 "$rootfs/home/nonroot"
  chmod 1777 "$rootfs/tmp"
  find "$rootfs" -exec touch -h -d "@$epoch" {} +
  mv "$work/debian" "$debian"
  log "debian layer ($suite: $packages) in $(elapsed "$t")"
fi
# debian-layer-end

deps="$images/deps-$deps_key"
if [ ! -d "$deps" ]; then
  t=$(( $(date +%s%N) / 1000000 ))
  mkdir -p "$work/deps"
  cp package.json package-lock.json "$work/deps/"
  # Production dependencies only; the `node` dev dependency is the Node the image gets from its own layer.
  (cd "$work/deps" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
  rm "$work/deps/package.json" "$work/deps/package-lock.json" "$work/deps/node_modules/.package-lock.json"
  find "$work/deps" -exec touch -h -d "@$epoch" {} +
  mv "$work/deps" "$deps"
  log "production dependencies in $(elapsed "$t")"
fi

created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
insert() { umoci insert --image "$1:build" --history.created="$created" --history.created_by="$4" "$2" "$3"; }

# Debian, Node and the dependencies as a layout of their own, reused (hard links) by every app build.
base="$images/base-$(echo "$debian_key $deps_key $node_version" | hash)"
if [ ! -d "$base" ]; then
  t=$(( $(date +%s%N) / 1000000 ))
  mkdir -p "$work/node"
  cp "$node_binary" "$work/node/node"
  touch -h -d "@$epoch" "$work/node/node"
  umoci init --layout "$work/base"
  umoci new --image "$work/base:build"
  insert "$work/base" "$debian/rootfs" / "debian $suite: $packages"
  insert "$work/base" "$work/node/node" /usr/local/bin/node "node $node_version"
  insert "$work/base" "$deps/node_modules" /app/node_modules "npm ci --omit=dev"
  mv "$work/base" "$base"
  log "base layers (debian, node, node_modules) in $(elapsed "$t")"
fi

t=$(( $(date +%s%N) / 1000000 ))
mkdir -p "$work/app"
cp -r dist "$work/app/dist"
cp package.json "$work/app/package.json"
find "$work/app" -exec touch -h -d "@$epoch" {} +
oci="$work/oci"
# umoci never rewrites a blob (content-addressed), so hard links to the base's are safe; index.json it does.
mkdir "$oci"
cp -al "$base/blobs" "$oci/blobs"
cp "$base/index.json" "$base/oci-layout" "$oci/"
insert "$oci" "$work/app" /app "lull $version: package.json, dist/"
umoci config --image "$oci:build" --tag="$reference" --created="$created" --history.created="$created" --history.created_by="lull config" \
  --config.user=65532:65532 --config.workingdir=/app \
  --config.entrypoint=node --config.entrypoint=dist/lull.mjs \
  --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env=NODE_ENV=production --config.env=NODE_DISABLE_COMPILE_CACHE=1 \
  --config.label=org.opencontainers.image.version="$version" \
  --config.label=org.opencontainers.image.source=https://github.com/lull-dev/lull \
  --config.label=org.opencontainers.image.licenses=Apache-2.0
umoci rm --image "$oci:build"
umoci gc --layout "$oci"
# Readable by whoever copies it to a registry (umoci writes blobs 0600).
chmod -R a+rX "$oci"
tar -C "$oci" -cf "$work/lull.oci.tar" .
log "image layers in $(elapsed "$t")"

touch "$work/done"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
# Keep the newest few of each (the app images share the base's blobs by hard links).
for kind in lull base deps debian; do
  ls -1dt "$images/$kind"-*/ 2>/dev/null | tail -n +$([ $kind = lull ] && echo 4 || echo 3) | xargs -r rm -rf
done
log "built $reference in $(elapsed "$started"): $out ($(du -sh "$out/oci" | cut -f1))"
echo "oci:$out/oci:$reference"
