#!/usr/bin/env bash
# CRI conformance and latency: runs critest v1.37.0 (sigs.k8s.io/cri-tools,
# built once by scripts/build-tools.sh) against a private berthd started
# by the e2e harness (TestCRICritest: its images come from a loopback
# registry behind cri.registry-mirrors), first the whole validation suite,
# then its benchmark mode. Prints the pass counts and writes critest's own
# output under the directory given (default /tmp/berth-critest).
#   bench/cri.sh [outdir]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/berth-critest}"
mkdir -p "$out"
scripts/build-tools.sh || { echo "bench/cri.sh: could not build crictl/critest" >&2; exit 1; }
run() { # name, extra critest args, focus, skip
	BERTH_CRITEST_FOCUS="$3" BERTH_CRITEST_SKIP="${4:-}" BERTH_CRITEST_ARGS="$2" BERTH_CRITEST_REPORT="$out/$1.txt" \
		go test ./tests/e2e -run 'TestCRICritest$' -count=1 -v -timeout 60m >"$out/$1-test.log" 2>&1
	echo "== $1: $(grep -E -o 'Ran [0-9]+ of [0-9]+ Specs' "$out/$1.txt" | tail -1); $(grep -E -o '[0-9]+ Passed \| [0-9]+ Failed' "$out/$1.txt" | tail -1)"
	grep -E '^\s*\[FAIL\]' "$out/$1.txt" | sed 's/^ */  /'
}
run validation "" .
# Lifecycle latency: 20 pods and 20 containers, one at a time (2 cores).
cat >"$out/bench-params.yaml" <<'YAML'
containersNumber: 20
containersNumberParallel: 1
containerBenchmarkTimeoutSeconds: 60
podsNumber: 20
podsNumberParallel: 1
podBenchmarkTimeoutSeconds: 60
imagesNumber: 5
imagesNumberParallel: 1
imageBenchmarkTimeoutSeconds: 60
YAML
mkdir -p "$out/bench-json"
run benchmark "-benchmark -benchmarking-params-file=$out/bench-params.yaml -benchmarking-output-dir=$out/bench-json" \
	'benchmark about (basic operations on Container|lifecycle of PodSandbox|start a container from scratch|listing Image)' \
	'basic operations on Image' # pulls images of its own from a public registry
# Each JSON file holds per-operation durations (ns) of one benchmark.
python3 - "$out/bench-json" <<'PY'
import json, os, statistics, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    try:
        data = json.load(open(os.path.join(d, f)))
    except Exception:
        continue
    ops = data.get("operationsNames") or []
    runs = data.get("datapoints") or []
    for i, op in enumerate(ops):
        xs = [r["operationsDurationsNs"][i] / 1e6 for r in runs if len(r.get("operationsDurationsNs", [])) > i]
        if xs:
            print(f"{f}: {op}: median {statistics.median(xs):.1f} ms (min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})")
PY
