#!/usr/bin/env bash
# bench/compose.sh — median wall time of `up -d` and of `down` for a
# 10-service project: berth compose on a private berthd, docker compose
# (the v5.6.0 plugin scripts/build-tools.sh builds) on the same berthd, and docker
# compose on Docker (`--peers`: a private dockerd of Debian's docker.io, own
# socket, data-root, exec-root and bridge subnet, started with
# --iptables=false so it leaves the host's netfilter alone — which spares
# Docker its rule work and so favours Docker).
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
private_berthd bcomp0 BCOMP # sets berth_x
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

# start_dockerd — a private dockerd for the Docker row; bench_before_cleanup
# (called by private_cleanup) stops it and removes its containers and the
# docker0 bridge it made.
dockerd_pid=""
start_dockerd() {
	command -v dockerd >/dev/null || return 1
	local d="$work/docker" x
	x="$(free_subnet 200)" || return 1
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	ip link show docker0 >/dev/null 2>&1 && { echo "(a docker0 bridge exists: not starting a private dockerd)" >&2; return 1; }
	dockerd -H "unix://$d/docker.sock" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
		--config-file "$d/daemon.json" --bip "10.$x.0.1/24" --iptables=false --log-level warn >"$d/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 300); do DOCKER_HOST="unix://$d/docker.sock" docker version >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "dockerd did not come up:" >&2
	tail "$d/dockerd.log" >&2
	return 1
}
bench_before_cleanup() {
	[ -n "$dockerd_pid" ] || return 0
	local ids dh="unix://$work/docker/docker.sock"
	ids="$(DOCKER_HOST="$dh" docker ps -aq 2>/dev/null)"
	[ -z "$ids" ] || DOCKER_HOST="$dh" docker rm -f $ids >/dev/null 2>&1
	kill -TERM "$dockerd_pid" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$dockerd_pid" 2>/dev/null
	wait "$dockerd_pid" 2>/dev/null
	ip link del docker0 2>/dev/null
	return 0
}

plugin="${BERTH_COMPOSE_PLUGIN:-/root/.cache/berth/docker-compose-v5.6.0}"
dcfg="$work/docker"
mkdir -p "$dcfg/cli-plugins"
[ -x "$plugin" ] && ln -sf "$plugin" "$dcfg/cli-plugins/docker-compose"

# engine NAME UP-CMD DOWN-CMD — add a column; measure_all then runs $RUNS
# rounds, each timing one up -d and one down of every engine in turn
# (interleaved, so a slow moment of the machine hits all of them), and
# prints the medians.
names=() ups=() downs=()
engine() { names+=("$1"); ups+=("$2"); downs+=("$3"); }
# median MS... — "median (min–max)" in ms.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%d ms (%d–%d)", a[int((NR+1)/2)], a[1], a[NR]}'; }
measure_all() {
	local i e t0 n=${#names[@]}
	declare -A up_ms down_ms
	for ((e = 0; e < n; e++)); do ${downs[e]} >/dev/null 2>&1 || true; done
	for ((i = 0; i < RUNS; i++)); do
		for ((e = 0; e < n; e++)); do
			t0="$(now_ms)"; ${ups[e]} >/dev/null 2>&1 || { echo "${names[e]}: up failed" >&2; return 1; }
			up_ms[$e]+=" $(( $(now_ms) - t0 ))"
			t0="$(now_ms)"; ${downs[e]} >/dev/null 2>&1 || { echo "${names[e]}: down failed" >&2; return 1; }
			down_ms[$e]+=" $(( $(now_ms) - t0 ))"
		done
	done
	echo "| 10-service project, $RUNS rounds, interleaved | up -d, median (min–max) | down, median (min–max) |"
	echo "|---|---|---|"
	for ((e = 0; e < n; e++)); do
		# shellcheck disable=SC2086
		printf '| %s | %s | %s |\n' "${names[e]}" "$(median ${up_ms[$e]})" "$(median ${down_ms[$e]})"
	done
	echo
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

engine "berth compose on berthd" \
	"$BERTH_CLI compose -f $proj/compose.yaml -p bc up -d" \
	"$BERTH_CLI compose -f $proj/compose.yaml -p bc down"
if [ -x "$plugin" ] && command -v docker >/dev/null; then
	engine "docker compose v5.6.0 on berthd" \
		"env DOCKER_HOST=$BERTH_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc up -d" \
		"env DOCKER_HOST=$BERTH_HOST DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc down"
	if [ "$peers" = 1 ] && start_dockerd; then
		dhost="unix://$work/docker/docker.sock"
		env DOCKER_HOST="$dhost" docker import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null
		engine "docker compose v5.6.0 on Docker $(dockerd --version | awk '{print $3}' | tr -d ,)" \
			"env DOCKER_HOST=$dhost DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc up -d" \
			"env DOCKER_HOST=$dhost DOCKER_CONFIG=$dcfg docker compose -f $proj/compose.yaml -p dc down"
	elif [ "$peers" = 1 ]; then
		echo "(--peers: no Docker engine measured: dockerd missing or did not start)" >&2
	fi
else
	echo "(docker compose plugin not built at $plugin: scripts/setup.sh builds it)" >&2
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure_all
