#!/usr/bin/env bash
# build-tools.sh — builds, once, the real clients the end-to-end tests and
# bench/ drive against berthd, from the Go module proxy, into a cache
# directory (default /root/.cache/berth):
#
#   docker-compose-v5.6.0   docker compose (berth compose's peer)
#   docker-buildx-v0.38.2   buildx (docker build over BuildKit in berthd)
#   crictl-v1.37.0          crictl  (sigs.k8s.io/cri-tools)
#   critest-v1.37.0         critest (CRI validation suite, a test binary)
#
# Each is built only when missing, bounded in time; a tool that cannot be
# built is reported and skipped (its tests then skip and say why).
# setup.sh runs this in the background; test.sh runs it in the foreground
# so CI exercises those tests. Usage: scripts/build-tools.sh [cache-dir]
set -uo pipefail
CACHE="${1:-${BERTH_TOOLS_CACHE:-/root/.cache/berth}}"
mkdir -p "$CACHE"
status=0

# build NAME MODULE@VERSION OUT VERB PKG [LDFLAGS]: copies the module to a
# writable directory and runs `go VERB -o OUT PKG` (VERB: build, or
# "test -c"). With REBUILD=1 an existing OUT is replaced (atomically, when
# the new one is built).
build() {
	local name="$1" modver="$2" out="$3" verb="$4" pkg="$5" ldflags="${6:-}"
	[ -x "$out" ] && [ -z "${REBUILD:-}" ] && return 0
	echo "==> build-tools: building $name ($modver)"
	local tmp
	tmp="$(mktemp -d)"
	(
		set -e
		cd "$tmp"
		dir="$(GOFLAGS=-mod=mod timeout 900 go mod download -json "$modver" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
		[ -n "$dir" ]
		cp -r "$dir" src && chmod -R u+w src && cd src
		# shellcheck disable=SC2086
		GOFLAGS=-mod=mod timeout 1800 nice -n 10 go $verb -ldflags="$ldflags" -o "$out.tmp" "$pkg"
		mv "$out.tmp" "$out"
	) >"$out.log" 2>&1 </dev/null
	local rc=$?
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
	if [ "$rc" -ne 0 ]; then
		echo "build-tools: $name FAILED (its tests will skip); last lines of $out.log:" >&2
		tail -n 5 "$out.log" >&2
		status=1
	fi
}

build "docker compose" github.com/docker/compose/v5@v5.6.0 \
	"${BERTH_COMPOSE_PLUGIN:-$CACHE/docker-compose-v5.6.0}" build ./cmd
# buildx states its version (docker compose build wants buildx >= 0.17); a
# binary built before it did is rebuilt.
buildx="${BERTH_BUILDX_PLUGIN:-$CACHE/docker-buildx-v0.38.2}"
rebuild=""
if [ -x "$buildx" ] && ! "$buildx" version 2>/dev/null | grep -q ' v0\.38\.2'; then
	rebuild=1
fi
REBUILD="$rebuild" build "docker buildx" github.com/docker/buildx@v0.38.2 "$buildx" build ./cmd/buildx \
	"-X github.com/docker/buildx/version.Version=v0.38.2 -X github.com/docker/buildx/version.Package=github.com/docker/buildx"
build crictl sigs.k8s.io/cri-tools@v1.37.0 "$CACHE/crictl-v1.37.0" build ./cmd/crictl
build critest sigs.k8s.io/cri-tools@v1.37.0 "$CACHE/critest-v1.37.0" "test -c" ./cmd/critest
exit "$status"
