#!/usr/bin/env bash
# test.sh — the whole test suite: go vet, then every package's tests,
# including tests/e2e, which start real berthd daemons on temporary roots.
# Run as root (sudo scripts/test.sh): the end-to-end tests need namespaces
# and mounts, and skip themselves otherwise.
#
# Installs the system packages first when missing (same list as setup.sh)
# and Berth's own crun (scripts/build-crun.sh), so a fresh machine with only
# Go works and the e2e tests run containers with the crun berthd uses. Exits non-zero if vet or any test
# fails. Extra arguments go to `go test` (e.g. -run TestPing -v).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

if [ "$(id -u)" -eq 0 ]; then
	scripts/setup.sh --packages-only
	# The real clients the e2e tests drive (docker compose, buildx, crictl,
	# critest), built once from the Go module proxy; BERTH_SKIP_TOOLS=1
	# skips them (their tests then skip and say why).
	if [ "${BERTH_SKIP_TOOLS:-}" != 1 ]; then
		scripts/build-tools.sh || echo "test.sh: some test clients could not be built; their tests will skip" >&2
	fi
else
	echo "test.sh: not root: system packages not checked, end-to-end tests will skip" >&2
fi

status=0
echo "==> go vet ./..."
go vet ./... || status=1

# One timeout per test binary; the e2e package is the long one (stress
# loops, hostile-input suites, crash rounds); the whole run must stay well
# under 60 minutes on 2 cores. The timeout is a hang guard, not a budget.
echo "==> go test ./..."
go test -count=1 -timeout 40m "$@" ./... || status=1

exit "$status"
