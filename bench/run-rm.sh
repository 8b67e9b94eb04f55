#!/usr/bin/env bash
# Median wall time of `run --rm busybox true`, in ms.
source "$(dirname "$0")/lib.sh"
if [ "$ENGINE" = berth ]; then c="${BERTH_CLI:-berth}"; else c="$ENGINE"; fi
median_ms "$c run --rm $IMAGE true"
