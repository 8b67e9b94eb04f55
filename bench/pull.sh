#!/usr/bin/env bash
# bench/pull.sh — time `berth pull` of a Debian minbase image from a registry
# on loopback, after removing it locally. A private berthd built from this tree and Debian's
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
work="$(mktemp -d /tmp/bb-XXXXXX)"
source bench/lib.sh
RUNS="$runs"

tarball="$(debian_tarball)"
apt_install docker-registry isal # isal: igzip, which berthd uses to inflate gzip layers
need_hyperfine

regpid=""
bench_before_cleanup() { stop_registry; }
trap private_cleanup EXIT
private_berthd bpull0 BPULL

port="$(free_port)"
start_registry "$work/registry" "$port"

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
echo "  Docker and Podman pulling from the same registry in the same run: bench/run.sh --peers --rows pull,push"
