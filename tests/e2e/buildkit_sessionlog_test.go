package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// warnOrError matches berthd's (slog) and BuildKit's (logrus) warning and
// error lines.
var warnOrError = regexp.MustCompile(`level=(WARN|ERROR|warning|error|fatal)\b`)

// A build over a client session (berth-build's -o type=local, buildx) ends
// its session when the client closes it, and leaves no warning or error in
// berthd's log: BuildKit's session health check used to find the closed
// connection a few seconds later ("healthcheck failed ... only one
// connection allowed").
func TestBuildKitSessionEndsQuietly(t *testing.T) {
	d := startDaemon(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nARG N\nRUN echo $N > /x\n"})
	// Warm up (BuildKit's start, the base image) before the log is read.
	if r := berthBuild(t, d, nil, "--progress=plain", dir); r.Exit != 0 {
		t.Fatalf("build: %s\n%s", r, d.LogTail(30))
	}
	before, err := os.ReadFile(d.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	r := berthBuild(t, d, nil, "--progress=plain", "--build-arg", "N=1", "-o", "type=local,dest="+t.TempDir(), dir)
	if r.Exit != 0 {
		t.Fatalf("session build: %s\n%s", r, d.LogTail(30))
	}
	sessions := 1
	if os.Getenv("BERTH_BUILDX_PLUGIN") != "" || fileExists("/root/.cache/berth/docker-buildx-v0.38.2") {
		buildxPlugin(t, d)
		if r := dockerBuild(t, d, "--build-arg", "N=2", dir); r.Exit != 0 {
			t.Fatalf("buildx build: %s\n%s", r, d.LogTail(30))
		}
		sessions++
	}
	var added string
	waitFor(t, 2*time.Minute, "the build sessions to end", func() bool {
		b, err := os.ReadFile(d.LogPath)
		if err != nil || len(b) < len(before) {
			return false
		}
		added = string(b[len(before):])
		return strings.Count(added, "BuildKit session ended") >= sessions
	})
	for _, l := range strings.Split(added, "\n") {
		if warnOrError.MatchString(l) {
			t.Errorf("berthd logged during a session build: %s", l)
		}
	}
}
