#!/usr/bin/env bash
# bench/build.sh — time image builds (issue 6) against a private berthd built
# from this tree (its own data-root under /tmp, its own bridge, chains and
# subnet: a system berthd is not touched). A 4-step Dockerfile (FROM busybox;
# RUN, COPY, ENV, CMD) is built
#   cold:   after an untimed `rmi` of the result, with --no-cache (the RUN
#           container really runs, every step is committed);
#   cached: an unchanged rebuild, every step from the cache;
# through `berth build` and through the real docker CLI's classic builder
# (DOCKER_BUILDKIT=0 docker build) pointed at berthd. hyperfine medians.
# Berth only: `bench/run.sh --peers` measures Docker's and Podman's builds
# in the same run. Run as root:
#   sudo bench/build.sh            (RUNS=20 to change the count)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/build.sh: run as root" >&2; exit 1; }
runs="${RUNS:-20}"
source bench/lib.sh
RUNS="$runs"

work="$(mktemp -d /tmp/bb-XXXXXX)"
trap private_cleanup EXIT
private_berthd bbuild0 BBUILD
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null

ctx="$work/ctx"
mkdir -p "$ctx"
head -c 65536 /dev/urandom >"$ctx/payload.bin"
cat >"$ctx/Dockerfile" <<'EOF'
FROM busybox
RUN echo built > /built.txt
COPY payload.bin /payload.bin
ENV BENCH=1
CMD ["cat", "/built.txt"]
EOF

need_hyperfine
docker_cmd=""
if command -v docker >/dev/null; then
	docker_cmd="env -u DOCKER_CONTEXT DOCKER_HOST=$BERTH_HOST DOCKER_BUILDKIT=0 DOCKER_CLI_HINTS=false DOCKER_CONFIG=$work/dockercfg docker"
fi

declare -A res
clients=(berth)
[ -z "$docker_cmd" ] || clients+=(docker)
for c in "${clients[@]}"; do
	if [ "$c" = berth ]; then b="env DOCKER_BUILDKIT=0 $BERTH_CLI"; else b="$docker_cmd"; fi
	tag="bench-build-$c"
	# Make sure the build works (and fill the cache) before timing it.
	$b build -t "$tag" "$ctx" >"$work/first-$c.log" 2>&1 ||
		{ echo "bench/build.sh: $c build failed:" >&2; tail "$work/first-$c.log" >&2; exit 1; }
	echo "timing cold builds through $c ..." >&2
	res[$c,cold]="$(hf_median "$BERTH_CLI rmi -f $tag" "$b build --no-cache -t $tag $ctx")"
	$b build -t "$tag" "$ctx" >/dev/null 2>&1 # re-fill the cache for the last image
	cached_log="$($b build -t "$tag" "$ctx" 2>&1)"
	n="$(grep -c -- '---> Using cache' <<<"$cached_log" || true)"
	[ "$n" -eq 4 ] || { echo "bench/build.sh: rebuild through $c used the cache for $n of 4 steps:" >&2; echo "$cached_log" >&2; exit 1; }
	echo "timing cached rebuilds through $c ..." >&2
	res[$c,cached]="$(hf_median "true" "$b build -t $tag $ctx")"
done

row() { # label key
	local line c
	line="$(printf '| %-40s |' "$1")"
	for c in "${clients[@]}"; do line+="$(printf ' %12s |' "${res[$c,$2]} ms")"; done
	echo "$line"
}
hdr="| what (median of $RUNS)                      |"
sep="|------------------------------------------|"
for c in "${clients[@]}"; do
	[ "$c" = berth ] && hdr+="  berth build |" || hdr+=" docker (v1) |"
	sep+="--------------|"
done
echo
echo "$hdr"
echo "$sep"
row "4-step build, cold (rmi + --no-cache)" cold
row "4-step build, fully cached" cached
echo
echo "Both columns are berthd; 'docker (v1)' is the docker CLI with DOCKER_BUILDKIT=0."
echo "For Docker and Podman measured in the same run: bench/run.sh --peers --rows build."
echo "runtime: $(grep -m1 -io 'runtime[^ ]*=[^ ]*' "$work/berthd.log" || echo see berthd log); kernel $(uname -r); $(nproc) cores"
