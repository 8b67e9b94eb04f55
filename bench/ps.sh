#!/usr/bin/env bash
# Median wall time of `ps` with N (default 200) running containers, in ms.
source "$(dirname "$0")/lib.sh"
N="${N:-200}"
if [ "$ENGINE" = berth ]; then c="${BERTH_CLI:-berth}"; else c="$ENGINE"; fi
trap remove_bench EXIT
remove_bench
start_idle "$N"
median_ms "$c ps"
