#!/usr/bin/env bash
# bench/monitor.sh — the Go monitor (berth-monitor) against the C monitor
# (berth-cmon), A/B on one private berthd built from this tree (see
# private_berthd in lib.sh; a system berthd is never touched).
#
#   sudo bench/monitor.sh [N]
#
# berthd runs berth-cmon when it sits beside berth-monitor
# (internal/monitor.Binary looks at every start), so the script switches
# monitors by renaming that file between samples: same daemon, same
# image, same machine state, samples interleaved.
#   - memory: rounds of N idle `sleep` containers (default 200) under each
#     monitor in turn: MemAvailable before − after ÷ N (the containers' own
#     processes included) and PSS (smaps_rollup) of berthd + the monitors
#     after − before ÷ N; all removed between rounds.
#   - `run --rm busybox true`: RUNS (15) pairs, one run of each monitor per
#     pair in alternating order; median of each and of the pairwise
#     difference C − Go.
# Sizes (environment): N=200, ROUNDS=2, RUNS=15.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
export LC_ALL=C
[ "$(id -u)" -eq 0 ] || { echo "bench/monitor.sh: run as root" >&2; exit 1; }
N="${1:-${N:-200}}" ROUNDS="${ROUNDS:-2}" RUNS="${RUNS:-15}"

work="$(mktemp -d /tmp/bb-XXXXXX)"
source bench/lib.sh
trap private_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
private_berthd bmon0 BMON
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null
# A freshly built binary's dirty page cache would count as private.
sync

use() { # use go|c — which monitor new containers get
	if [ "$1" = go ]; then
		[ ! -e "$BERTH_BIN/berth-cmon" ] || mv "$BERTH_BIN/berth-cmon" "$BERTH_BIN/berth-cmon.off"
	else
		[ ! -e "$BERTH_BIN/berth-cmon.off" ] || mv "$BERTH_BIN/berth-cmon.off" "$BERTH_BIN/berth-cmon"
	fi
}

engine_kb() { # PSS (kB) of berthd and this run's monitors
	local pids=("$berthd_pid") p comm
	for p in $(pgrep -f -- "$work/" || true); do
		comm="$(cat /proc/"$p"/comm 2>/dev/null)" || continue
		case "$comm" in berth-monitor | berth-cmon) pids+=("$p") ;; esac
	done
	pss_kb $(printf '%s\n' "${pids[@]}" | sort -u)
}
avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
count_monitors() { # count_monitors COMM
	local n=0 p
	for p in $(pgrep -f -- "$work/" || true); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" != "$1" ] || n=$((n + 1))
	done
	echo "$n"
}

declare -A mem pss
for ((r = 0; r < ROUNDS; r++)); do
	for m in go c; do
		use "$m"
		echo "bench: memory round $((r + 1))/$ROUNDS, $m monitor: $N idle containers ..." >&2
		sync
		a0="$(avail_kb)" p0="$(engine_kb)"
		seq "$N" | xargs -P8 -I{} "$BERTH_CLI" run -d --label benchmon=1 busybox sleep 1d >/dev/null
		sleep 3 # let the engine and the monitors settle
		a1="$(avail_kb)" p1="$(engine_kb)"
		comm=berth-monitor
		[ "$m" = go ] || comm=berth-cmon
		got="$(count_monitors "$comm")"
		[ "$got" -ge "$N" ] || { echo "bench: expected $N $comm processes, found $got" >&2; exit 1; }
		mem[$m]+="$(awk -v a="$a0" -v b="$a1" -v n="$N" 'BEGIN { printf "%.3f", (a - b) / n / 1024 }') "
		pss[$m]+="$(awk -v a="$p0" -v b="$p1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1024 }') "
		"$BERTH_CLI" rm -f $("$BERTH_CLI" ps -aq --filter label=benchmon=1) >/dev/null
	done
done

echo "bench: run --rm pairs ..." >&2
t_go=() t_c=()
timed_run() { # prints ms of one `run --rm busybox true`
	local t0 t1
	t0="$(date +%s%N)"
	"$BERTH_CLI" run --rm busybox true
	t1="$(date +%s%N)"
	echo $(((t1 - t0) / 1000))
}
for m in go c; do use "$m"; for _ in 1 2 3; do timed_run >/dev/null; done; done # warm-up
for ((i = 0; i < RUNS; i++)); do
	order="go c"
	[ $((i % 2)) -eq 0 ] || order="c go"
	for m in $order; do
		use "$m"
		us="$(timed_run)"
		if [ "$m" = go ]; then t_go+=("$us"); else t_c+=("$us"); fi
	done
done
use c

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
diffs=()
for ((i = 0; i < RUNS; i++)); do diffs+=("$((t_c[i] - t_go[i]))"); done
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

echo
echo "## Go monitor (berth-monitor) vs C monitor (berth-cmon), $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
echo
echo "| measure | Go monitor | C monitor |"
echo "|---|---|---|"
echo "| host memory per idle container, whole machine (MemAvailable, 0→$N), MiB, each round | ${mem[go]}| ${mem[c]}|"
echo "| berthd + monitor PSS per container (0→$N), MiB, each round | ${pss[go]}| ${pss[c]}|"
echo "| \`run --rm busybox true\`, median of $RUNS, ms | $(ms "$(median "${t_go[@]}")") | $(ms "$(median "${t_c[@]}")") |"
echo
echo "run --rm, C − Go pair by pair: median $(ms "$(median "${diffs[@]}")") ms (min $(ms "$(printf '%s\n' "${diffs[@]}" | sort -g | head -1)"), max $(ms "$(printf '%s\n' "${diffs[@]}" | sort -g | tail -1)"))"
