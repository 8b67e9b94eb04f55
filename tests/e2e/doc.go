// Package e2e holds Berth's end-to-end tests: each starts a real berthd on
// temporary roots (see daemon_test.go), drives it through the `berth` CLI,
// the real docker CLI and raw HTTP, and checks behaviour against Docker's.
//
// They need root and runc or crun; otherwise every test skips. Run them with
// `sudo scripts/test.sh` or `sudo go test ./tests/e2e/ -v`.
package e2e
