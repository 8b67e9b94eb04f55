#!/usr/bin/env bash
# bench/compose.sh — median wall time of `up -d` and of `down` for a
# 10-service project: berth compose on a private berthd, docker compose
# (the v5.6.0 plugin scripts/setup.sh builds) on the same berthd, and docker
# compose on Docker when a Docker engine with busybox runs here (`--peers`).
# Run as root from anywhere:  bench/compose.sh [--peers]   (RUNS=5 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/compose.sh: run as root" >&2; exit 1; }
peers=0
[ "${1:-}" = --peers ] && peers=1
RUNS="${RUNS:-5}"

work="$(mktemp -d /tmp/bc-XXXXXX)"
source bench/lib.sh
trap private_cleanup EXIT
private_berthd bcomp0 BCOMP 10.231.0.1/24
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null

proj="$work/proj"
mkdir -p "$proj"
{
	echo "services:"
	for i in $(seq 1 10); do
		printf '  s%d:\n    image: busybox\n    command: ["sleep", "1d"]\n    stop_grace_period: 1s\n' "$i"
	done
} >"$proj/compose.yaml"

plugin="${BERTH_COMPOSE_PLUGIN:-/root/.cache/berth/docker-compose-v5.6.0}"
dcfg="$work/docker"
mkdir -p "$dcfg/cli-plugins"
[ -x "$plugin" ] && ln -sf "$plugin" "$dcfg/cli-plugins/docker-compose"

# measure NAME UP-CMD DOWN-CMD — median ms of up and of down over $RUNS pairs.
measure() {
	local name="$1" up="$2" down="$3" i t0 ups=() downs=()
	$down >/dev/null 2>&1 || true
	for ((i = 0; i < RUNS; i++)); do
		t0="$(now_ms)"; $up >/dev/null 2>&1 || { echo "$name: up failed" >&2; return 1; }
		ups+=($(( $(now_ms) - t0 )))
		t0="$(now_ms)"; $down >/dev/null 2>&1 || { echo "$name: down failed" >&2; return 1; }
		downs+=($(( $(now_ms) - t0 )))
	done
	printf '| %-36s | %8s ms | %8s ms |\n' "$name" \
		"$(printf '%s\n' "${ups[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
		"$(printf '%s\n' "${downs[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
}

echo "| 10-service project (RUNS=$RUNS)           |    up -d    |    down     |"
echo "|--------------------------------------|-------------|-------------|"
measure "berth compose on berthd" \
	"$BERTH_CLI compose -f $proj/compose.yaml -p bc up -d" \
	"$BERTH_CLI compose -f $proj/compose.yaml -p bc down"
if [ -x "$plugin" ] && command -v docker >/dev/null; then
	measure "docker compose on berthd" \
		"env DOCKER_HOST=$BERTH_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc up -d" \
		"env DOCKER_HOST=$BERTH_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc down"
	if [ "$peers" = 1 ] && [ -S /var/run/docker.sock ] &&
		env -u DOCKER_HOST docker image inspect busybox >/dev/null 2>&1; then
		measure "docker compose on Docker" \
			"env -u DOCKER_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc up -d" \
			"env -u DOCKER_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc down"
	fi
else
	echo "(docker compose plugin not built at $plugin: scripts/setup.sh builds it)" >&2
fi
