# bench/lib.sh — shared by the bench scripts (source it, don't run it).
set -euo pipefail

IMAGE="${IMAGE:-busybox}"
RUNS="${RUNS:-30}"

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

# pss_kb PID... — summed proportional set size of the given processes, in kB.
pss_kb() {
	local total=0 pid v
	for pid in "$@"; do
		v="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# private_berthd BRIDGE CHAINS BIP — build berthd, berth, berth-compose and berth-monitor
# from this tree into $work/bin and start a private berthd on $work: its own
# data-root, socket, bridge, netfilter chains and subnet, so a system berthd
# is never touched. Needs $work (a fresh temp dir); sets BERTH_BIN,
# BERTH_CLI, BERTH_HOST, BERTH_PIDFILE and berthd_pid. BENCH_EXTRA_CONFIG
# adds daemon.json keys ('"userns-remap":"default"'). Pair it with
# `trap private_cleanup EXIT`.
private_berthd() {
	BENCH_BRIDGE="$1" BENCH_CHAINS="$2"
	export BERTH_BIN="$work/bin" BERTH_CLI="$work/bin/berth"
	export BERTH_HOST="unix://$work/s.sock" BERTH_PIDFILE="$work/berthd.pid"
	echo "building into $BERTH_BIN ..." >&2
	go build -trimpath -o "$BERTH_BIN/berthd" ./cmd/berthd
	go build -trimpath -o "$BERTH_BIN/berth" ./cmd/berth
	go build -trimpath -o "$BERTH_BIN/berth-compose" ./cmd/berth-compose
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BERTH_BIN/berth-monitor" ./cmd/berth-monitor
	printf '{"bridge":"%s","iptables-chain-prefix":"%s","bip":"%s"%s}\n' "$1" "$2" "$3" "${BENCH_EXTRA_CONFIG:+,$BENCH_EXTRA_CONFIG}" >"$work/daemon.json"
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

# apt_install PKG... — install the Debian packages that are missing. Services
# a package would start are held back (policy-rc.d) unless something holds
# them back already: the benchmark starts what it needs itself, privately.
apt_install() {
	local missing=() p made=""
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bench: installing ${missing[*]} (Debian packages)" >&2
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
	[ -z "$made" ] || rm -f /usr/sbin/policy-rc.d
}

# debian_mirror — the URI apt uses for the bookworm main suite (deb822
# .sources files or one-line sources.list entries); never a fixed host.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS=""; FS="\n" }
			/(^|\n)Suites:[^\n]*(^| )bookworm( |\n|$)/ && /(^|\n)Types:[^\n]*deb( |\n|$)/ {
				for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, " "); print u[1]; exit }
			}' "$f"
	done | head -1 | grep . && return 0
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == "bookworm") { print $i; exit } break } }' | grep .
}

# debian_tarball — print the path of a Debian bookworm minbase root file
# system (tar.gz, ~50 MB), made once with debootstrap from the mirror apt
# uses and cached in /var/cache/berth-bench.
debian_tarball() {
	local cache=/var/cache/berth-bench tarball mirror root
	tarball="$cache/debian-bookworm-minbase.tar.gz"
	if [ ! -s "$tarball" ]; then
		apt_install debootstrap
		mirror="$(debian_mirror)" || { echo "bench: no bookworm mirror in /etc/apt/sources.list*" >&2; return 1; }
		echo "bench: debootstrap --variant=minbase bookworm from $mirror (once; cached in $cache) ..." >&2
		mkdir -p "$cache"
		root="$(mktemp -d /tmp/bb-debootstrap-XXXXXX)"
		if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
			rm -rf "$root"
			echo "bench: debootstrap failed; see $cache/debootstrap.log" >&2
			return 1
		fi
		# The apt lists and caches are not part of a minimal image.
		rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
		tar --numeric-owner --xattrs -C "$root" -cf - . | gzip -1 >"$tarball.tmp"
		mv "$tarball.tmp" "$tarball"
		rm -rf "$root"
	fi
	echo "$tarball"
}

# free_port — a TCP port free on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry DIR PORT — Debian's docker-registry on 127.0.0.1:PORT with
# its storage in DIR (made empty); sets regpid. Stop it with stop_registry.
start_registry() {
	rm -rf "$1"
	mkdir -p "$1"
	printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$1" "$2" >"$1.yml"
	/usr/bin/docker-registry serve "$1.yml" >"$1.log" 2>&1 &
	regpid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$2/v2/" >/dev/null && return 0; sleep 0.1; done
	echo "bench: docker-registry did not come up:" >&2
	cat "$1.log" >&2
	return 1
}

# stop_registry — stop the registry start_registry started.
stop_registry() {
	[ -n "${regpid:-}" ] || return 0
	kill -TERM "$regpid" 2>/dev/null
	wait "$regpid" 2>/dev/null || true
	regpid=""
}

# free_subnet FROM — the first X ≥ FROM such that no route or address on
# this host is in 10.X.0.0/16 and X is not in $TAKEN_SUBNETS.
free_subnet() {
	local x used
	used="$(ip -4 route show; ip -4 addr show)"
	for ((x = $1; x < 255; x++)); do
		case " ${TAKEN_SUBNETS:-} " in *" $x "*) continue ;; esac
		grep -q "10\.$x\." <<<"$used" || { echo "$x"; return 0; }
	done
	return 1
}
