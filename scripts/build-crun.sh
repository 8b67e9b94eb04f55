#!/usr/bin/env bash
# build-crun.sh — build Berth's own crun: the same crun as Debian's package
# (its source package, its patches, its OCI spec copies), configured without
# systemd and linked statically, installed to /usr/local/libexec/berth/crun
# (not on PATH: Debian's crun stays the one podman and users run).
#
#   sudo scripts/build-crun.sh [--check]
#
# Why: Debian's crun links libsystemd, which pulls libgcrypt, liblzma,
# libzstd, liblz4 and libgpg-error: 11 shared libraries to map and relocate
# at each of the several crun executions a container costs (create and its
# self re-exec, start, delete): ~8 ms of dynamic loading per exec on a slow
# VM. Berth drives cgroups itself (cgroupfs), so crun's systemd support is
# never used. Without it, and with libseccomp, libcap, libyajl, libgcrypt
# and glibc linked in, crun is one static-pie file with nothing to load.
# Seccomp, capabilities, no_new_privs, masked and read-only paths are the
# same code as Debian's. Berth's own patches (scripts/crun-patches, each
# saying why) only skip work whose result Berth's specs never use, or lay
# the same seccomp filter out in a shape cheaper to load and run.
#
# Idempotent: nothing is done when the installed binary's stamp names the
# same crun version, this script's hash and the same versions of the
# libraries linked in (an upgrade of libseccomp-dev, say, rebuilds it).
# --check only says whether a build is needed (exit 0: up to date).
# The source comes through apt (deb-src entries derived from the host's own
# apt sources, in a private apt directory: the host's apt configuration and
# lists are not changed), so it is verified as any package is.
# Environment: BERTH_CRUN_DIR (install directory), JOBS (make -j).
set -euo pipefail

DEST_DIR="${BERTH_CRUN_DIR:-/usr/local/libexec/berth}"
DEST="$DEST_DIR/crun"
STAMP="$DEST_DIR/crun.stamp"
# Berth's own patches, applied after Debian's (each says why in its head).
PATCH_DIR="$(cd "$(dirname "$0")" && pwd)/crun-patches"
JOBS="${JOBS:-$(nproc)}"
# Debian's Build-Depends for crun, less libsystemd-dev and go-md2man (man
# pages), plus libgcrypt20-dev (crun's seccomp cache digests) and patch.
BUILD_DEPS=(gcc make pkgconf gperf python3 patch xz-utils libc6-dev libseccomp-dev libcap-dev libyajl-dev libgcrypt20-dev libgpg-error-dev golang-github-opencontainers-specs-dev golang-github-opencontainers-image-spec-dev)
# The static libraries linked in: their versions are part of the stamp.
LINKED=(libc6-dev libseccomp-dev libcap-dev libyajl-dev libgcrypt20-dev libgpg-error-dev)

log() { printf '==> crun: %s\n' "$*"; }
die() { printf 'build-crun.sh: %s\n' "$*" >&2; exit 1; }

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# crun_version is the Debian version to build: the installed crun's, so
# that Berth's build and Debian's binary are the same release and patches.
crun_version() {
	local v
	v="$(pkg_version crun)"
	[ -n "$v" ] || v="$(apt-cache policy crun | awk '/Candidate:/ {print $2}')"
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "no crun version known to apt"
	echo "$v"
}

stamp_text() {
	local p
	printf 'crun %s\nrecipe %s\n' "$1" "$(sha256sum "$0" | cut -d' ' -f1)"
	for p in "$PATCH_DIR"/*.patch; do [ -f "$p" ] && printf 'patch %s %s\n' "${p##*/}" "$(sha256sum "$p" | cut -d' ' -f1)"; done
	for p in "${LINKED[@]}"; do printf '%s %s\n' "$p" "$(pkg_version "$p")"; done
}

install_deps() {
	local missing=() p
	for p in "${BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	log "installing build dependencies: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# src_sources writes to DIR deb-src twins of the host's apt sources: each
# deb822 stanza of type deb, and each one-line "deb" entry.
src_sources() {
	local dir="$1" f n=0
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		case "$f" in
		*.sources) sed -E 's/^Types:.*\<deb\>.*/Types: deb-src/' "$f" >"$dir/src$n.sources" ;;
		*) sed -nE 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >"$dir/src$n.list" ;;
		esac
	done
	[ "$n" -gt 0 ] || die "no apt sources found in /etc/apt"
}

# fetch_source downloads crun's Debian source package VERSION into DIR
# through a private apt state (own source list, lists and cache).
fetch_source() {
	local ver="$1" dir="$2" apt="$2/apt"
	mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial"
	src_sources "$apt/sources.list.d"
	local opts=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$apt/sources.list.d"
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
	apt-get "${opts[@]}" -qq update
	(cd "$dir" && apt-get "${opts[@]}" -qq source --download-only "crun=$ver") >/dev/null
}

# unpack makes DIR/src: the release tarball, Debian's patches applied in
# their series order, then Berth's (scripts/crun-patches), and the OCI
# spec copies Debian builds with (its debian/rules replaces libocispec's
# bundled ones by them).
unpack() {
	local dir="$1" p s
	mkdir -p "$dir/src" "$dir/deb"
	tar -xf "$dir"/crun_*.orig.tar.?z -C "$dir/src" --strip-components=1
	tar -xf "$dir"/crun_*.debian.tar.?z -C "$dir/deb"
	if [ -f "$dir/deb/debian/patches/series" ]; then
		while read -r p _; do
			case "$p" in '' | '#'*) continue ;; esac
			patch -d "$dir/src" -p1 -s <"$dir/deb/debian/patches/$p"
		done <"$dir/deb/debian/patches/series"
	fi
	for p in "$PATCH_DIR"/*.patch; do
		[ -f "$p" ] && patch -d "$dir/src" -p1 -s <"$p"
	done
	for s in image-spec runtime-spec; do
		rm -rf "${dir:?}/src/libocispec/$s"
		cp -r "/usr/share/gocode/src/github.com/opencontainers/$s" "$dir/src/libocispec/"
	done
}

# compile builds DIR/src/crun: Debian's hardening flags, no systemd, no
# CRIU (Debian's has none either), every library static (static-pie keeps
# ASLR). The linker finds the static archives first through DIR/slib
# (libyajl's is named libyajl_s.a).
compile() {
	local dir="$1" multi l
	multi="$(gcc -print-multiarch)"
	mkdir -p "$dir/slib"
	for l in seccomp cap gcrypt gpg-error; do ln -sf "/usr/lib/$multi/lib$l.a" "$dir/slib/"; done
	ln -sf "/usr/lib/$multi/libyajl_s.a" "$dir/slib/libyajl.a"
	cd "$dir/src"
	./configure -q --disable-systemd --disable-criu --disable-shared --enable-static \
		--disable-dependency-tracking PYTHON=/usr/bin/python3 \
		CFLAGS="-O2 -fstack-protector-strong -Wformat -Werror=format-security -fcf-protection" \
		CPPFLAGS="-D_FORTIFY_SOURCE=2" LDFLAGS="-Wl,-z,relro -Wl,-z,now" >"$dir/build.log" 2>&1 ||
		{ tail -n 30 "$dir/build.log" >&2; return 1; }
	# The release tarball is no git checkout: the version files come from it.
	{
		make -s generate-signals.c generate-mount_flags.c &&
			make -s -j"$JOBS" .version git-version.h &&
			make -s -j"$JOBS" crun LDFLAGS="-Wl,-z,relro -Wl,-z,now -static-pie -L$dir/slib" \
				FOUND_LIBS="-lseccomp -lgcrypt -lgpg-error -lcap -lyajl"
	} >>"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log" >&2; return 1; }
	strip crun
}

# verify refuses a binary that loads anything or lacks seccomp or
# capabilities support.
verify() {
	local bin="$1" features f
	if readelf -l "$bin" | grep -q 'program interpreter'; then die "$bin is not static"; fi
	features="$("$bin" --version | tail -n 1)"
	for f in +SECCOMP +CAP; do
		case " $features " in
		*" $f "*) ;;
		*) die "$bin lacks ${f#+} support: $features" ;;
		esac
	done
}

ver="$(crun_version)"
want="$(stamp_text "$ver")"
if [ -x "$DEST" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
	log "$DEST is crun $ver, up to date"
	exit 0
fi
[ "${1:-}" = --check ] && { log "$DEST needs a build (crun $ver)"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root"

install_deps
work="$(mktemp -d /tmp/berth-crun.XXXXXX)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
log "fetching Debian's source of crun $ver"
fetch_source "$ver" "$work"
unpack "$work"
log "building crun $ver without systemd, statically ($JOBS jobs)"
(compile "$work")
verify "$work/src/crun"
mkdir -p "$DEST_DIR"
install -m 0755 "$work/src/crun" "$DEST_DIR/.crun.new"
mv -f "$DEST_DIR/.crun.new" "$DEST"
printf '%s\n' "$want" >"$STAMP"
log "installed $DEST ($(stat -c %s "$DEST") bytes) in $((SECONDS - start)) s"
