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

# private_berthd BRIDGE CHAINS BIP — build berthd, berth and berth-monitor
# from this tree into $work/bin and start a private berthd on $work: its own
# data-root, socket, bridge, netfilter chains and subnet, so a system berthd
# is never touched. Needs $work (a fresh temp dir); sets BERTH_BIN,
# BERTH_CLI, BERTH_HOST, BERTH_PIDFILE and berthd_pid. Pair it with
# `trap private_cleanup EXIT`.
private_berthd() {
	BENCH_BRIDGE="$1" BENCH_CHAINS="$2"
	export BERTH_BIN="$work/bin" BERTH_CLI="$work/bin/berth"
	export BERTH_HOST="unix://$work/s.sock" BERTH_PIDFILE="$work/berthd.pid"
	echo "building into $BERTH_BIN ..." >&2
	go build -trimpath -o "$BERTH_BIN/berthd" ./cmd/berthd
	go build -trimpath -o "$BERTH_BIN/berth" ./cmd/berth
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BERTH_BIN/berth-monitor" ./cmd/berth-monitor
	printf '{"bridge":"%s","iptables-chain-prefix":"%s","bip":"%s"}\n' "$1" "$2" "$3" >"$work/daemon.json"
	"$BERTH_BIN/berthd" -H "$BERTH_HOST" --data-root "$work/data" --exec-root "$work/exec" \
		--config-file "$work/daemon.json" --pidfile "$BERTH_PIDFILE" >"$work/berthd.log" 2>&1 &
	berthd_pid=$!
	for _ in $(seq 100); do "$BERTH_CLI" version >/dev/null 2>&1 && break; sleep 0.1; done
	"$BERTH_CLI" version >/dev/null || { echo "berthd did not come up:" >&2; tail "$work/berthd.log" >&2; exit 1; }
}

# private_cleanup — remove the private berthd's containers, stop it, unmount
# and delete $work, and remove its bridge and chains. A script may define
# bench_before_cleanup for its own extra processes.
private_cleanup() {
	set +e
	if declare -F bench_before_cleanup >/dev/null; then bench_before_cleanup; fi
	if [ -n "${berthd_pid:-}" ] && kill -0 "$berthd_pid" 2>/dev/null; then
		local ids
		ids="$("$BERTH_CLI" ps -aq)"
		[ -z "$ids" ] || "$BERTH_CLI" rm -f $ids >/dev/null 2>&1
		kill -TERM "$berthd_pid"
		for _ in $(seq 100); do kill -0 "$berthd_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$berthd_pid" 2>/dev/null
	fi
	awk -v w="$work/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
	[ -z "${BENCH_BRIDGE:-}" ] || bench/netclean.sh "$BENCH_CHAINS" "$BENCH_BRIDGE"
}
