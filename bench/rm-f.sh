#!/usr/bin/env bash
# Wall time of one `rm -f` of N (default 200) running containers, in s.
source "$(dirname "$0")/lib.sh"
N="${N:-200}"
trap remove_bench EXIT
remove_bench
start_idle "$N"
ids="$(cli ps -q --filter label=bench=1)"
t0="$(now_ms)"
cli rm -f $ids >/dev/null
t1="$(now_ms)"
awk -v d="$((t1 - t0))" 'BEGIN { printf "%.2f\n", d / 1000 }'
