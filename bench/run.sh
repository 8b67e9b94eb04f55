#!/usr/bin/env bash
# bench/run.sh — Berth's hot-path figures against a private berthd built
# from this tree (its own data-root under /tmp; the system berthd is not
# touched), printed as a table next to the targets. When Docker or Podman
# engines are installed and have a busybox image, their figures are printed
# side by side (nothing is installed for that). Run as root:
#   sudo bench/run.sh            (RUNS=30 N=50 PS_N=200 RM_N=200 to change sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root" >&2; exit 1; }

work="$(mktemp -d /tmp/bb-XXXXXX)"
source bench/lib.sh
trap private_cleanup EXIT
# Its own bridge, chains and subnet: never touch a system berthd's network.
private_berthd bbench0 BBENCH 10.229.0.1/24
scripts/mkbusybox.sh "$work/busybox.tar"
"$BERTH_CLI" import --change 'CMD ["sh"]' - busybox:latest <"$work/busybox.tar" >/dev/null

engines=(berth)
if command -v docker >/dev/null && [ -S /var/run/docker.sock ] &&
	env -u DOCKER_HOST docker image inspect busybox >/dev/null 2>&1; then engines+=(docker); fi
if command -v podman >/dev/null && podman image exists busybox 2>/dev/null; then engines+=(podman); fi

declare -A res
for e in "${engines[@]}"; do
	for b in run-rm run-d mem ps rm-f; do
		echo "running $b on $e ..." >&2
		case "$b" in
		mem) n="${N:-50}" ;;
		ps) n="${PS_N:-200}" ;;
		rm-f) n="${RM_N:-200}" ;;
		*) n="" ;;
		esac
		if [ "$e" = berth ]; then
			res[$e,$b]="$(ENGINE=$e N=$n bench/$b.sh 2>"$work/$b.err")" || res[$e,$b]="error"
		else
			res[$e,$b]="$(env -u DOCKER_HOST ENGINE=$e N=$n bench/$b.sh 2>"$work/$b.err")" || res[$e,$b]="error"
		fi
		[ "${res[$e,$b]}" != error ] || { echo "  $b failed:" >&2; tail -5 "$work/$b.err" >&2; }
	done
done

row() { # label key unit target
	local line e
	line="$(printf '| %-34s |' "$1")"
	for e in "${engines[@]}"; do line+="$(printf ' %10s |' "${res[$e,$2]} $3")"; done
	line+=" $4 |"
	echo "$line"
}
hdr="| what                               |"
sep="|------------------------------------|"
for e in "${engines[@]}"; do hdr+="$(printf ' %10s |' "$e")"; sep+="------------|"; done
echo
echo "$hdr target |"
echo "$sep--------|"
row "run --rm busybox true, median" run-rm ms "≤ 115 ms"
row "run -d, median" run-d ms "≤ 106 ms"
row "memory per idle container (N=${N:-50})" mem MB "≤ 1.5 MB"
row "ps with ${PS_N:-200} running, median" ps ms "≤ 20 ms"
row "rm -f of ${RM_N:-200} running" rm-f s "≤ 3 s"
echo
echo "runtime: $(grep -m1 -io 'runtime[^ ]*=[^ ]*' "$work/berthd.log" || echo see berthd log); kernel $(uname -r); $(nproc) cores"
