#!/usr/bin/env bash
# bench/buildkit.sh — time BuildKit builds inside berthd (issue 16): the
# docker CLI with the buildx plugin (a plain `docker build`, no --load) against
# a private berthd built from this tree (own data-root, bridge, chains,
# subnet). Builds, as bench/build.sh does for the classic builder:
#   4-step cold:   FROM busybox; RUN, COPY, ENV, CMD with --no-cache;
#   4-step cached: the unchanged rebuild, every step CACHED;
#   3-stage cold:  two independent RUN stages copied into a third, --no-cache
#                  (the two stages run in parallel).
# When a dockerd answers on /var/run/docker.sock, the same builds go through
# Docker's BuildKit in the same run, interleaved. hyperfine medians. Not run
# in CI. Run as root:
#   sudo bench/buildkit.sh            (RUNS=10 to change the count)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/buildkit.sh: run as root" >&2; exit 1; }
runs="${RUNS:-10}"
source bench/lib.sh
RUNS="$runs"
buildx="${BERTH_BUILDX_PLUGIN:-/root/.cache/berth/docker-buildx-v0.38.2}"
[ -x "$buildx" ] || { echo "bench/buildkit.sh: no buildx plugin at $buildx (scripts/build-tools.sh builds it)" >&2; exit 1; }
command -v docker >/dev/null || { echo "bench/buildkit.sh: the docker CLI is needed" >&2; exit 1; }

work="$(mktemp -d /tmp/bbk-XXXXXX)"
trap private_cleanup EXIT
private_berthd bbk0 BBK 10.228.0.1/24
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

need_hyperfine
declare -A peer=([berth]="$BERTH_HOST")
if [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock docker version >/dev/null 2>&1; then
	peer[docker]="unix:///var/run/docker.sock"
	DOCKER_HOST=unix:///var/run/docker.sock docker image inspect busybox >/dev/null 2>&1 ||
		DOCKER_HOST=unix:///var/run/docker.sock docker load -i "$work/busybox.tar" >/dev/null 2>&1 ||
		DOCKER_HOST=unix:///var/run/docker.sock docker import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null
fi

hf_median() { # PREPARE CMD
	local csv
	csv="$(mktemp)"
	hyperfine --style none --warmup 1 --runs "$RUNS" --shell=none --prepare "$1" \
		--output=null --export-csv "$csv" "$2" >/dev/null
	awk -F, 'NR==2 { printf "%.1f\n", $4 * 1000 }' "$csv"
	rm -f "$csv"
}

declare -A res
clients=(berth)
[ -z "${peer[docker]:-}" ] || clients+=(docker)
for c in "${clients[@]}"; do
	d="env -u DOCKER_CONTEXT DOCKER_HOST=${peer[$c]} DOCKER_CLI_HINTS=false DOCKER_CONFIG=$work/dockercfg docker"
	$d build -t bench-bk4 "$ctx4" >"$work/first-$c.log" 2>&1 ||
		{ echo "bench/buildkit.sh: $c build failed:" >&2; tail "$work/first-$c.log" >&2; exit 1; }
	echo "timing through $c ..." >&2
	res[$c,cold]="$(hf_median true "$d build --no-cache -t bench-bk4 $ctx4")"
	$d build -t bench-bk4 "$ctx4" >/dev/null 2>&1
	res[$c,cached]="$(hf_median true "$d build -t bench-bk4 $ctx4")"
	res[$c,stages]="$(hf_median true "$d build --no-cache -t bench-bk3 $ctx3")"
done

row() { # label key
	local line c
	line="$(printf '| %-34s |' "$1")"
	for c in "${clients[@]}"; do line+="$(printf ' %12s |' "${res[$c,$2]} ms")"; done
	echo "$line"
}
hdr="| what (median of $RUNS)               |"
sep="|------------------------------------|"
for c in "${clients[@]}"; do hdr+="$(printf ' %12s |' "$c")"; sep+="--------------|"; done
echo
echo "$hdr"
echo "$sep"
row "4-step build, cold (--no-cache)" cold
row "4-step build, fully cached" cached
row "3-stage parallel build, cold" stages
echo
echo "docker build with buildx $("$buildx" version 2>/dev/null | awk '{print $2}') on both; kernel $(uname -r); $(nproc) cores"
