#!/usr/bin/env bash
# Host memory per idle container, in MB: start N (default 50) idle
# containers; (PSS of the engine's processes after - before) / N. The
# containers' own processes are not counted.
source "$(dirname "$0")/lib.sh"
N="${N:-50}"
trap remove_bench EXIT
remove_bench
before="$(pss_kb $(engine_pids))"
start_idle "$N"
sleep 1 # let the monitors settle
after="$(pss_kb $(engine_pids))"
awk -v a="$after" -v b="$before" -v n="$N" 'BEGIN { printf "%.2f\n", (a - b) / n / 1024 }'
