#!/usr/bin/env bash
# Builds the pinned Kubernetes control-plane binaries and etcd from their official Go modules
# into a cache outside the repository. Prints the directory that holds them.
# Usage: scripts/control-plane.sh [--print-dir]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# The one place the versions are pinned; test/cluster/binaries.ts reads this file.
source "$here/scripts/versions.env"

cache_root=${LULL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lull}
bin_dir="$cache_root/control-plane/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION"

if [ "${1:-}" = "--print-dir" ]; then echo "$bin_dir"; exit 0; fi

k8s_bins=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl)
missing=0
for b in "${k8s_bins[@]}" etcd; do [ -x "$bin_dir/$b" ] || missing=1; done
if [ $missing = 0 ]; then echo "control-plane binaries cached in $bin_dir" >&2; echo "$bin_dir"; exit 0; fi

command -v go >/dev/null || { echo "error: Go is needed to build the control-plane binaries (none in KUBEBUILDER_ASSETS, PATH or $bin_dir)" >&2; exit 1; }

work="$cache_root/build"
mkdir -p "$work" "$bin_dir"
start=$(date +%s)
progress() { awk -v what="$1" -v t0="$start" '{ n++; if (n % 200 == 0) { printf "  %s: %d packages compiled (%ds)\n", what, n, systime() - t0; fflush() } } END { printf "  %s: %d packages compiled\n", what, n }' >&2; }

# k8s.io/kubernetes replaces its staging modules with local paths, so it cannot be built directly:
# a wrapper module requires it and points each staging module at its published v0.x version.
k8s_minor=${KUBERNETES_VERSION#v1.}
staging_version="v0.$k8s_minor"
mkdir -p "$work/kubernetes"
cd "$work/kubernetes"
{
  echo "module lull.dev/build/kubernetes"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  echo "replace ("
  go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" >/dev/null
  modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod
  sed -n 's#^\tk8s.io/\([a-z0-9-]*\) => ./staging/src/k8s.io/.*#\1#p' "$modfile" | while read -r m; do
    echo "	k8s.io/$m => k8s.io/$m $staging_version"
  done
  echo ")"
} > go.mod.new
mv go.mod.new go.mod
echo "building Kubernetes $KUBERNETES_VERSION (${k8s_bins[*]}) into $bin_dir — takes minutes on a cold cache" >&2
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${k8s_minor%%.*} -X $pkg.gitTreeState=clean"
done
pkgs=()
for b in "${k8s_bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
GOFLAGS=-mod=mod go mod download k8s.io/kubernetes
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -v -trimpath -ldflags "$ldflags" -o "$bin_dir/" "${pkgs[@]}" 2>&1 | progress kubernetes

# etcd's server, from a wrapper of its own that calls etcdmain.
mkdir -p "$work/etcd"
cd "$work/etcd"
cat > go.mod <<MOD
module lull.dev/build/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
echo "building etcd $ETCD_VERSION" >&2
GOFLAGS=-mod=mod go mod tidy >&2
CGO_ENABLED=0 go build -v -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" . 2>&1 | progress etcd

for b in "${k8s_bins[@]}" etcd; do [ -x "$bin_dir/$b" ] || { echo "error: $b was not built" >&2; exit 1; }; done
echo "control-plane binaries built in $(( $(date +%s) - start ))s: $bin_dir" >&2
echo "$bin_dir"
