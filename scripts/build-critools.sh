#!/usr/bin/env bash
# Builds crictl and critest of sigs.k8s.io/cri-tools (the version below) from
# the Go module proxy into a cache directory, once: the e2e CRI tests and
# bench/cri.sh look for them there and skip when they are missing.
#   scripts/build-critools.sh [cache-dir]    (default /root/.cache/berth)
set -euo pipefail
VERSION=v1.37.0
CACHE="${1:-${BERTH_CRITOOLS_CACHE:-/root/.cache/berth}}"
CRICTL="$CACHE/crictl-$VERSION"
CRITEST="$CACHE/critest-$VERSION"
if [ -x "$CRICTL" ] && [ -x "$CRITEST" ]; then
	exit 0
fi
mkdir -p "$CACHE"
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"
dir="$(GOFLAGS=-mod=mod timeout 900 go mod download -json "sigs.k8s.io/cri-tools@$VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
cp -r "$dir" src && chmod -R u+w src && cd src
if [ ! -x "$CRICTL" ]; then
	GOFLAGS=-mod=mod timeout 1800 nice -n 10 go build -o "$CRICTL.tmp" ./cmd/crictl
	mv "$CRICTL.tmp" "$CRICTL"
fi
if [ ! -x "$CRITEST" ]; then
	GOFLAGS=-mod=mod timeout 1800 nice -n 10 go test -c -o "$CRITEST.tmp" ./cmd/critest
	mv "$CRITEST.tmp" "$CRITEST"
fi
