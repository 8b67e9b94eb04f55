#!/usr/bin/env bash
# setup.sh — prepare a fresh Debian 12 machine for Berth and start it.
# Idempotent; run as root:   sudo scripts/setup.sh
#
#   1. installs the system packages Berth and its tests need (apt), and
#      builds Berth's own crun from Debian's crun source, without systemd
#      and statically linked (scripts/build-crun.sh; once, ~1 min of CPU);
#   2. builds berthd, berth, berth-compose, berth-build, berth-monitor and
#      berth-cmon (the C monitor) and installs them to /usr/local/bin;
#   3. creates /etc/berth, starts berthd in the background if it is not
#      running (log /var/log/berthd.log, pidfile /run/berth/berthd.pid) and
#      waits until it answers /_ping;
#   4. imports the offline starter image busybox:latest (made from Debian's
#      busybox-static by scripts/mkbusybox.sh) and runs a first container.
#
# --packages-only stops after step 1 (CI uses it before scripts/test.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"

# chromium: the dashboard's browser tests drive it headless (tests/e2e).
# gcc, make, zlib1g-dev: berth-cmon, the per-container monitor in C (cmon/).
# openssh-client: ssh-agent, ssh-add, ssh-keygen for the `build --ssh` tests.
PACKAGES=(gcc make libc6-dev zlib1g-dev crun runc busybox-static iptables tini docker-registry isal procps util-linux iproute2 curl ca-certificates python3-docker containernetworking-plugins chromium openssh-client)
BIN_DIR="${BERTH_BIN_DIR:-/usr/local/bin}"
SOCK="${BERTH_SOCK:-/run/berth/berth.sock}"
PIDFILE="${BERTH_PIDFILE:-/run/berth/berthd.pid}"
LOG="${BERTH_LOG:-/var/log/berthd.log}"

log() { printf '==> %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo scripts/setup.sh): berthd needs namespaces, mounts and cgroups"

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		log "packages: all present"
		return
	fi
	log "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# runsc (gVisor) gives `--isolation=sandbox` / `--runtime runsc`. It is built
# from the Go module proxy at a pinned version with CGO_ENABLED=0 (a cgo build
# fails at sandbox start). Optional: berthd works without it, so a failed
# build is reported and setup goes on.
RUNSC_MODULE="gvisor.dev/gvisor/runsc"
RUNSC_VERSION="${BERTH_RUNSC_VERSION:-v0.0.0-20260905035102-160fafc42237}"
RUNSC_BIN="${BERTH_RUNSC_BIN:-/usr/local/bin/runsc}"
RUNSC_STAMP="/usr/local/lib/berth/runsc.version"

install_runsc() {
	if [ -x "$RUNSC_BIN" ] && [ "$(cat "$RUNSC_STAMP" 2>/dev/null)" = "$RUNSC_VERSION" ]; then
		log "runsc: $RUNSC_VERSION already installed at $RUNSC_BIN"
	else
		if ! command -v go >/dev/null; then
			log "runsc: NOT installed (Go is needed to build it); --isolation=sandbox will be unavailable"
			return 0
		fi
		log "runsc: building $RUNSC_MODULE@$RUNSC_VERSION (takes a few minutes)"
		local gobin
		gobin="$(mktemp -d)"
		if ! CGO_ENABLED=0 GOBIN="$gobin" GOFLAGS=-mod=mod timeout 2400 go install -trimpath -ldflags "-s -w" "$RUNSC_MODULE@$RUNSC_VERSION" >"$gobin/build.log" 2>&1; then
			log "runsc: build FAILED; --isolation=sandbox will be unavailable (berthd works without it). Last lines:"
			tail -n 15 "$gobin/build.log" >&2 || true
			rm -rf "$gobin"
			return 0
		fi
		install -m 0755 "$gobin/runsc" "$RUNSC_BIN.new"
		mv -f "$RUNSC_BIN.new" "$RUNSC_BIN"
		mkdir -p "$(dirname "$RUNSC_STAMP")"
		echo "$RUNSC_VERSION" >"$RUNSC_STAMP"
		rm -rf "$gobin"
		log "runsc: installed $RUNSC_BIN"
	fi
	# Check it really starts a sandbox here, each try bounded: on some hosts
	# /dev/kvm opens but a KVM sandbox spins forever (PVM and some nested
	# guests). kvm is tried only when /dev/kvm is there and is not PVM's
	# (kvm_pvm without kvm_intel or kvm_amd: gVisor's KVM platform never runs
	# on it, so trying costs the whole 20 s), then systrap. berthd chooses its
	# platform itself (same rule, then a probe); this tells whether runsc
	# works at all. runsc do makes its bundle and a netns bind mount under
	# TMPDIR, so all it leaves is under $root.
	local root platform platforms=systrap ok="" mods=/sys/module
	[ -c /dev/kvm ] && [ -w /dev/kvm ] && platforms="kvm systrap"
	if [ -d $mods/kvm_pvm ] && [ ! -d $mods/kvm_intel ] && [ ! -d $mods/kvm_amd ]; then
		platforms=systrap
		log "runsc: /dev/kvm is PVM's (kvm_pvm): gVisor's KVM platform cannot run on it; checking systrap only"
	fi
	root="$(mktemp -d)"
	for platform in $platforms; do
		if TMPDIR="$root" timeout -s KILL 20 "$RUNSC_BIN" --root "$root/state" --platform="$platform" \
			--network=none --ignore-cgroups do true >"$root/do-$platform.log" 2>&1; then
			ok=$platform
		fi
		# The sandbox and gofer run in sessions of their own: kill them by
		# the unique directory their command lines name.
		pkill -KILL -f -- "$root/" 2>/dev/null || true
		for m in "$root"/runsc-do*/null-netns "$root/state/null-netns"; do
			[ -e "$m" ] && { umount -l "$m" 2>/dev/null || true; }
		done
		if [ -n "$ok" ]; then
			log "runsc: a sandbox starts (platform $ok)"
			break
		fi
		log "runsc: 'runsc --platform=$platform do true' did not succeed (limit 20 s):"
		tail -n 5 "$root/do-$platform.log" >&2 || true
	done
	[ -n "$ok" ] || log "runsc: WARNING: no platform starts a sandbox here; sandboxed containers may not work"
	rm -rf "$root"
}

# Berth's own crun (scripts/build-crun.sh): Debian's crun source without
# systemd, linked statically, in /usr/local/libexec/berth; berthd prefers it
# to Debian's crun, whose 11 shared libraries cost ~8 ms of loading at each
# of the several crun executions a container takes. Rebuilt only when the
# crun version, the recipe or a library linked in changes. Optional: berthd
# falls back to Debian's crun, so a failed build is reported and setup goes
# on.
crun_changed=0
install_crun() {
	local stamp=/usr/local/libexec/berth/crun.stamp before
	before="$(cat "$stamp" 2>/dev/null || true)"
	if ! scripts/build-crun.sh; then
		log "crun: Berth's build FAILED; berthd will use Debian's crun (slower container starts)"
	fi
	[ "$(cat "$stamp" 2>/dev/null || true)" = "$before" ] || crun_changed=1
}

install_packages
if [ "${BERTH_SKIP_CRUN_BUILD:-0}" != 1 ]; then
	install_crun
fi
if [ "${BERTH_SKIP_RUNSC:-0}" != 1 ]; then
	install_runsc
fi
if [ "${1:-}" = "--packages-only" ]; then
	exit 0
fi

command -v go >/dev/null || die "Go is not installed (expected in PATH or /usr/local/go/bin); install the Go version named in go.mod"

# Build into a scratch dir, then replace the installed files by rename so a
# running berthd or monitor never sees a half-written binary ("text file busy").
log "building berthd, berth, berth-compose, berth-build, berth-monitor, berth-cmon"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
# One version (the VERSION file) and the git commit, as the Makefile stamps them.
vpkg=github.com/berth-dev/berth/internal/version
vflags="-X $vpkg.Version=$(cat VERSION) -X $vpkg.GitCommit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
go build -trimpath -ldflags "$vflags" -o "$build/berthd" ./cmd/berthd
CGO_ENABLED=0 go build -trimpath -ldflags "$vflags" -o "$build/berth" ./cmd/berth
go build -trimpath -ldflags "$vflags" -o "$build/berth-compose" ./cmd/berth-compose
go build -trimpath -ldflags "$vflags" -o "$build/berth-build" ./cmd/berth-build
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$build/berth-monitor" ./cmd/berth-monitor
make -s -C cmon O="$build"
changed="$crun_changed" # berthd chooses its crun when it starts
for b in berthd berth berth-compose berth-build berth-monitor berth-cmon; do
	if ! cmp -s "$build/$b" "$BIN_DIR/$b"; then
		install -m 0755 "$build/$b" "$BIN_DIR/.$b.new"
		mv -f "$BIN_DIR/.$b.new" "$BIN_DIR/$b"
		[ "$b" = berthd ] && changed=1
		log "installed $BIN_DIR/$b"
	fi
done

mkdir -p /etc/berth /run/berth
chmod 0755 /etc/berth

berthd_pid() {
	local pid
	[ -f "$PIDFILE" ] || return 1
	pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
	*/berthd*) echo "$pid" ;;
	*) return 1 ;;
	esac
}

ping_ok() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if pid="$(berthd_pid)" && [ "$changed" -eq 1 ]; then
	# A new berthd or crun was installed: restart it. Containers keep running, their
	# monitors do not depend on berthd.
	log "restarting berthd (pid $pid) to pick up the new binary"
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && die "berthd (pid $pid) did not stop within 10 s; see $LOG"
fi

if ! berthd_pid >/dev/null; then
	log "starting berthd (log $LOG)"
	setsid nohup "$BIN_DIR/berthd" -H "unix://$SOCK" --pidfile "$PIDFILE" >>"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 150); do ping_ok && break; sleep 0.1; done
ping_ok || die "berthd did not answer /_ping on $SOCK within 15 s; last log lines:
$(tail -n 20 "$LOG" 2>/dev/null)"
log "berthd is up on unix://$SOCK"

export BERTH_HOST="unix://$SOCK"
if ! "$BIN_DIR/berth" image inspect busybox:latest >/dev/null 2>&1; then
	log "importing the offline starter image busybox:latest"
	tarball="$build/busybox.tar"
	scripts/mkbusybox.sh "$tarball"
	"$BIN_DIR/berth" import --change 'CMD ["sh"]' - busybox:latest <"$tarball" >/dev/null
fi

# The real clients the tests and bench/ drive (docker compose, buildx,
# crictl, critest) build from the Go module proxy once, in the background
# (scripts/build-tools.sh); tests that need one skip until it is there.
# Those already built are linked into ~/.docker/cli-plugins.
TOOLS="${BERTH_TOOLS_CACHE:-/root/.cache/berth}"
log "building test clients in the background (log $TOOLS/build-tools.log)"
mkdir -p "$TOOLS"
setsid nohup scripts/build-tools.sh "$TOOLS" >"$TOOLS/build-tools.log" 2>&1 </dev/null &
for p in compose:docker-compose-v5.6.0 buildx:docker-buildx-v0.38.2; do
	if [ -x "$TOOLS/${p#*:}" ]; then
		mkdir -p "$HOME/.docker/cli-plugins"
		ln -sf "$TOOLS/${p#*:}" "$HOME/.docker/cli-plugins/docker-${p%%:*}"
	fi
done

log "first container:"
"$BIN_DIR/berth" run --rm busybox echo "hello from berth"
log "done. Try: berth run --rm -it busybox sh    or    DOCKER_HOST=unix://$SOCK docker ps"
