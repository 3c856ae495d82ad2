#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh Debian machine: system packages, then npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: pod network namespaces and the bridge; iptables: kube-proxy's rules; nftables: cleanup of the
# empty tables iptables-nft leaves; conntrack: kube-proxy
# flushes stale UDP entries with it; python3: fixture apps; kmod: br_netfilter; chromium: the waiting
# page's browser test (test/e2e/waiting-page.test.ts, driven over the DevTools protocol); prometheus: the
# observability test scrapes the parts with it, and promtool parses the Grafana dashboard's queries.
# mmdebstrap, umoci, skopeo: the Lull image without Docker (scripts/build-image.sh).
packages=(iproute2 iptables nftables conntrack kmod python3 ca-certificates curl chromium prometheus mmdebstrap umoci skopeo)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages (install them as root): ${missing[*]}" >&2
    exit 1
  fi
fi

# Node 24 comes from the `node` dev dependency; npm ci brings it along with everything else.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm checks `engines` against the machine's node, older than the Node 24 it is installing: those
  # EBADENGINE warnings say nothing useful, so they are dropped; every other line is shown.
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
    grep -v '^npm warn EBADENGINE' "$log" >&2
    echo "npm ci failed (above)" >&2
    exit 1
  fi
  grep -v -e '^npm warn EBADENGINE' -e '^added [0-9]* packages' -e '^$' "$log" >&2 || true
  echo "npm ci: installed; using Node $(node_modules/.bin/node --version) from node_modules (this machine's node is $(node --version 2>/dev/null || echo absent))"
fi

# dist/lull.mjs: what the image and the local cluster's pods run (skipped when newer than every source).
node_modules/.bin/node scripts/build.ts
