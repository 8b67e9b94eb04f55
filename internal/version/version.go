// Package version is Berth's one version and git commit, shared by berthd,
// berth and berth-monitor. Builds set both with
//
//	-ldflags "-X github.com/berth-dev/berth/internal/version.Version=$(cat VERSION)
//	          -X github.com/berth-dev/berth/internal/version.GitCommit=$(git rev-parse --short HEAD)"
//
// as the Makefile, scripts/setup.sh and the e2e harness do. A plain `go build`
// reports Version "dev" and the commit Go recorded from the checkout, if any.
package version

import "runtime/debug"

var (
	// Version is Berth's release (the VERSION file).
	Version = "dev"
	// GitCommit is the commit the binaries were built from.
	GitCommit = ""
)

// Commit is GitCommit, or the VCS revision Go stamped into the binary
// (shortened), or "unknown".
func Commit() string {
	if GitCommit != "" {
		return GitCommit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value[:min(7, len(s.Value))]
			}
		}
	}
	return "unknown"
}
