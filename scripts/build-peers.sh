#!/usr/bin/env bash
# Builds the peers bench/sidecar.ts measures the sidecar against — Knative Serving's queue-proxy, from
# the Go module proxy — into a cache outside the repository, and checks the Debian packages the bench
# uses (nginx-light as app and reverse proxy, wrk as load generator). Prints queue-proxy's path.
# Usage: scripts/build-peers.sh [--print-path]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/versions.env"

cache_root=${LULL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lull}
bin_dir="$cache_root/peers/knative-serving-$KNATIVE_SERVING_VERSION"
queue="$bin_dir/queue"

if [ "${1:-}" = "--print-path" ]; then echo "$queue"; exit 0; fi

# Debian packages: installed when root, otherwise the command is printed.
packages=(nginx-light wrk)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # The package's own nginx service is not wanted: the bench starts its own instances.
    if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then systemctl disable --now nginx >&2 || true; fi
  else
    echo "missing Debian packages; as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

if [ -x "$queue" ]; then echo "queue-proxy cached in $queue" >&2; echo "$queue"; exit 0; fi

command -v go >/dev/null || { echo "error: Go is needed to build queue-proxy ($queue is absent)" >&2; exit 1; }

# A throwaway module that requires Knative Serving; its go.mod pins a gorilla/websocket the proxy serves.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module lull.dev/build/peers

go 1.26

require knative.dev/serving $KNATIVE_SERVING_VERSION

replace github.com/gorilla/websocket => github.com/gorilla/websocket $GORILLA_WEBSOCKET_VERSION
MOD
cat > tools.go <<'GO'
//go:build tools

package peers

import _ "knative.dev/serving/cmd/queue"
GO
echo "building Knative Serving $KNATIVE_SERVING_VERSION queue-proxy into $bin_dir — takes minutes on a cold cache" >&2
start=$(date +%s)
GOFLAGS=-mod=mod go mod tidy >&2
mkdir -p "$bin_dir"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$queue.tmp" knative.dev/serving/cmd/queue
mv "$queue.tmp" "$queue"
echo "queue-proxy built in $(( $(date +%s) - start ))s: $queue" >&2
echo "$queue"
