#!/usr/bin/env bash
# Median wall time of `run -d busybox sleep 1d`, in ms (containers removed after).
source "$(dirname "$0")/lib.sh"
if [ "$ENGINE" = berth ]; then c="${BERTH_CLI:-berth}"; else c="$ENGINE"; fi
trap remove_bench EXIT
median_ms "$c run -d --label bench=1 $IMAGE sleep 1d"
