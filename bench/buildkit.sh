#!/usr/bin/env bash
# bench/buildkit.sh — time BuildKit builds inside berthd (issue 16): the
# docker CLI with the buildx plugin (a plain `docker build`, no --load) and
# `berth build` against a private berthd built from this tree (own
# data-root, bridge, chains, subnet). Builds, as bench/build.sh does for the
# classic builder:
#   4-step cold:   FROM busybox; RUN, COPY, ENV, CMD with --no-cache;
#   4-step cached: the unchanged rebuild, every step CACHED;
#   3-stage cold:  two independent RUN stages copied into a third, --no-cache
#                  (the two stages run in parallel).
# With --peers, Debian's docker.io is installed when missing and a private
# dockerd is started (own socket, data-root, exec-root and subnet; the host's
# netfilter rules and links are put back afterwards): the same Dockerfiles go
# through its BuildKit with the same docker CLI and buildx, interleaved with
# berthd's runs (one run of each per round). Only what this run measured is
# printed. Not run in CI. Run as root:
#   sudo bench/buildkit.sh [--peers]      (RUNS=10 to change the count)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/buildkit.sh: run as root" >&2; exit 1; }
runs="${RUNS:-10}"
peers=0
case "${1:-}" in
--peers) peers=1 ;;
"") ;;
*) echo "bench/buildkit.sh: unknown argument $1 (--peers)" >&2; exit 2 ;;
esac
source bench/lib.sh
RUNS="$runs"
buildx="${BERTH_BUILDX_PLUGIN:-/root/.cache/berth/docker-buildx-v0.38.2}"
[ -x "$buildx" ] || { echo "bench/buildkit.sh: no buildx plugin at $buildx (scripts/build-tools.sh builds it)" >&2; exit 1; }
command -v docker >/dev/null || { echo "bench/buildkit.sh: the docker CLI is needed" >&2; exit 1; }

DOCKER_BIN="$(command -v docker)"
[ -x /usr/local/bin/docker ] && DOCKER_BIN=/usr/local/bin/docker
work="$(mktemp -d /tmp/bbk-XXXXXX)"
hostsnap="$work.host" # outlives $work: restore_host runs after it is gone
bench_before_cleanup() { [ "$peers" = 0 ] || stop_dockerd; }
cleanup_all() {
	set +e
	private_cleanup
	[ "$peers" = 0 ] || restore_host
	rm -rf "$hostsnap"
}
trap cleanup_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
private_berthd bbk0 BBK # sets berth_x, TAKEN_SUBNETS
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null
mkdir -p "$work/dockercfg/cli-plugins"
ln -s "$buildx" "$work/dockercfg/cli-plugins/docker-buildx"

ctx4="$work/ctx4" ctx3="$work/ctx3"
mkdir -p "$ctx4" "$ctx3"
head -c 65536 /dev/urandom >"$ctx4/payload.bin"
cat >"$ctx4/Dockerfile" <<'DF'
FROM busybox
RUN echo built > /built.txt
COPY payload.bin /payload.bin
ENV BENCH=1
CMD ["cat", "/built.txt"]
DF
cat >"$ctx3/Dockerfile" <<'DF'
FROM busybox AS a
RUN echo a > /a
FROM busybox AS b
RUN echo b > /b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
DF

clients=(berth)
declare -A dhost=([berth]="$BERTH_HOST")
if [ "$peers" = 1 ]; then
	apt_install docker.io
	snap_host
	docker_x="$(free_subnet 200)"
	TAKEN_SUBNETS+=" $docker_x"
	echo "bench: starting a private dockerd (10.$docker_x.0.0/24) ..." >&2
	start_dockerd
	DOCKER_HOST="unix://$work/docker/docker.sock" "$DOCKER_BIN" import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null
	dhost[docker]="unix://$work/docker/docker.sock"
	clients+=(docker)
fi
dcmd() { echo "env -u DOCKER_CONTEXT DOCKER_HOST=${dhost[$1]} DOCKER_CLI_HINTS=false DOCKER_CONFIG=$work/dockercfg $DOCKER_BIN"; }

# Every build must work (and fill the cache) before it is timed.
for c in "${clients[@]}"; do
	for ctx in "$ctx4" "$ctx3"; do
		$(dcmd "$c") build "$ctx" >"$work/first-$c.log" 2>&1 ||
			{ echo "bench/buildkit.sh: $c build failed:" >&2; tail "$work/first-$c.log" >&2; exit 1; }
	done
done
# berth build (BuildKit in berthd, POST /build?version=2) beside docker build.
bb="$BERTH_CLI build --progress=quiet"
declare -A res
add() { # KEY NAME=CMD...
	local key="$1" name v
	shift
	while read -r name v; do res[$name,$key]="$v"; done < <(interleaved_ms "$RUNS" "$@")
}
echo "timing 4-step cold builds ..." >&2
args=()
for c in "${clients[@]}"; do args+=("$c=$(dcmd "$c") build --no-cache -t bench-bk4 $ctx4"); done
add cold "${args[@]}" "berth-cli=$bb --no-cache -t bench-bk4 $ctx4"
echo "timing 4-step cached builds ..." >&2
args=()
for c in "${clients[@]}"; do args+=("$c=$(dcmd "$c") build -t bench-bk4 $ctx4"); done
add cached "${args[@]}" "berth-cli=$bb -t bench-bk4 $ctx4"
echo "timing 3-stage parallel cold builds ..." >&2
args=()
for c in "${clients[@]}"; do args+=("$c=$(dcmd "$c") build --no-cache -t bench-bk3 $ctx3"); done
add stages "${args[@]}" "berth-cli=$bb --no-cache -t bench-bk3 $ctx3"
clients+=(berth-cli)

row() { # label key
	local line c
	line="$(printf '| %-34s |' "$1")"
	for c in "${clients[@]}"; do line+="$(printf ' %14s |' "${res[$c,$2]} ms")"; done
	echo "$line"
}
declare -A title=([berth]="buildx→berthd" [docker]="buildx→dockerd" [berth-cli]="berth build")
hdr="$(printf '| %-34s |' "what (median of $RUNS, interleaved)")"
sep="|------------------------------------|"
for c in "${clients[@]}"; do hdr+="$(printf ' %14s |' "${title[$c]}")"; sep+="----------------|"; done
echo
echo "$hdr"
echo "$sep"
row "4-step build, cold (--no-cache)" cold
row "4-step build, fully cached" cached
row "3-stage parallel build, cold" stages
echo
echo "buildx→berthd: docker build (docker CLI $("$DOCKER_BIN" version --format '{{.Client.Version}}' 2>/dev/null), buildx $("$buildx" version 2>/dev/null | awk '{print $2}')) against berthd; berth build: the same builds through berth build."
[ "$peers" = 0 ] || echo "buildx→dockerd: the same docker CLI and buildx against dockerd $(DOCKER_HOST="${dhost[docker]}" "$DOCKER_BIN" version --format '{{.Server.Version}}' 2>/dev/null) (Debian docker.io, private data-root)."
echo "kernel $(uname -r); $(nproc) cores; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
