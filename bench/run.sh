#!/usr/bin/env bash
# bench/run.sh — Berth's figures against a private berthd built from this
# tree (own data-root, socket, bridge, chains and subnet; a system berthd is
# never touched), beside the floor (a bare `crun run` of a prepared bundle;
# unshare + chroot) and, with --peers, beside Docker and Podman measured in
# the same run.
#
#   sudo bench/run.sh [--peers] [--quick] [--out FILE] [--rows LIST]
#
# --peers  installs Debian's docker.io and podman when missing (services held
#          back), starts a private dockerd (own socket, data-root, exec-root,
#          subnet) and drives podman with private storage and configuration,
#          gives each the same busybox image (scripts/mkbusybox.sh, imported),
#          and afterwards stops them and restores what they changed on the
#          host (iptables chains, rules and FORWARD policy, bridges, sysctls,
#          directories). Writes the report to bench/RESULTS.md unless --out.
# --quick  fewer repetitions and 20 instead of 200 containers (a smoke run;
#          its report says so).
# --rows   a comma list of rows to take (default all): runrm,rund,start,
#          create,rm,stop,kill,cli,par,many,pull,push,net,build.
#
# Samples are interleaved: each repetition takes one sample of every engine
# in turn (berth, docker CLI → berthd, Docker, Podman, floors), so a burst
# of other work on the machine hits all alike; ratios are taken pair by pair
# (sample i of Berth ÷ sample i of Docker) and reported as median (min–max).
# Nothing is printed for an engine that was not measured in this run.
# Sizes (environment): RUNS=15 (fast rows), RUNRM_RUNS=3×RUNS (the run
# --rm row: its ratio to the floor is the closest target, and 15 pairs
# left its median ±5 % from one run to the next), N=200, MANY_ROUNDS=2,
# PAR_ROUNDS=10, PULL_RUNS=5, PUSH_RUNS=3, BUILD_RUNS=5, NET_ROUNDS=10,
# NET_GROUPS=20 and NET_SLICE_MS=50 (a net round: NET_GROUPS × 4 turns of
# NET_SLICE_MS), BREAKDOWN_RUNS=5 (traced run --rm).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
export LC_ALL=C
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }

peers=0 quick=0 out="" rows="runrm,rund,start,create,rm,stop,kill,cli,par,many,pull,push,net,build"
while [ $# -gt 0 ]; do
	case "$1" in
	--peers) peers=1 ;;
	--quick) quick=1 ;;
	--out) out="${2:?--out FILE}"; shift ;;
	--rows) rows="${2:?--rows LIST}"; shift ;;
	-h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$out" ] || { [ "$peers" = 0 ] || out=bench/RESULTS.md; }
if [ "$quick" = 1 ]; then
	: "${RUNS:=5}" "${N:=20}" "${MANY_ROUNDS:=1}" "${PAR_ROUNDS:=3}" "${PULL_RUNS:=2}" "${PUSH_RUNS:=1}"
	: "${BUILD_RUNS:=2}" "${NET_ROUNDS:=2}" "${BREAKDOWN_RUNS:=3}"
fi
RUNS="${RUNS:-15}" RUNRM_RUNS="${RUNRM_RUNS:-$((3 * RUNS))}" N="${N:-200}" MANY_ROUNDS="${MANY_ROUNDS:-2}" PAR_ROUNDS="${PAR_ROUNDS:-10}"
PULL_RUNS="${PULL_RUNS:-5}" PUSH_RUNS="${PUSH_RUNS:-3}" BUILD_RUNS="${BUILD_RUNS:-5}"
NET_ROUNDS="${NET_ROUNDS:-10}" NET_GROUPS="${NET_GROUPS:-20}" NET_SLICE_MS="${NET_SLICE_MS:-50}"
BREAKDOWN_RUNS="${BREAKDOWN_RUNS:-5}"
want() { case ",$rows," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

work="$(mktemp -d /tmp/bb-XXXXXX)"
hostsnap="$work.host" # outlives $work: restore_host runs after it is gone
source bench/lib.sh
t_start="$(date +%s)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$work/s" "$work/dockercfg"
echo '{}' >"$work/dockercfg/config.json"

apt_install docker-registry busybox-static strace isal
[ "$peers" = 0 ] || apt_install docker.io podman

# The docker CLI used for every docker column (berthd's and Docker's): the
# newest one here, so only the engine differs between the two columns.
DOCKER_BIN="$(command -v docker || true)"
[ -x /usr/local/bin/docker ] && DOCKER_BIN=/usr/local/bin/docker
unset DOCKER_CONTEXT
export DOCKER_CONFIG="$work/dockercfg" DOCKER_CLI_HINTS=false DOCKER_BUILDKIT=0

# ---------------------------------------------------------------- engines
dockerd_pid=""
c_berth() { "$BERTH_CLI" "$@"; }
c_bdock() { DOCKER_HOST="$BERTH_HOST" "$DOCKER_BIN" "$@"; }
c_docker() { DOCKER_HOST="unix://$work/docker/docker.sock" "$DOCKER_BIN" "$@"; }
c_podman() {
	CONTAINERS_CONF="$work/podman/containers.conf" CONTAINERS_STORAGE_CONF="$work/podman/storage.conf" podman "$@"
}
# The same as commands (for xargs): env VAR=... CLI.
cmd_of() {
	case "$1" in
	berth) echo "$BERTH_CLI" ;;
	bdock) echo "env DOCKER_HOST=$BERTH_HOST $DOCKER_BIN" ;;
	docker) echo "env DOCKER_HOST=unix://$work/docker/docker.sock $DOCKER_BIN" ;;
	podman) echo "env CONTAINERS_CONF=$work/podman/containers.conf CONTAINERS_STORAGE_CONF=$work/podman/storage.conf podman" ;;
	esac
}
# rmf_args ENGINE — `rm -f` without a grace period for every engine (Podman's
# rm -f stops with its 10 s timeout unless told -t 0; Docker and Berth kill).
rmf_args() { if [ "$1" = podman ]; then echo "rm -f -t 0"; else echo "rm -f"; fi; }

setup_podman() {
	local d="$work/podman"
	mkdir -p "$d/networks" "$d/tmp"
	cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = [$(podman_ulimits)]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"
[network]
network_config_dir = "$d/networks"
default_subnet = "10.$podman_x.0.0/24"
EOF
	cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/storage"
runroot = "$d/run"
EOF
	c_podman info >"$d/info.txt" 2>&1 || { echo "bench: podman info failed:" >&2; tail "$d/info.txt" >&2; return 1; }
}

# Podman sets RLIMIT_NOFILE and RLIMIT_NPROC in every container, by default
# 1048576 each: above this shell's hard limits where the machine grants no
# CAP_SYS_RESOURCE (a VM sandbox), so crun's setrlimit fails (EPERM) and
# Podman runs nothing ("--ulimit host" is no help in 4.3: the defaults still
# apply). Docker and Berth set none: their containers inherit the limits of
# this shell. podman_ulimits gives Podman those same limits through its
# private containers.conf (default_ulimits), RLIMIT_NPROC capped at 32768:
# podman lowers its own to that when it starts (seen with strace, 4.3.1), so
# its containers cannot get more.
podman_ulimits() {
	local ns nh ps ph
	ns="$(ulimit -Sn)" nh="$(ulimit -Hn)" ps="$(ulimit -Su)" ph="$(ulimit -Hu)"
	[ "$ph" != unlimited ] && [ "$ph" -le 32768 ] || ph=32768
	[ "$ps" != unlimited ] && [ "$ps" -le "$ph" ] || ps="$ph"
	[ "$nh" != unlimited ] || nh=1048576
	[ "$ns" != unlimited ] || ns="$nh"
	echo "\"nofile=$ns:$nh\", \"nproc=$ps:$ph\""
}
podman_why=""
check_podman_runs() {
	c_podman run --rm --network none busybox true >"$work/podman/check.txt" 2>&1 && return 0
	podman_why="$(grep -m1 -i 'error' "$work/podman/check.txt" || tail -1 "$work/podman/check.txt")"
	echo "bench: podman cannot run a container here; it is left out of this run: $podman_why" >&2
	return 1
}

stop_peers() {
	set +e
	if [ -e "$work/podman/storage.conf" ]; then
		c_podman rm -a -f -t 0 >/dev/null 2>&1
		c_podman rmi -a -f >/dev/null 2>&1
		c_podman system reset -f >/dev/null 2>&1
	fi
	stop_dockerd
	# containerd-shims and conmons of this run that outlived their engine.
	local p
	for p in $(pgrep -f -- "$work/" || true); do
		[ "$p" = "$$" ] || case "$(cat /proc/"$p"/comm 2>/dev/null)" in
			containerd* | conmon | docker-proxy) kill -KILL "$p" 2>/dev/null ;;
			esac
	done
}

bench_before_cleanup() {
	stop_registry
	[ "$peers" = 0 ] || stop_peers
}
cleanup_all() {
	set +e
	private_cleanup # calls bench_before_cleanup, unmounts and removes $work's mounts
	[ "$peers" = 0 ] || restore_host
	rm -rf "$work" "$hostsnap"
}

# ---------------------------------------------------------------- samples
# Samples go to $work/s/ROW.COL, one per line (ms, MiB or %).
rec() { echo "$3" >>"$work/s/$1.$2"; }
fail() { # ROW COL — note a failed sample; show why
	echo "  $1: $2 failed: $(tail -3 "$work/err" | tr '\n' ' ')" >&2
	echo "$2" >>"$work/s/$1.failed"
}
# timed ROW COL CMD... — run CMD (a c_* function call), its stdout in
# $work/o, and record its wall time in ms. $EPOCHREALTIME costs no fork.
timed() {
	local row="$1" col="$2" t0 t1
	shift 2
	t0="$EPOCHREALTIME"
	if "$@" >"$work/o" 2>"$work/err"; then
		t1="$EPOCHREALTIME"
		rec "$row" "$col" "$(((${t1/[.,]/} - ${t0/[.,]/}) / 10))e-2"
	else
		fail "$row" "$col"
		return 1
	fi
}
id_out() { tail -1 "$work/o" | tr -d '\r '; }
# settle — wait (at most 10 s) until the last clean-up has finished on the
# machine: no runtime, shim, monitor, conmon or Podman clean-up process of
# this run left (each names $work on its command line). An engine's `rm -f`
# returns before all of its work is done (Podman's conmons then run a
# `podman container cleanup` each, Docker's shims and runc exit after the
# reply), and that tail would otherwise run inside whichever sample comes
# next, another engine's as often as not. Called only where no container of
# this run is meant to be up.
settle() {
	local i p n=0
	for ((i = 0; i < 200; i++)); do
		n=0
		for p in $(pgrep -f -- "$work/" || true); do
			case "$(cat /proc/"$p"/comm 2>/dev/null)" in
			containerd-shim* | runc* | crun | conmon | podman | berth-cmon | berth-monitor) n=$((n + 1)) ;;
			esac
		done
		[ "$n" -gt 0 ] || return 0
		sleep 0.05
	done
	echo "  settle: $n clean-up processes of this run still there after 10 s" >&2
}

cols=(berth bdock)
engines=(berth)
stats() { # FILE — median min max
	sort -g "$1" | awk '{ v[NR] = $1 + 0 } END { if (NR == 0) exit 1; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

# ---------------------------------------------------------------- set-up
trap cleanup_all EXIT
# A signal ends the run through the EXIT trap (peers stopped, host restored).
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$peers" = 0 ] || snap_host
private_berthd bbench0 BBENCH # sets berth_x, TAKEN_SUBNETS
scripts/mkbusybox.sh "$work/busybox.tar"
c_berth import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null
# berthd's threads and memory: anonymous memory is what it holds; the rest
# of its RSS is pages of its own binary, shared with the page cache.
berthd_mem() {
	awk '/^Threads:/ { t = $2 } /^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { printf "%d threads, %.1f MiB RSS (%.1f MiB anonymous)", t, r / 1024, a / 1024 }' /proc/"$berthd_pid"/status
}
berthd_fresh="$(berthd_mem)"

if [ "$peers" = 1 ]; then
	docker_x="$(free_subnet 200)"
	TAKEN_SUBNETS+=" $docker_x"
	podman_x="$(free_subnet 200)"
	TAKEN_SUBNETS+=" $podman_x"
	echo "bench: starting a private dockerd (10.$docker_x.0.0/24) and podman (10.$podman_x.0.0/24) ..." >&2
	start_dockerd
	setup_podman
	c_docker import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null
	c_podman import --change 'CMD ["sh"]' "$work/busybox.tar" busybox:latest >/dev/null 2>&1
	cols+=(docker)
	engines+=(docker)
	if check_podman_runs; then
		cols+=(podman)
		engines+=(podman)
	fi
fi

# The floor: a bundle of the same busybox for a bare `crun run`, and the
# same root for unshare + chroot.
floor="$work/floor"
mkdir -p "$floor/bundle/rootfs" "$floor/state"
tar -C "$floor/bundle/rootfs" -xf "$work/busybox.tar"
(cd "$floor/bundle" && crun spec)
python3 - "$floor/bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
json.dump(c, open(p, "w"))
EOF
# The floor runs the crun binary berthd runs (Berth's own build when it is
# installed, scripts/build-crun.sh), so that Berth ÷ crun compares like with
# like; Debian's crun (the one in PATH) is timed beside it for reference.
floor_crun="$(c_berth info --format '{{(index .Runtimes "crun").Path}}')"
deb_crun="$(command -v crun)"
[ -x "$floor_crun" ] || { echo "bench: berthd names no crun binary ($floor_crun)" >&2; exit 1; }
# The same binary also runs from a read-only bind mount of it, as berthd
# runs it (engine/runtime/pin.go): run from a writable file, crun first
# makes itself a sealed copy (a bind mount of its binary, a read-only
# remount and a re-exec), which berthd's containers never pay.
crunro="$work/crunro/crun"
mkdir -p "$work/crunro" && touch "$crunro"
mount --bind "$floor_crun" "$crunro" && mount -o remount,bind,ro "$crunro" ||
	{ echo "bench: cannot bind-mount $floor_crun read-only at $crunro" >&2; exit 1; }
floor_cols=(crun crunro chroot)
[ "$floor_crun" -ef "$deb_crun" ] || floor_cols=(crun crunro crundeb chroot)
c_crun() { "$floor_crun" --root "$floor/state" run -b "$floor/bundle" benchfloor </dev/null; }
c_crunro() { "$crunro" --root "$floor/state" run -b "$floor/bundle" benchfloor </dev/null; }
c_crundeb() { "$deb_crun" --root "$floor/state" run -b "$floor/bundle" benchfloor </dev/null; }
c_chroot() { unshare --mount --uts --ipc --net --pid --fork chroot "$floor/bundle/rootfs" /bin/true; }
for c in "${floor_cols[@]}"; do "c_$c" || { echo "bench: the floor command $c fails" >&2; exit 1; }; done

# ---------------------------------------------------------------- fast rows
# one_sample ROW COL — one timed sample of ROW through COL, with its untimed
# preparation and clean-up (the same for every engine: Podman's `rm -f`
# told -t 0, as Docker's and Berth's kill at once), and settle: the next
# sample starts once this one's clean-up has finished.
one_sample() {
	local row="$1" col="$2" id=""
	case "$row" in
	runrm) timed runrm "$col" "c_$col" run --rm busybox true ;;
	rund)
		timed rund "$col" "c_$col" run -d busybox sleep 1d && id="$(id_out)"
		c_"$col" $(rmf_args "$col") "$id" >/dev/null 2>&1 || true
		;;
	start)
		id="$(c_"$col" create busybox sleep 1d)"
		timed start "$col" "c_$col" start "$id" || true
		c_"$col" $(rmf_args "$col") "$id" >/dev/null
		;;
	create)
		timed create "$col" "c_$col" create busybox true && id="$(id_out)"
		c_"$col" $(rmf_args "$col") "$id" >/dev/null 2>&1 || true
		;;
	rm)
		id="$(c_"$col" create busybox true)"
		c_"$col" start -a "$id" >/dev/null
		settle # the exit's clean-up (Podman: conmon's `podman container cleanup`) is not rm's
		timed rm "$col" "c_$col" rm "$id" || c_"$col" rm -f "$id" >/dev/null 2>&1 || true
		;;
	stop | kill)
		id="$(c_"$col" run -d busybox sleep 1d)"
		if [ "$row" = stop ]; then timed stop "$col" "c_$col" stop -t 0 "$id" || true; else timed kill "$col" "c_$col" kill "$id" || true; fi
		c_"$col" $(rmf_args "$col") "$id" >/dev/null
		;;
	cli) timed cli "$col" "c_$col" --version ;; # the client's start-up alone
	esac
	settle
}

fast_row() { # ROW [FLOOR-COLS...] (ROUNDS: rounds, default RUNS)
	local row="$1" i c n="${ROUNDS:-$RUNS}"
	shift
	want "$row" || return 0
	echo "bench: $row: $n interleaved rounds of ${cols[*]} $* ..." >&2
	for c in "${cols[@]}"; do one_sample "$row" "$c" || true; done # warm-up
	rm -f "$work/s/$row."*
	for ((i = 0; i < n; i++)); do
		for c in "${cols[@]}"; do one_sample "$row" "$c" || true; done
		for c in "$@"; do timed "$row" "$c" "c_$c" || true; done
	done
}
ROUNDS="$RUNRM_RUNS" fast_row runrm "${floor_cols[@]}"

# What one `berth run --rm busybox true` makes berthd and its monitor do:
# runtime executions (and which of the two ran them), berthd's round trips
# to the monitor and disk flushes, counted with strace (untimed; see
# bench/anatomy.awk).
if want runrm; then
	strace -f -qq -e trace=execve,fsync,fdatasync,sync_file_range,clone,clone3,vfork,connect -p "$berthd_pid" -o "$work/anatomy.txt" &
	st_pid=$!
	for _ in $(seq 50); do grep -q TracerPid:.*"$st_pid" /proc/"$berthd_pid"/status 2>/dev/null && break; sleep 0.1; done
	c_berth run --rm busybox true >/dev/null
	sleep 1 # the exit's clean-up ends after the CLI returns
	kill "$st_pid" 2>/dev/null
	wait "$st_pid" 2>/dev/null || true
	anatomy="$(awk -f bench/anatomy.awk "$work/anatomy.txt")"
	echo "bench: runrm: $BREAKDOWN_RUNS traced runs for the breakdown ..." >&2
	breakdown="$(runrm_breakdown "$BREAKDOWN_RUNS")" || breakdown=""
fi
for r in rund start create rm stop kill cli; do fast_row "$r"; done

# 20 × run -d, 8 at a time. Each sample starts from the same state for
# every engine: the previous sample's 20 containers removed (not timed) and
# that removal finished (settle), dirty pages written out (sync: Docker and
# Podman write a few MB of state per round, whose writeback would land in
# the next engine's sample). The engine that goes first changes from round
# to round, so none always follows the same one; an untimed round first.
par_sample() { # COL [timed] — one sample, timed when told, and its clean-up
	local c="$1" ids run
	run="seq 20 | xargs -P8 -I{} $(cmd_of "$c") run -d --label benchpar=1 busybox sleep 1d"
	settle
	sync
	if [ "${2:-}" = timed ]; then timed par "$c" sh -c "$run" || true; else sh -c "$run" >/dev/null 2>&1 || true; fi
	ids="$(c_"$c" ps -aq --filter label=benchpar=1)"
	[ -z "$ids" ] || c_"$c" $(rmf_args "$c") $ids >/dev/null
}
if want par; then
	echo "bench: par: $PAR_ROUNDS interleaved rounds of 20 × run -d (8 in parallel) of ${cols[*]} ..." >&2
	for c in "${cols[@]}"; do par_sample "$c"; done
	for ((i = 0; i < PAR_ROUNDS; i++)); do
		for ((k = 0; k < ${#cols[@]}; k++)); do par_sample "${cols[(i + k) % ${#cols[@]}]}" timed; done
	done
	settle
fi

# ---------------------------------------------------------------- N running
# engine_kb ENGINE — summed PSS (kB) of the engine's own processes of this
# run (daemon, containerd, shims, monitors, conmons; not the containers').
engine_kb() {
	local pids=() p comm
	for p in $(pgrep -f -- "$work/" || true); do
		comm="$(cat /proc/"$p"/comm 2>/dev/null)" || continue
		case "$1:$comm" in
		berth:berthd | berth:berth-monitor | berth:berth-cmon | docker:dockerd | docker:containerd* | podman:conmon) pids+=("$p") ;;
		esac
	done
	[ "$1" != berth ] || pids+=("$berthd_pid")
	pss_kb $(printf '%s\n' "${pids[@]}" | sort -u)
}
avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

if want many; then
	for ((i = 0; i < MANY_ROUNDS; i++)); do
		for e in "${engines[@]}"; do
			echo "bench: many: round $((i + 1))/$MANY_ROUNDS, $e: $N idle containers ..." >&2
			sync
			a0="$(avail_kb)" p0="$(engine_kb "$e")"
			seq "$N" | xargs -P8 -I{} $(cmd_of "$e") run -d --label benchmany=1 busybox sleep 1d >/dev/null
			# Let the engine and monitors settle before reading memory.
			sleep 3
			a1="$(avail_kb)" p1="$(engine_kb "$e")"
			rec mem "$e" "$(awk -v a="$a0" -v b="$a1" -v n="$N" 'BEGIN { printf "%.3f", (a - b) / n / 1024 }')"
			rec pss "$e" "$(awk -v a="$p0" -v b="$p1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1024 }')"
			ecols=("$e")
			[ "$e" != berth ] || ecols=(berth bdock)
			for c in "${ecols[@]}"; do c_"$c" ps >/dev/null; done
			for ((j = 0; j < RUNS; j++)); do
				for c in "${ecols[@]}"; do timed ps "$c" "c_$c" ps || true; done
			done
			ids="$(c_"$e" ps -q --filter label=benchmany=1 | tr '\n' ' ')"
			[ "$(wc -w <<<"$ids")" -eq "$N" ] || echo "  many: $e runs $(wc -w <<<"$ids") of $N" >&2
			timed rmf "$e" "c_$e" $(rmf_args "$e") $ids || true
			ids="$(c_"$e" ps -aq --filter label=benchmany=1)"
			[ -z "$ids" ] || c_"$e" $(rmf_args "$e") $ids >/dev/null
			settle
		done
	done
	if [ -n "${BERTH_PIDFILE:-}" ]; then
		echo "berthd fresh (the image imported): $berthd_fresh; after the $N-container rounds: $(berthd_mem)" >"$work/berthd-after"
	fi
fi

# ---------------------------------------------------------------- pull, push
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
pull_opts() { [ "$1" = podman ] && echo "--tls-verify=false" || true; }
if want pull || want push; then
	tarball="$(debian_tarball)"
	port="$(free_port)"
	start_registry "$work/registry" "$port"
	ref="127.0.0.1:$port/bench/debian:minbase"
	c_berth import --change 'CMD ["bash"]' - "$ref" <"$tarball" >/dev/null
	c_berth push "$ref" >/dev/null
	c_berth rmi "$ref" >/dev/null
	pull_mb="$(du -sb "$work/registry/docker/registry/v2/blobs" | awk '{ printf "%.1f", $1 / 1e6 }')"
	for e in "${engines[@]}"; do c_"$e" pull $(pull_opts "$e") "$ref" >/dev/null; done # warm-up, and check
	echo "bench: pull: $PULL_RUNS interleaved rounds of ${engines[*]} ($pull_mb MB, page cache dropped) ..." >&2
	for ((i = 0; i < PULL_RUNS; i++)); do
		for e in "${engines[@]}"; do
			c_"$e" rmi -f "$ref" >/dev/null 2>&1 || true
			drop_caches
			timed pull "$e" "c_$e" pull $(pull_opts "$e") "$ref" || true
		done
	done
	stop_registry
	if want push; then
		# First push: into an empty registry each time.
		pport="$(free_port)"
		echo "bench: push: $PUSH_RUNS interleaved rounds of ${engines[*]}, each into an empty registry ..." >&2
		for e in "${engines[@]}"; do c_"$e" tag "$ref" "127.0.0.1:$pport/bench/debian:push-$e" >/dev/null; done
		for ((i = 0; i < PUSH_RUNS; i++)); do
			for e in "${engines[@]}"; do
				start_registry "$work/pushreg" "$pport"
				timed push "$e" "c_$e" push $(pull_opts "$e") "127.0.0.1:$pport/bench/debian:push-$e" || true
				stop_registry
			done
		done
	fi
fi

# ---------------------------------------------------------------- network
# Published port ÷ direct, per engine and round: bench/kaclient against a
# keep-alive server (bench/kaserver) in a container, through the container's
# IP and through 127.0.0.1:published-port in turns of NET_SLICE_MS, groups
# of four (direct, published, published, direct), NET_GROUPS groups a round;
# its ratio is published ÷ direct of the round's sums. wrk, used before,
# runs whole seconds only: a round was 4 runs of 1 s, and a burst of other
# work on this shared 2-core machine moved a round by more than the path
# costs (an A/A check, one address on both sides: wrk 64–133 %, kaclient
# with 25–100 ms turns 90–111 %). Both paths, and all engines, get the same
# client, connections (32, opened afresh each round and used for 250 ms
# per path before counting), request, page and CPU placement (none: client,
# server and Docker's docker-proxy share both cores as the scheduler sees
# fit). Each engine's paths get 1 s of untimed use first.
if want net; then
	build_ka
	declare -A web_ip web_port
	for e in "${engines[@]}"; do
		if [ "$e" = berth ]; then
			c_berth import --change 'ENTRYPOINT ["/kaserver"]' - kaserver:bench <"$work/ka.tar" >/dev/null
		else
			c_"$e" import --change 'ENTRYPOINT ["/kaserver"]' "$work/ka.tar" kaserver:bench >/dev/null
		fi
		c_"$e" run -d --name benchweb -p 127.0.0.1::80 kaserver:bench >/dev/null
		web_ip[$e]="$(c_"$e" inspect --format '{{.NetworkSettings.IPAddress}}' benchweb):80"
		web_port[$e]="$(c_"$e" port benchweb 80 | head -1 | sed 's/^0\.0\.0\.0:/127.0.0.1:/')"
		for _ in $(seq 100); do curl -fs -o /dev/null "http://${web_ip[$e]}/" && break; sleep 0.1; done
		ka_round "${web_ip[$e]}" "${web_port[$e]}" -groups 1 -warm 1s >/dev/null || true
	done
	for ((i = 0; i < NET_ROUNDS; i++)); do
		# The engine that goes first changes from round to round as well.
		for ((k = 0; k < ${#engines[@]}; k++)); do
			e="${engines[(i + k) % ${#engines[@]}]}"
			echo "bench: net: round $((i + 1))/$NET_ROUNDS, $e: $NET_GROUPS × 4 turns of ${NET_SLICE_MS} ms, direct ${web_ip[$e]} and published ${web_port[$e]} ..." >&2
			if r="$(ka_round "${web_ip[$e]}" "${web_port[$e]}")" && [ -n "$r" ]; then
				rec net "$e" "${r##* }"
			else
				echo "  net: $e: kaclient gave no figure: $(tail -1 "$work/kaclient.log")" >&2
				echo "$e" >>"$work/s/net.failed"
			fi
		done
	done
	for e in "${engines[@]}"; do c_"$e" rm -f benchweb >/dev/null; done
fi

# ---------------------------------------------------------------- build
if want build; then
	ctx="$work/ctx"
	mkdir -p "$ctx"
	head -c 65536 /dev/urandom >"$ctx/payload.bin"
	printf '%s\n' 'FROM busybox' 'RUN echo built > /built.txt' 'COPY payload.bin /payload.bin' 'ENV BENCH=1' \
		'CMD ["cat", "/built.txt"]' >"$ctx/Dockerfile"
	for c in "${cols[@]}"; do
		# Check the build works and that a rebuild takes every step from the cache.
		c_"$c" build -t bench-build "$ctx" >"$work/build.log" 2>&1 ||
			{ echo "  build: $c fails:" >&2; tail -5 "$work/build.log" >&2; echo "$c" >>"$work/s/cold.failed"; echo "$c" >>"$work/s/cached.failed"; continue; }
		n="$(c_"$c" build -t bench-build "$ctx" 2>&1 | grep -ci 'using cache' || true)"
		[ "$n" -ge 4 ] || { echo "  build: $c's rebuild used the cache for $n of 4 steps" >&2; echo "$c" >>"$work/s/cached.failed"; }
	done
	echo "bench: build: $BUILD_RUNS interleaved rounds of cold and 2 × $BUILD_RUNS of cached builds ..." >&2
	for ((i = 0; i < BUILD_RUNS; i++)); do
		for c in "${cols[@]}"; do
			c_"$c" rmi -f bench-build >/dev/null 2>&1 || true
			timed cold "$c" "c_$c" build --no-cache -t bench-build "$ctx" || true
		done
	done
	for c in "${cols[@]}"; do c_"$c" build -t bench-build "$ctx" >/dev/null 2>&1 || true; done
	for ((i = 0; i < 2 * BUILD_RUNS; i++)); do
		for c in "${cols[@]}"; do timed cached "$c" "c_$c" build -t bench-build "$ctx" || true; done
	done
fi

# ---------------------------------------------------------------- report
t_end="$(date +%s)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# cell ROW COL UNIT — "median (min–max) unit" of a column, or why not.
cell() {
	local f="$work/s/$1.$2" m lo hi
	if [ -e "$work/s/$1.failed" ] && grep -qx "$2" "$work/s/$1.failed"; then echo "failed"; return; fi
	[ -s "$f" ] || { echo "—"; return; }
	read -r m lo hi < <(stats "$f")
	# One unit for the whole cell, the median's: the range is printed
	# without one, so it must not switch from ms to s on its own.
	local u="$3"
	[ "$u" != ms ] || u="$(awk -v v="$m" 'BEGIN { print (v >= 1000) ? "s" : "ms-only" }')"
	fmt "$m" "$u"
	if [ "$(wc -l <"$f")" -gt 1 ]; then echo -n " ($(fmt "$lo" "$u" n)–$(fmt "$hi" "$u" n))"; fi
}
fmt() { # VALUE UNIT [n: no unit]
	local u="$2"
	case "$u" in
	ms) awk -v v="$1" -v n="${3:-}" 'BEGIN { if (v >= 1000) printf "%.2f%s", v / 1000, n ? "" : " s"; else printf "%.1f%s", v, n ? "" : " ms" }' ;;
	s) awk -v v="$1" -v n="${3:-}" 'BEGIN { printf "%.2f%s", v / 1000, n ? "" : " s" }' ;;
	ms-only) awk -v v="$1" -v n="${3:-}" 'BEGIN { printf "%.1f%s", v, n ? "" : " ms" }' ;;
	MiB) awk -v v="$1" -v n="${3:-}" 'BEGIN { printf "%.2f%s", v, n ? "" : " MiB" }' ;;
	%) awk -v v="$1" -v n="${3:-}" 'BEGIN { printf "%.1f%s", v, n ? "" : " %" }' ;;
	esac
}
# ratio ROW A B — median (min–max) of A's sample i ÷ B's sample i.
ratio() {
	local fa="$work/s/$1.$2" fb="$work/s/$1.$3" m lo hi
	[ -s "$fa" ] && [ -s "$fb" ] || { echo "—"; return; }
	paste -d' ' "$fa" "$fb" | awk 'NF == 2 && $2 > 0 { printf "%.4f\n", $1 / $2 }' >"$work/ratio"
	[ -s "$work/ratio" ] || { echo "—"; return; }
	read -r m lo hi < <(stats "$work/ratio")
	awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN { printf "%.2f (%.2f–%.2f)", m, lo, hi }'
}

have() { [ -e "$work/s/$1.berth" ] || [ -e "$work/s/$1.failed" ]; }
table() {
	local hdr="| measure | Berth (berth CLI) | docker CLI → berthd |" sep="|---|---|---|"
	if [ "$peers" = 1 ]; then hdr+=" Docker |"; sep+="---|"; fi
	if [ "$podman_on" = 1 ]; then hdr+=" Podman |"; sep+="---|"; fi
	hdr+=" floor |"
	sep+="---|"
	[ "$peers" = 0 ] || { hdr+=" Berth ÷ Docker |"; sep+="---|"; }
	[ "$podman_on" = 0 ] || { hdr+=" Berth ÷ Podman |"; sep+="---|"; }
	echo "$hdr"
	echo "$sep"
	line() { # LABEL ROW UNIT [FLOOR-TEXT]
		local l="| $1 | $(cell "$2" berth "$3") | $(cell "$2" bdock "$3") |"
		if [ "$peers" = 1 ]; then l+=" $(cell "$2" docker "$3") |"; fi
		if [ "$podman_on" = 1 ]; then l+=" $(cell "$2" podman "$3") |"; fi
		l+=" ${4:-} |"
		[ "$peers" = 0 ] || l+=" $(ratio "$2" berth docker) |"
		[ "$podman_on" = 0 ] || l+=" $(ratio "$2" berth podman) |"
		echo "$l"
	}
	if have runrm; then
		local deb="" debratio=""
		if [ -s "$work/s/runrm.crundeb" ]; then
			deb="Debian's crun $(cell runrm crundeb ms); "
			debratio="; Berth ÷ Debian's crun $(ratio runrm berth crundeb)"
		fi
		local ro="" roratio=""
		if [ -s "$work/s/runrm.crunro" ]; then
			ro="from a read-only copy, as berthd runs it, $(cell runrm crunro ms); "
			roratio="; Berth ÷ crun from a read-only copy $(ratio runrm berth crunro)"
		fi
		line '`run --rm busybox true`' runrm ms "bare \`crun run\` (berthd's crun) $(cell runrm crun ms); ${ro}${deb}unshare+chroot $(cell runrm chroot ms); Berth ÷ crun $(ratio runrm berth crun)$roratio$debratio"
	fi
	have rund && line '`run -d busybox sleep 1d`' rund ms
	have start && line '`start` of a created container' start ms
	have create && line '`create`' create ms
	have rm && line '`rm` of an exited container' rm ms
	have stop && line '`stop -t 0`' stop ms
	have kill && line '`kill`' kill ms
	have par && line '20 × `run -d`, 8 in parallel' par s
	have cli && line 'CLI start-up alone (`--version`: no request; the docker columns run the same docker CLI)' cli ms
	have ps && line "\`ps\` with $N running" ps ms
	have rmf && line "\`rm -f\` of $N running (Podman: \`rm -f -t 0\`)" rmf s
	have mem && line "host memory per idle container, whole machine (MemAvailable, 0→$N)" mem MiB
	have pss && line "engine + monitor PSS per container (0→$N)" pss MiB
	have pull && line "pull of Debian bookworm minbase (${pull_mb:-?} MB), page cache dropped" pull s
	have push && line "first push (into an empty registry)" push s
	have net && line "published port, req/s ÷ direct (keep-alive, turns of ${NET_SLICE_MS} ms)" net %
	have cold && line "build, 4 steps, cold (\`--no-cache\`)" cold ms
	have cached && line "build, 4 steps, fully cached" cached ms
	return 0
}

# runtime_line names the crun berthd ran, its version, and how it was built.
runtime_line() {
	local how="Debian's package"
	[ "$floor_crun" -ef "$deb_crun" ] ||
		how="Berth's build of Debian's crun source without systemd, static-pie (scripts/build-crun.sh); Debian's $("$deb_crun" --version | head -1 | sed 's/crun version //') in PATH is the floor's reference"
	echo "\`$floor_crun\` ($("$floor_crun" --version | head -1)): $how"
}

report() {
	local commit dirty=""
	commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
	[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=" (with uncommitted changes)"
	echo "# Benchmark results"
	echo
	echo "Written by \`bench/run.sh$([ "$peers" = 1 ] && echo ' --peers')$([ "$quick" = 1 ] && echo ' --quick')\` from one run; every figure below was measured in that run."
	[ "$quick" = 0 ] || echo "**A --quick smoke run (few repetitions, $N containers): not a result to quote.**"
	echo
	echo "- commit: \`$commit\`$dirty, $(date -u '+%Y-%m-%d %H:%M UTC'), run took $(((t_end - t_start) / 60)) min"
	echo "- machine: $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), cgroup $(stat -fc %T /sys/fs/cgroup | sed 's/cgroup2fs/v2/; s/tmpfs/v1/')"
	echo "- load average: $load_before before, $load_after after"
	echo "- Berth: berthd, berth, berth-monitor and berth-cmon built from the commit and installed from a scratch folder as scripts/setup.sh installs them; runtime $(runtime_line)"
	echo "- docker CLI: $("$DOCKER_BIN" version --format '{{.Client.Version}}' 2>/dev/null | head -1) for both docker columns"
	if [ "$peers" = 1 ]; then
		echo "- Docker: dockerd $(c_docker version --format '{{.Server.Version}}' 2>/dev/null || echo ?) (Debian docker.io, runtime $(c_docker info --format '{{.DefaultRuntime}}' 2>/dev/null || echo ?), private data-root), classic builder (DOCKER_BUILDKIT=0)"
		[ -z "$podman_why" ] || echo "- **Podman not measured**: it could not run a container on this machine (\`${podman_why}\`), so no Podman figure is printed"
		[ "$podman_on" = 0 ] || echo "- Podman: $(c_podman version --format '{{.Client.Version}}' 2>/dev/null || echo ?) (Debian), runtime $(c_podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}' 2>/dev/null | head -1), network $(c_podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null || echo ?)"
	fi
	[ "$podman_on" = 0 ] ||
		echo "- Podman's containers get this shell's limits, as Docker's and Berth's inherit them (its private containers.conf: default_ulimits = [$(podman_ulimits)]; its default 1048576 is above the hard limits here)"
	echo "- repetitions: $RUNS per fast row ($RUNRM_RUNS for run --rm); $N containers × $MANY_ROUNDS rounds; 20 × run -d × $PAR_ROUNDS; pull $PULL_RUNS; push $PUSH_RUNS; build $BUILD_RUNS cold, $((2 * BUILD_RUNS)) cached; published port $NET_ROUNDS rounds of $NET_GROUPS × 4 turns of ${NET_SLICE_MS} ms"
	[ ! -e "$work/berthd-after" ] || echo "- $(cat "$work/berthd-after")"
	[ -z "${anatomy:-}" ] || echo "- one \`berth run --rm busybox true\`, traced (berthd and its children): programs run: $anatomy"
	echo
	echo "Cells: median (min–max). Ratios: sample i ÷ sample i of the same round, median (min–max)."
	echo
	table
	if [ -n "${breakdown:-}" ]; then
		echo
		echo "## Where \`berth run --rm busybox true\` spends its time (traced)"
		echo
		echo "Medians of $BREAKDOWN_RUNS runs with the CLI and berthd (and all they start) under \`strace -f -ttt\`: every traced system call stops the process, so these runs are several times slower than the untraced row above; read the steps for where the time goes, not for how much there is (bench/breakdown.awk says what each step is)."
		echo
		echo "$breakdown"
	fi
	echo
	echo "## How each figure is taken"
	echo "- Interleaved: every repetition takes one sample of each column in turn; the 200-container rows one engine at a time, engines alternating round by round."
	echo "- Fast rows: wall time of one CLI command (bash \$EPOCHREALTIME around it, stdout discarded); its preparation (create, run -d, start -a) and clean-up (rm -f; Podman's with -t 0) are not timed, and the next sample starts once that clean-up's processes have exited. One untimed warm-up round first."
	echo "- floor: \`crun run\` (the crun binary berthd runs; Debian's too when it is another) of a bundle made by \`crun spec\` with the same busybox root; the same binary from a read-only bind mount of it, as berthd runs it (crun run from a writable file first seals a copy of itself: a bind mount, a read-only remount, a re-exec); \`unshare --mount --uts --ipc --net --pid --fork chroot ROOT /bin/true\`."
	echo "- 20 × run -d: \`xargs -P8\` of 20 \`run -d\`, wall time of the whole; before each sample (not timed) the last one's containers are removed, that removal's processes (shims, runc, conmons, Podman's clean-up, monitors) have exited, and \`sync\`; the engine that goes first changes each round; one untimed round first."
	echo "- $N running: started 8 at a time (not timed); MemAvailable before − after ÷ $N (containers' own processes included); PSS (smaps_rollup) of the engine's processes of this run (berthd + berth-monitors or berth-cmons; dockerd + containerd + shims; conmons) after − before ÷ $N; \`ps\` timed $RUNS times; one \`rm -f\` of all $N timed."
	echo "- pull: a debootstrap minbase image in Debian's docker-registry on 127.0.0.1; before each pull \`rmi\` and \`echo 3 > /proc/sys/vm/drop_caches\` (not timed). push: the pulled image into a freshly started, empty registry each time."
	echo "- published port: a keep-alive HTTP server (bench/kaserver, 612-byte page) in a container; bench/kaclient (32 connections per path) to 127.0.0.1:published-port ÷ to the container's IP, per round; a round is $NET_GROUPS groups of 4 turns of ${NET_SLICE_MS} ms (direct, published, published, direct: a burst of other work falls on both paths alike) and divides the sums; the engine that goes first changes each round."
	echo "- build: FROM busybox; RUN; COPY 64 KiB; ENV; CMD. Cold: after an untimed \`rmi\`, \`--no-cache\`. Cached: unchanged rebuild."
}

podman_on=0
case " ${engines[*]} " in *" podman "*) podman_on=1 ;; esac
report >"$work/report.md"
echo
cat "$work/report.md"
if [ -n "$out" ]; then
	# The sections other benchmarks and paired checks wrote below this
	# report's own are kept.
	if [ -f "$out" ]; then
		awk 'h && !f && /^## /{f=1} f{print} /^## How each figure is taken/{h=1}' "$out" >"$work/kept.md"
		[ -s "$work/kept.md" ] && { echo; cat "$work/kept.md"; } >>"$work/report.md"
	fi
	cp "$work/report.md" "$out"
	echo >&2
	echo "bench: report written to $out" >&2
fi
