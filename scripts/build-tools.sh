#!/usr/bin/env bash
# Builds the pinned test tools that are not part of the control plane (helm) from their official Go
# modules into a cache outside the repository. Prints the directory that holds them.
# Usage: scripts/build-tools.sh [--print-dir | --optional]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# The one place the versions are pinned; test/cluster/binaries.ts reads this file.
source "$here/scripts/versions.env"

cache_root=${LULL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lull}
bin_dir="$cache_root/tools/helm-$HELM_VERSION"

if [ "${1:-}" = "--print-dir" ]; then echo "$bin_dir"; exit 0; fi
if [ -x "$bin_dir/helm" ]; then echo "helm cached in $bin_dir" >&2; echo "$bin_dir"; exit 0; fi

if ! command -v go >/dev/null; then
  # --optional (npm test outside CI): the chart tests then skip loudly instead of failing here.
  if [ "${1:-}" = "--optional" ]; then echo "warning: no Go to build helm into $bin_dir: the chart tests will be skipped" >&2; exit 0; fi
  echo "error: Go is needed to build helm (none in $bin_dir)" >&2; exit 1
fi

work="$cache_root/build/helm"
mkdir -p "$work" "$bin_dir"
start=$(date +%s)
progress() { awk -v what="$1" -v t0="$start" '{ n++; if (n % 200 == 0) { printf "  %s: %d packages compiled (%ds)\n", what, n, systime() - t0; fflush() } } END { printf "  %s: %d packages compiled\n", what, n }' >&2; }

# A wrapper module pins helm's exact version and its go.sum; helm's own go.mod has no replaces.
major=${HELM_VERSION%%.*}
cd "$work"
cat > go.mod <<MOD
module lull.dev/build/helm

go 1.26

require helm.sh/helm/$major $HELM_VERSION
MOD
cat > tools.go <<GO
//go:build tools

package tools

import _ "helm.sh/helm/$major/cmd/helm"
GO
echo "building helm $HELM_VERSION into $bin_dir — takes minutes on a cold cache" >&2
GOFLAGS=-mod=mod go mod tidy >&2
ldflags="-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION -X helm.sh/helm/$major/internal/version.gitTreeState=clean"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -v -trimpath -ldflags "$ldflags" -o "$bin_dir/helm" "helm.sh/helm/$major/cmd/helm" 2>&1 | progress helm

[ -x "$bin_dir/helm" ] || { echo "error: helm was not built" >&2; exit 1; }
echo "helm built in $(( $(date +%s) - start ))s: $bin_dir" >&2
echo "$bin_dir"
