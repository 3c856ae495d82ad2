#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh Debian machine: system packages, then npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: pod network namespaces and the bridge; iptables: kube-proxy's rules; nftables: cleanup of the
# empty tables iptables-nft leaves; conntrack: kube-proxy
# flushes stale UDP entries with it; python3: fixture apps; kmod: br_netfilter.
packages=(iproute2 iptables nftables conntrack kmod python3 ca-certificates curl)
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
  npm ci --no-audit --no-fund
fi
