#!/usr/bin/env bash
# bench/net.sh — what networking costs, on a private berthd built from this
# tree (own data-root under /tmp, own bridge, chains and subnet; the system
# berthd is not touched; bridge and chains are removed at exit):
#   1. the time network set-up adds to `run --rm busybox true`: hyperfine
#      median with --network none against the default bridge;
#   2. requests per second to a keep-alive server through a port published on
#      127.0.0.1 against the same server reached directly on its container
#      IP (bench/kaclient, a small file), and the ratio (target ≥ 95 %): the
#      median of $NET_ROUNDS rounds, measured as bench/run.sh's row is
#      (bench/lib.sh's ka_round).
# Each set-up figure is the median of $ROUNDS alternating rounds.
# Run as root:  sudo bench/net.sh   (RUNS=30 ROUNDS=3 NET_ROUNDS=10 NET_GROUPS=20 NET_SLICE_MS=50 to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/net.sh: run as root" >&2; exit 1; }

work="$(mktemp -d /tmp/bn-XXXXXX)"
source bench/lib.sh
trap private_cleanup EXIT

need_hyperfine

private_berthd bnetb0 BNETB
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null

# median NUM... — the median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Each figure is taken in $ROUNDS rounds, the variants alternating, and the
# median of the rounds is kept: on a shared 2-core machine a burst of other
# work then hits both sides of a comparison alike instead of one.
ROUNDS="${ROUNDS:-3}"

# 1. Set-up cost.
echo "timing run --rm ($ROUNDS rounds of RUNS=$RUNS) ..." >&2
n=() b=() p=()
for ((r = 0; r < ROUNDS; r++)); do
	n+=("$(median_ms "$BERTH_CLI run --rm --network none $IMAGE true")")
	b+=("$(median_ms "$BERTH_CLI run --rm $IMAGE true")")
	p+=("$(median_ms "$BERTH_CLI run --rm -p 127.0.0.1::80 $IMAGE true")")
done
none="$(median "${n[@]}")" bridge="$(median "${b[@]}")" published="$(median "${p[@]}")"

# 2. Throughput: one server, two paths. A keep-alive HTTP server (a static
# Go binary, bench/kaserver) serving a 612-byte page, like nginx's default
# page; bench/kaclient keeps its 32 connections open, so the figure is the
# cost of the published path per request (netfilter DNAT on an established
# flow), not of connection set-up, which busybox httpd (no keep-alive)
# would measure.
build_ka
"$BERTH_CLI" import --change 'ENTRYPOINT ["/kaserver"]' - kaserver:bench <"$work/ka.tar" >/dev/null
"$BERTH_CLI" run -d --name web -p 127.0.0.1::80 kaserver:bench >/dev/null
ip="$("$BERTH_CLI" inspect --format '{{.NetworkSettings.IPAddress}}' web)"
hostport="$("$BERTH_CLI" port web 80 | head -1)"
for _ in $(seq 50); do curl -s -o /dev/null "http://$ip/index.html" 2>/dev/null && break; sleep 0.1; done

# Each throughput round is bench/lib.sh's ka_round, as bench/run.sh's
# published-port row; many rounds, the median kept.
NET_ROUNDS="${NET_ROUNDS:-10}"
d=() v=() q=()
ka_round "$ip:80" "$hostport" -groups 1 -warm 1s >/dev/null || true
for ((r = 0; r < NET_ROUNDS; r++)); do
	echo "kaclient ${NET_GROUPS:-20} × 4 turns of ${NET_SLICE_MS:-50} ms, direct $ip:80 and published $hostport (round $((r + 1))/$NET_ROUNDS) ..." >&2
	read -r dr vr qr < <(ka_round "$ip:80" "$hostport") ||
		{ echo "kaclient gave no figure:" >&2; cat "$work/kaclient.log" >&2; exit 1; }
	d+=("$dr") v+=("$vr") q+=("$qr")
done
echo "req/s per round: direct ${d[*]}; published ${v[*]}; published ÷ direct % ${q[*]}" >&2
direct="$(median "${d[@]}")" viaport="$(median "${v[@]}")" ratio="$(median "${q[@]}")"

echo
echo "| what                                          | berth      | target |"
echo "|-----------------------------------------------|------------|--------|"
printf '| run --rm busybox true, --network none, median | %7s ms |        |\n' "$none"
printf '| run --rm busybox true, default bridge, median | %7s ms |        |\n' "$bridge"
printf '| network set-up added (bridge − none)          | %7s ms | ≪ run  |\n' "$(awk -v a="$bridge" -v b="$none" 'BEGIN { printf "%.1f", a - b }')"
printf '| run --rm -p 127.0.0.1::80 true, median        | %7s ms |        |\n' "$published"
printf '| req/s direct to %-28s | %10s |        |\n' "$ip" "$direct"
printf '| req/s via published %-24s | %10s |        |\n' "$hostport" "$viaport"
printf '| published / direct, median of the rounds      | %8s %% | ≥ 95 %% |\n' "$ratio"
echo
if command -v dockerd >/dev/null || [ -S /var/run/docker.sock ]; then
	echo "Docker engine present, but this script does not drive it: compare by hand with docker-proxy (-p) against the container IP."
else
	echo "Docker is not installed here: no docker-proxy figure to set side by side (only the docker CLI is present)."
fi
echo "medians of $ROUNDS alternating rounds (throughput: $NET_ROUNDS rounds); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench/kaclient: 32 connections a path, ${NET_GROUPS:-20} × 4 turns of ${NET_SLICE_MS:-50} ms a round, 612-byte page, keep-alive; bench/kaserver; kernel $(uname -r); $(nproc) cores"
