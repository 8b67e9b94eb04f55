#!/usr/bin/env bash
# bench/isolation.sh — the cost of each isolation, side by side, on one
# private berthd with "userns-remap": "default":
#   process  --userns=host (crun, host kernel, no user namespace)
#   userns   the default there (crun, remapped ids, idmapped layers)
#   sandbox  --isolation=sandbox --userns=host (gVisor's runsc), if installed
# Figures: `run --rm busybox true` median; memory per idle container (PSS
# of its monitor's process tree, N `sleep 1d`); req/s through a published
# port (wrk on 127.0.0.1:port to bench/kaserver). Modes interleave per round.
# Not run in CI. Run as root:  bench/isolation.sh   (RUNS=10 N=10 DURATION=5)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/isolation.sh: run as root" >&2; exit 1; }
RUNS="${RUNS:-10}" N="${N:-10}" DURATION="${DURATION:-5}" NET_ROUNDS="${NET_ROUNDS:-3}"

work="$(mktemp -d /tmp/biso-XXXXXX)"
chmod 711 "$work" # the remapped root must reach the data-root below it
source bench/lib.sh
trap private_cleanup EXIT
apt_install wrk busybox-static
BENCH_EXTRA_CONFIG='"userns-remap":"default"' private_berthd biso0 BISO
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null
build_ka
"$BERTH_CLI" import --change 'ENTRYPOINT ["/kaserver"]' - kaserver:bench <"$work/ka.tar" >/dev/null

declare -A flags=([process]="--userns=host" [userns]="" [sandbox]="--isolation=sandbox --userns=host")
modes=(process userns)
if "$BERTH_CLI" info 2>&1 | grep -q 'isolations available: .*sandbox'; then modes+=(sandbox); fi
b() { "$BERTH_CLI" "$@"; }
mkdir -p "$work/s"
rec() { echo "$3" >>"$work/s/$1.$2"; }

# run --rm latency, interleaved (one untimed warm-up per mode).
for m in "${modes[@]}"; do b run --rm ${flags[$m]} busybox true; done
for ((i = 0; i < RUNS; i++)); do
	for m in "${modes[@]}"; do
		t0=$EPOCHREALTIME
		b run --rm ${flags[$m]} busybox true
		t1=$EPOCHREALTIME
		rec run "$m" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')"
	done
done

# memory per idle container: PSS (smaps_rollup) of each container's whole
# process tree, its monitor down (container processes, and for runsc the
# sandbox, gofer and runsc processes), averaged over N; the machine is
# shared, so MemAvailable would measure the neighbours too.
tree_pids() { # PID — PID and all its descendants
	local all
	all="$(awk '{ print $1, $4 }' /proc/[0-9]*/stat 2>/dev/null)"
	awk -v root="$1" '{ kids[$2] = kids[$2] " " $1 } END {
		n = 1; q[1] = root
		for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] }
	}' <<<"$all"
}
for m in "${modes[@]}"; do
	for ((i = 0; i < N; i++)); do b run -d --name "idle-$m-$i" ${flags[$m]} busybox sleep 1d >/dev/null; done
	sleep 2 # let the containers and their monitors settle before reading memory
	total=0
	for ((i = 0; i < N; i++)); do
		pid="$(b inspect -f '{{.State.Pid}}' "idle-$m-$i")"
		mon="$(awk '{ print $4 }' "/proc/$pid/stat")"
		total=$((total + $(pss_kb $(tree_pids "$mon"))))
	done
	rec mem "$m" "$(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.2f", t / n / 1024 }')"
	b rm -f $(b ps -aq --filter "name=idle-$m-") >/dev/null
done

# req/s through a published port, interleaved.
declare -A port
for m in "${modes[@]}"; do
	b run -d --name "web-$m" -p 127.0.0.1::80 ${flags[$m]} kaserver:bench >/dev/null
	port[$m]="$(b port "web-$m" 80 | head -1)"
	for _ in $(seq 100); do curl -fs -o /dev/null "http://${port[$m]}/" && break; sleep 0.1; done
done
for ((i = 0; i < NET_ROUNDS; i++)); do
	for m in "${modes[@]}"; do
		v="$(wrk -t2 -c32 -d"${DURATION}s" "http://${port[$m]}/index.html" 2>&1 | awk '/^Requests\/sec:/ { printf "%d\n", $2 }')"
		[ -z "$v" ] || rec rps "$m" "$v"
	done
done

med() { sort -n "$1" | awk '{a[NR]=$1} END {printf "%s (%s–%s)", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "- commit: \`$(git rev-parse --short=12 HEAD)\`, $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
# The crun berthd runs (Berth's own build when installed), not the one in PATH.
crun_bin="$(b info --format '{{(index .Runtimes "crun").Path}}')"
echo "- runtimes: \`$crun_bin\` ($("$crun_bin" --version | head -1)); runsc $(runsc --version 2>/dev/null | head -1 | awk '{print $3}') on $(grep -o 'platform [a-z]*' "$work/berthd.log" | head -1 || echo '?')"
echo "- repetitions: run --rm × $RUNS; $N idle containers per mode; wrk -t2 -c32 ${DURATION}s × $NET_ROUNDS"
echo
echo "| measure | $(printf '%s | ' "${modes[@]}")"
echo "|---|$(printf -- '---|%.0s' "${modes[@]}")"
row() {
	printf '| %s |' "$1"
	for m in "${modes[@]}"; do if [ -s "$work/s/$2.$m" ]; then printf ' %s %s |' "$(med "$work/s/$2.$m")" "$3"; else printf ' — |'; fi; done
	echo
}
row '`run --rm busybox true`, median (min–max)' run ms
row 'memory per idle `sleep 1d` container (PSS of its monitor and process tree)' mem MiB
row 'req/s through a published port (wrk, keep-alive)' rps req/s
