package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `berth build --add-host --shm-size --ulimit` reach the RUN steps the
// same through both BuildKit paths: POST /build?version=2 (context in the
// body) and berth-build's client session (-o type=local). Each path builds
// with its own build-arg, so neither reads the other's cached step.
func TestBuildKitFrontendOptionsBothPaths(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox\nARG N\n" +
		"RUN (echo $N; grep -c 'fe-e2e-host' /etc/hosts; awk '/fe-e2e-host/{print $1}' /etc/hosts; " +
		"df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2; ulimit -Sn; ulimit -Hn) > /limits\n"})
	flags := []string{"--progress=plain", "--add-host", "fe-e2e-host:10.123.45.67", "--shm-size", "70m", "--ulimit", "nofile=1001:2002"}
	want := "\n1\n10.123.45.67\n71680\n1001\n2002"

	r := berthBuild(t, d, nil, append(flags, "--build-arg", "N=body", "-t", "fe-e2e:1", dir)...)
	if r.Exit != 0 {
		t.Fatalf("body build: %s\n%s", r, d.LogTail(30))
	}
	if got := strings.TrimSpace(b.Must(t, "run", "--rm", "fe-e2e:1", "cat", "/limits")); got != "body"+want {
		t.Errorf("body path: RUN saw %q, want %q", got, "body"+want)
	}
	out := t.TempDir()
	r = berthBuild(t, d, nil, append(flags, "--build-arg", "N=session", "-o", "type=local,dest="+out, dir)...)
	if r.Exit != 0 {
		t.Fatalf("session build: %s\n%s", r, d.LogTail(30))
	}
	got, err := os.ReadFile(filepath.Join(out, "limits"))
	if err != nil || strings.TrimSpace(string(got)) != "session"+want {
		t.Errorf("session path: RUN saw %q (%v), want %q", got, err, "session"+want)
	}
	for _, bad := range [][]string{{"--shm-size", "lots"}, {"--ulimit", "nofile=x"}, {"--add-host", "nohost"}} {
		for _, extra := range [][]string{nil, {"-o", "type=local,dest=" + t.TempDir()}} {
			r := berthBuild(t, d, nil, append(append(bad, extra...), dir)...)
			if r.Exit == 0 || !strings.Contains(r.Stderr, strings.TrimPrefix(bad[0], "--")) {
				t.Errorf("%v %v accepted or unclear: %s", bad, extra, r)
			}
		}
	}
}
