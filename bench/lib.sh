# bench/lib.sh — shared by the bench scripts (source it, don't run it).
set -euo pipefail

IMAGE="${IMAGE:-busybox}"
# BENCH_RUNS holds one record per private berthd running (private_berthd).
BENCH_RUNS=/run/berth-bench
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

# private_berthd BRIDGE CHAINS [BIP] — build berthd, berth, berth-compose,
# berth-monitor and berth-cmon (the C monitor) from this tree, install them
# into $work/bin and start a private berthd on $work: its own
# data-root, socket, bridge, netfilter chains and subnet, so a system berthd
# is never touched. Needs $work (a fresh temp dir); sets BERTH_BIN,
# BERTH_CLI, BERTH_HOST, BERTH_PIDFILE and berthd_pid. BENCH_EXTRA_CONFIG
# adds daemon.json keys ('"userns-remap":"default"'). Pair it with
# `trap private_cleanup EXIT`.
# Without BIP the bridge gets 10.$berth_x.0.1/24, X free on the host
# (free_subnet from $BENCH_SUBNET_FROM, default 150), chosen under a
# host-wide lock held until berthd has made its bridge, so two bench runs
# started at once never pick the same subnet; berth_x is set and added to
# TAKEN_SUBNETS for the peers' subnets.
# The bridge and chains are BRIDGE-PID and CHAINS-PID (this script's pid),
# so two runs at once never share them, and the run is recorded in
# $BENCH_RUNS/PID until private_cleanup: `bench/netclean.sh --stale`
# cleans up after a run that was killed before its EXIT trap could.
private_berthd() {
	BENCH_BRIDGE="$1-$$" BENCH_CHAINS="$2-$$"
	if [ "${#BENCH_BRIDGE}" -gt 15 ] || [ "${#BENCH_CHAINS}" -gt 16 ]; then
		echo "bench: $BENCH_BRIDGE or $BENCH_CHAINS is too long for a bridge (15) or chain prefix (16)" >&2
		exit 1
	fi
	export BERTH_BIN="$work/bin" BERTH_CLI="$work/bin/berth"
	export BERTH_HOST="unix://$work/s.sock" BERTH_PIDFILE="$work/berthd.pid"
	echo "building into $BERTH_BIN ..." >&2
	# Built into a scratch folder and installed from there, as
	# scripts/setup.sh installs them: a program run straight from the
	# linker's output file takes more page faults at every start (here
	# ~5 % on `run --rm`, CLI alone) than the same bytes copied, so the
	# figures would be for binaries no installation runs.
	local b build="$work/build"
	mkdir -p "$build" "$BERTH_BIN"
	go build -trimpath -o "$build/berthd" ./cmd/berthd
	CGO_ENABLED=0 go build -trimpath -o "$build/berth" ./cmd/berth
	go build -trimpath -o "$build/berth-compose" ./cmd/berth-compose
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$build/berth-monitor" ./cmd/berth-monitor
	make -s -C cmon O="$build"
	for b in berthd berth berth-compose berth-monitor berth-cmon; do
		install -m 0755 "$build/$b" "$BERTH_BIN/$b"
	done
	rm -rf "$build"
	mkdir -p "$BENCH_RUNS"
	local bip="${3:-}"
	if [ -z "$bip" ]; then
		exec 9>"$BENCH_RUNS/subnet.lock" # fd 9: closed for berthd below, so the lock ends with this function
		flock 9
		berth_x="$(free_subnet "${BENCH_SUBNET_FROM:-150}")" || { echo "bench: no free 10.X.0.0/16 on this host" >&2; exit 1; }
		TAKEN_SUBNETS="${TAKEN_SUBNETS:+$TAKEN_SUBNETS }$berth_x"
		bip="10.$berth_x.0.1/24"
	fi
	printf '{"bridge":"%s","iptables-chain-prefix":"%s","bip":"%s"%s}\n' "$BENCH_BRIDGE" "$BENCH_CHAINS" "$bip" "${BENCH_EXTRA_CONFIG:+,$BENCH_EXTRA_CONFIG}" >"$work/daemon.json"
	"$BERTH_BIN/berthd" -H "$BERTH_HOST" --data-root "$work/data" --exec-root "$work/exec" \
		--config-file "$work/daemon.json" --pidfile "$BERTH_PIDFILE" >"$work/berthd.log" 2>&1 9>&- &
	berthd_pid=$!
	printf 'work=%s\nbridge=%s\nchains=%s\nberthd=%s\n' "$work" "$BENCH_BRIDGE" "$BENCH_CHAINS" "$berthd_pid" >"$BENCH_RUNS/$$"
	for _ in $(seq 100); do "$BERTH_CLI" version >/dev/null 2>&1 && break; sleep 0.1; done
	"$BERTH_CLI" version >/dev/null || { echo "berthd did not come up:" >&2; tail "$work/berthd.log" >&2; exit 1; }
	# berthd answers only once its bridge holds the address: the subnet
	# now shows on the host, and the next run's free_subnet skips it.
	exec 9>&-
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
	[ -z "${BENCH_BRIDGE:-}" ] || bench/netclean.sh "$BENCH_CHAINS" "$BENCH_BRIDGE" "$work/data/berth.db"
	rm -rf "$work"
	rm -f "$BENCH_RUNS/$$"
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

# build_ka — bench/kaserver (the keep-alive HTTP server the network rows
# measure, in $work/ka.tar for an image) and bench/kaclient (their client)
# into $work/ka.
build_ka() {
	local p
	mkdir -p "$work/ka"
	for p in kaserver kaclient; do
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/ka/$p" "./bench/$p"
	done
	tar -C "$work/ka" -cf "$work/ka.tar" kaserver
}

# ka_round DIRECT PUBLISHED [OPTIONS...] — one round of the published-port
# figure (host:port each): bench/kaclient through both paths in turns of
# ${NET_SLICE_MS:-50} ms, ${NET_GROUPS:-20} groups of four (direct,
# published, published, direct), so that a burst of other work falls on
# both alike. Prints "DIRECT PUBLISHED PERCENT"; its errors are appended
# to $work/kaclient.log. Needs build_ka.
ka_round() {
	"$work/ka/kaclient" -slice "${NET_SLICE_MS:-50}ms" -groups "${NET_GROUPS:-20}" -warm 250ms "${@:3}" "$1" "$2" 2>>"$work/kaclient.log"
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
		grep -qE "(^|[^0-9])10\.$x\." <<<"$used" || { echo "$x"; return 0; }
	done
	return 1
}

# ---------------------------------------------------------------- peers
# snap_host — record what the peers (Docker, Podman) may change on the host
# into $hostsnap (a path outside $work), for restore_host to put back.
snap_host() {
	local t
	mkdir -p "$hostsnap"
	for t in filter nat mangle raw; do
		iptables -t "$t" -S >"$hostsnap/ipt4.$t" 2>/dev/null || true
		ip6tables -t "$t" -S >"$hostsnap/ipt6.$t" 2>/dev/null || true
	done
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' >"$hostsnap/links"
	: >"$hostsnap/sysctl"
	for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding \
		/proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables \
		/proc/sys/net/ipv4/conf/all/route_localnet; do
		[ -e "$f" ] && echo "$f $(cat "$f")" >>"$hostsnap/sysctl"
	done
	: >"$hostsnap/paths"
	for p in /etc/docker /run/docker /var/run/docker.sock /run/containerd /var/lib/cni /run/cni \
		/etc/cni/net.d/87-podman-bridge.conflist /run/containers /run/libpod /var/lib/containers \
		/var/lib/docker /tmp/podman-run-0; do
		[ -e "$p" ] || echo "$p" >>"$hostsnap/paths"
	done
}

# peer_rule LINE — whether an iptables rule or chain belongs to a peer: its
# chains (DOCKER*, CNI-*, NETAVARK*, PODMAN*) or its bridges or subnets.
peer_rule() {
	grep -qE "DOCKER|CNI-|NETAVARK|PODMAN|docker0|cni-podman|podman0|10\.(${docker_x:-none}|${podman_x:-none})\." <<<"$1"
}

restore_iptables() { # iptables|ip6tables v4|v6
	local cmd="$1" v="$2" t line c
	for t in filter nat mangle raw; do
		[ -e "$hostsnap/ipt$v.$t" ] || continue
		# New rules (not chain declarations) of the peers, in reverse order.
		"$cmd" -t "$t" -S 2>/dev/null | grep '^-A ' | grep -vxFf "$hostsnap/ipt$v.$t" | tac |
			while read -r line; do
				peer_rule "$line" || continue
				# shellcheck disable=SC2086
				eval "$cmd -t $t ${line/-A/-D}" 2>/dev/null || true
			done
		for c in $("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }'); do
			grep -qx -- "-N $c" "$hostsnap/ipt$v.$t" && continue
			peer_rule "$c" || continue
			"$cmd" -t "$t" -F "$c" 2>/dev/null || true
		done
		for c in $("$cmd" -t "$t" -S 2>/dev/null | awk '$1 == "-N" { print $2 }'); do
			grep -qx -- "-N $c" "$hostsnap/ipt$v.$t" && continue
			peer_rule "$c" || continue
			"$cmd" -t "$t" -X "$c" 2>/dev/null || true
		done
		# Built-in chains' policies (Docker sets FORWARD to DROP).
		grep '^-P ' "$hostsnap/ipt$v.$t" | while read -r _ c pol; do
			"$cmd" -t "$t" -P "$c" "$pol" 2>/dev/null || true
		done
	done
}

restore_host() {
	[ -e "$hostsnap/links" ] || return 0
	restore_iptables iptables 4
	restore_iptables ip6tables 6
	local l f v p
	for l in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		grep -qx -- "$l" "$hostsnap/links" && continue
		case "$l" in docker0 | cni-podman* | podman* | veth*) ip link del "$l" 2>/dev/null || true ;; esac
	done
	while read -r f v; do [ "$(cat "$f" 2>/dev/null)" = "$v" ] || echo "$v" >"$f" 2>/dev/null || true; done <"$hostsnap/sysctl"
	while read -r p; do
		[ -e "$p" ] || continue
		awk -v w="$p/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$p"
	done <"$hostsnap/paths"
}

# start_dockerd — a private dockerd on $work/docker (socket docker.sock,
# data-root, exec-root) with its bridge on 10.$docker_x.0.1/24; sets
# dockerd_pid. Pair with snap_host/restore_host.
start_dockerd() {
	local d="$work/docker"
	mkdir -p "$d"
	echo '{}' >"$d/daemon.json"
	if [ -S /run/containerd/containerd.sock ]; then
		echo "bench: note: a containerd runs on /run/containerd; dockerd will use it" >&2
	fi
	dockerd -H "unix://$d/docker.sock" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
		--config-file "$d/daemon.json" --bip "10.$docker_x.0.1/24" --log-level warn >"$d/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 300); do DOCKER_HOST="unix://$d/docker.sock" "${DOCKER_BIN:-docker}" version >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "bench: dockerd did not come up:" >&2
	tail "$d/dockerd.log" >&2
	return 1
}

# stop_dockerd — remove the private dockerd's containers and stop it.
stop_dockerd() {
	if [ -n "${dockerd_pid:-}" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		local ids
		ids="$(DOCKER_HOST="unix://$work/docker/docker.sock" "${DOCKER_BIN:-docker}" ps -aq 2>/dev/null)"
		[ -z "$ids" ] || DOCKER_HOST="unix://$work/docker/docker.sock" "${DOCKER_BIN:-docker}" rm -f $ids >/dev/null 2>&1
		kill -TERM "$dockerd_pid"
		for _ in $(seq 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$dockerd_pid" 2>/dev/null
		wait "$dockerd_pid" 2>/dev/null
	fi
	dockerd_pid=""
}

# ---------------------------------------------------------------- timing
# hf_median PREPARE CMD — hyperfine median of CMD over $RUNS runs in ms
# (2 warm-ups), PREPARE (untimed) before each run; output discarded.
hf_median() {
	need_hyperfine
	local csv
	csv="$(mktemp)"
	hyperfine --style none --warmup 2 --runs "$RUNS" --shell=none --prepare "$1" \
		--output=null --export-csv "$csv" "$2" >/dev/null
	awk -F, 'NR==2 { printf "%.1f\n", $4 * 1000 }' "$csv"
	rm -f "$csv"
}

# interleaved_ms RUNS NAME=CMD... — time each CMD RUNS times taking turns
# (one run of each per round, after an untimed warm-up round), so the load
# of a shared machine falls on every CMD alike; prints "NAME MEDIAN_MS" per
# CMD. A CMD that fails ends it with an error.
interleaved_ms() {
	local runs="$1" dir i nc name t0
	shift
	dir="$(mktemp -d)"
	for ((i = 0; i <= runs; i++)); do
		for nc in "$@"; do
			name="${nc%%=*}"
			t0="$(date +%s%N)"
			# shellcheck disable=SC2086
			${nc#*=} >/dev/null 2>&1 || { echo "bench: $name failed: ${nc#*=}" >&2; rm -rf "$dir"; return 1; }
			[ "$i" -eq 0 ] || echo $((($(date +%s%N) - t0) / 1000)) >>"$dir/$name"
		done
	done
	for nc in "$@"; do
		name="${nc%%=*}"
		sort -n "$dir/$name" | awk -v n="$name" '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %.1f\n", n, m / 1000 }'
	done
	rm -rf "$dir"
}

# runrm_breakdown N — a Markdown table of where the time of `$BERTH_CLI run
# --rm $IMAGE true` goes (bench/breakdown.awk): N runs, each with the CLI
# under `strace -f -ttt` and berthd (already started: $berthd_pid) traced
# throughout, medians per step. Traced runs are several times slower than
# untraced ones (every traced syscall stops the process), so the table is
# for where the time goes, not for how much there is.
runrm_breakdown() {
	local n="$1" dir="$work/breakdown" st i
	mkdir -p "$dir"
	strace -f -ttt -qq -s 256 -e trace=execve,mount,umount2,exit_group,unshare,clone,clone3,vfork \
		-p "$berthd_pid" -o "$dir/berthd" &
	st=$!
	for _ in $(seq 50); do grep -q "TracerPid:[[:space:]]*$st\$" /proc/"$berthd_pid"/status 2>/dev/null && break; sleep 0.1; done
	for ((i = 1; i <= n; i++)); do
		strace -f -ttt -qq -s 128 -e trace=execve,write,exit_group -o "$dir/cli.$i" \
			"$BERTH_CLI" run --rm "$IMAGE" true >/dev/null
	done
	# berthd's last steps of the last run may trail the CLI's exit.
	for _ in $(seq 50); do [ "$(grep -c 'umount2(".*/merged"' "$dir/berthd")" -ge "$n" ] && break; sleep 0.1; done
	kill "$st" 2>/dev/null
	wait "$st" 2>/dev/null || true
	awk -f bench/breakdown.awk $(for ((i = 1; i <= n; i++)); do echo "$dir/cli.$i"; done) "$dir/berthd"
}
