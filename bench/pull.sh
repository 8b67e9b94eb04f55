#!/usr/bin/env bash
# bench/pull.sh — time `berth pull` of a Debian minbase image from a registry
# on loopback, after removing it locally (the figure DESIGN.md compares with
# Docker's 3.0 s). A private berthd built from this tree and Debian's
# docker-registry (temporary storage) are started and removed again.
#
# The image is made once with debootstrap --variant=minbase bookworm from
# the Debian mirror apt is configured with (read from /etc/apt/sources.list*),
# cached as /var/cache/berth-bench/debian-bookworm-minbase.tar.gz, imported
# into berthd and pushed (as one gzip layer, like docker push) to the
# registry. Then hyperfine times `berth pull` RUNS times, each after
# `berth rmi` (not timed), and prints the median. Run as root:
#   sudo bench/pull.sh            (RUNS=10 to change the count)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/pull.sh: run as root" >&2; exit 1; }
runs="${RUNS:-10}" # lib.sh's default (30) is meant for the fast benchmarks
source bench/lib.sh
RUNS="$runs"

cache=/var/cache/berth-bench
tarball="$cache/debian-bookworm-minbase.tar.gz"

apt_install() { # PKG... — install missing Debian packages
	local missing=() p
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bench: installing ${missing[*]} (Debian packages)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
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

if [ ! -s "$tarball" ]; then
	apt_install debootstrap
	mirror="$(debian_mirror)" || { echo "bench/pull.sh: no bookworm mirror in /etc/apt/sources.list*" >&2; exit 1; }
	echo "bench: debootstrap --variant=minbase bookworm from $mirror (once; cached in $cache) ..." >&2
	mkdir -p "$cache"
	root="$(mktemp -d /tmp/bb-debootstrap-XXXXXX)"
	trap 'rm -rf "$root"' EXIT
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ echo "debootstrap failed; see $cache/debootstrap.log" >&2; exit 1; }
	# The apt lists and caches are not part of a minimal image.
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
	tar --numeric-owner --xattrs -C "$root" -cf - . | gzip -1 >"$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	trap - EXIT
fi
apt_install docker-registry
need_hyperfine

work="$(mktemp -d /tmp/bb-XXXXXX)"
regpid=""
bench_before_cleanup() { [ -z "$regpid" ] || { kill -TERM "$regpid" 2>/dev/null; wait "$regpid" 2>/dev/null; }; }
trap private_cleanup EXIT
private_berthd bpull0 BPULL 10.226.0.1/24

# A free loopback port for the registry.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
EOF
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || { echo "docker-registry did not come up:" >&2; cat "$work/registry.log" >&2; exit 1; }

ref="127.0.0.1:$port/debian:bookworm-minbase"
echo "bench: importing and pushing $ref ..." >&2
"$BERTH_CLI" import --change 'CMD ["bash"]' - "$ref" <"$tarball" >/dev/null
"$BERTH_CLI" push "$ref" >/dev/null
"$BERTH_CLI" rmi "$ref" >/dev/null
size="$(du -sb "$work/registry/docker/registry/v2/blobs" | awk '{ printf "%.1f", $1 / 1e6 }')"

# One pull to check it works (and to show what it does), then the timing.
"$BERTH_CLI" pull "$ref" >"$work/pull.out"
grep -q "Pull complete" "$work/pull.out" || { cat "$work/pull.out" >&2; exit 1; }
unpacked="$("$BERTH_CLI" image inspect --format '{{.Size}}' "$ref" | awk '{ printf "%.1f", $1 / 1e6 }')"
echo "bench: timing $RUNS pulls (each after an untimed rmi) ..." >&2
csv="$work/pull.csv"
hyperfine --style none --runs "$RUNS" --shell=none --export-csv "$csv" \
	--prepare "$BERTH_CLI rmi $ref" "$BERTH_CLI pull $ref" >/dev/null 2>"$work/hyperfine.err" ||
	{ cat "$work/hyperfine.err" >&2; exit 1; }
median="$(awk -F, 'NR==2 { printf "%.0f", $4 * 1000 }' "$csv")"
min="$(awk -F, 'NR==2 { printf "%.0f", $7 * 1000 }' "$csv")"
max="$(awk -F, 'NR==2 { printf "%.0f", $8 * 1000 }' "$csv")"
# rmi + pull together, as a user would type them.
start="$(now_ms)"
"$BERTH_CLI" rmi "$ref" >/dev/null
"$BERTH_CLI" pull "$ref" >/dev/null
both="$(( $(now_ms) - start ))"

echo "pull of Debian bookworm minbase ($size MB in the registry, $unpacked MB unpacked, 1 gzip layer) from a loopback registry:"
echo "  berth pull (after rmi): median ${median} ms over $RUNS runs (min $min, max $max); one rmi + pull: ${both} ms"
if command -v dockerd >/dev/null && [ -S /var/run/docker.sock ]; then
	echo "  Docker Engine is installed: time 'docker pull $ref' against the same registry (add it to insecure-registries) for a side-by-side figure."
else
	echo "  Docker Engine is not installed here (only the docker CLI): no Docker figure; DESIGN.md's is 3.0 s, target ≤ 1500 ms."
fi
awk -v m="$median" 'BEGIN { printf "  ratio to DESIGN.md'"'"'s Docker figure (3000 ms): %.2f (target ≤ 0.50)\n", m / 3000 }'
