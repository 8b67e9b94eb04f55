# bench/lib.sh — shared by the bench scripts (source it, don't run it).
#
# Engines: ENGINE=berth (default) drives the private berthd that run.sh
# started (BERTH_HOST must point at it); ENGINE=docker or ENGINE=podman drive
# those engines when they are installed, so figures can sit side by side.
set -euo pipefail

ENGINE="${ENGINE:-berth}"
IMAGE="${IMAGE:-busybox}"
RUNS="${RUNS:-30}"

cli() {
	case "$ENGINE" in
	berth) "${BERTH_CLI:-berth}" "$@" ;;
	*) "$ENGINE" "$@" ;;
	esac
}

need_hyperfine() {
	if ! command -v hyperfine >/dev/null; then
		echo "bench: installing hyperfine (Debian package)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
	fi
}

# median_ms CMD — median wall time of CMD over $RUNS runs, in ms (3 warm-ups).
median_ms() {
	need_hyperfine
	local csv
	csv="$(mktemp)"
	hyperfine --style none --warmup 3 --runs "$RUNS" --shell=none --export-csv "$csv" "$1" >/dev/null
	# columns: command,mean,stddev,median,user,system,min,max (seconds)
	awk -F, 'NR==2 { printf "%.1f\n", $4 * 1000 }' "$csv"
	rm -f "$csv"
}

# now_ms — milliseconds since the epoch.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_idle N — start N idle containers labelled bench=1.
start_idle() {
	local n="$1" i
	for ((i = 0; i < n; i++)); do
		cli run -d --label bench=1 "$IMAGE" sleep 1d >/dev/null
	done
}

# remove_bench — remove every container labelled bench=1.
remove_bench() {
	local ids
	ids="$(cli ps -aq --filter label=bench=1)"
	[ -z "$ids" ] || cli rm -f $ids >/dev/null
}

# pss_kb PID... — summed proportional set size of the given processes, in kB.
pss_kb() {
	local total=0 pid v
	for pid in "$@"; do
		v="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# engine_pids — the engine's own processes (daemon and per-container helpers),
# not the containers' processes.
engine_pids() {
	case "$ENGINE" in
	berth)
		cat "${BERTH_PIDFILE:?}"
		# Only the monitors of run.sh's private build, not a system berthd's.
		local exe
		for exe in /proc/[0-9]*/exe; do
			[ "$(readlink "$exe" 2>/dev/null)" = "${BERTH_BIN:?}/berth-monitor" ] && basename "$(dirname "$exe")"
		done
		true
		;;
	docker) pgrep -x 'dockerd|containerd|containerd-shim.*' || true ;;
	podman) pgrep -x conmon || true ;;
	esac
}
