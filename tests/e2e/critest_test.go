package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// criMirrors maps the registries critest pulls from to paths of a loopback
// registry (daemon.json cri.registry-mirrors).
func criMirrors(reg string) map[string]any {
	return map[string]any{
		"registry.k8s.io": []string{reg + "/k8s"},
		"k8s.gcr.io":      []string{reg + "/k8s"},
		"gcr.io":          []string{reg + "/gcr"},
		"public.ecr.aws":  []string{reg + "/ecr"},
	}
}

// buildAndPush builds a small image from busybox with the given Dockerfile
// lines and pushes it under each name (paths on reg).
func buildAndPush(t *testing.T, d *Daemon, reg, dockerfile string, names ...string) {
	t.Helper()
	b := d.Berth()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\n"+dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := reg + "/" + names[0]
	b.Must(t, "build", "-q", "-t", tag, dir)
	for _, n := range names {
		if n != names[0] {
			b.Must(t, "tag", tag, reg+"/"+n)
		}
		mustOK(t, b.Run(t, "push", reg+"/"+n))
	}
}

// prepareCritestImages serves every image critest v1.37.0 pulls (bar the
// pinned-digest one) from reg, built locally from busybox.
func prepareCritestImages(t *testing.T, d *Daemon, reg string) {
	const k8s, gcr = "k8s/", "gcr/k8s-staging-cri-tools/"
	page := "RUN mkdir -p /www /var/run && echo '<h1>Welcome to nginx!</h1> It works!' > /www/index.html\n"
	// A script named nginx stays PID 1 (critest looks for a process named
	// nginx, "master process" in PID 1's command line and a pid file) and
	// says "httpd" in the log.
	web := page + "RUN printf '#!/bin/sh\\necho httpd starting\\necho $$ > /var/run/nginx.pid\\nhttpd -f -p 80 -h /www &\\nwait\\n' > /bin/nginx && chmod 755 /bin/nginx\n" +
		"CMD [\"/bin/nginx\", \"-g\", \"daemon off; master process\"]\n"
	// busybox-static has no pgrep, which critest's default image has: a
	// stand-in matching process names as pgrep does.
	pgrep := "RUN printf '#!/bin/sh\\nfor d in /proc/[0-9]*; do read n < $d/comm 2>/dev/null && [ \"$n\" = \"$1\" ] && echo ${d#/proc/}; done\\ntrue\\n' > /bin/pgrep && chmod 755 /bin/pgrep\n"
	users := "RUN echo 'www-data:x:33:33:www-data:/:/bin/sh' >> /etc/passwd && echo 'www-data:x:33:' >> /etc/group && echo 'users:x:100:' >> /etc/group\n"
	// One image per name, unless critest wants names to share one: it
	// checks the repo tags of each.
	buildAndPush(t, d, reg, pgrep+"LABEL berth.test=busybox\n", k8s+"e2e-test-images/busybox:1.29-2")
	buildAndPush(t, d, reg, "LABEL berth.test=pause\n", k8s+"pause:3.9")
	buildAndPush(t, d, reg, "LABEL berth.test=latest\n", gcr+"test-image-latest:latest")
	buildAndPush(t, d, reg, "LABEL berth.test=tag\n", gcr+"test-image-tag:test")
	buildAndPush(t, d, reg, "LABEL berth.test=all\n", gcr+"test-image-tag:all")
	buildAndPush(t, d, reg, "LABEL berth.test=tags\n", gcr+"test-image-tags:1", gcr+"test-image-tags:2", gcr+"test-image-tags:3")
	for i := 1; i <= 3; i++ {
		buildAndPush(t, d, reg, fmt.Sprintf("LABEL berth.test=%d\n", i), fmt.Sprintf("%stest-image-%d:latest", gcr, i))
	}
	buildAndPush(t, d, reg, web, k8s+"e2e-test-images/nginx:1.14-2", k8s+"e2e-test-images/httpd:2.4.39-4")
	buildAndPush(t, d, reg, page+"CMD [\"httpd\", \"-f\", \"-p\", \"12003\", \"-h\", \"/www\"]\n", gcr+"hostnet-nginx-"+runtime.GOARCH)
	buildAndPush(t, d, reg, users+"USER 1002\n", gcr+"test-image-user-uid")
	buildAndPush(t, d, reg, users+"USER www-data\n", gcr+"test-image-user-username")
	buildAndPush(t, d, reg, users+"USER 1003:users\n", gcr+"test-image-user-uid-group")
	buildAndPush(t, d, reg, users+"USER www-data:www-data\n", gcr+"test-image-user-username-group")
	buildAndPush(t, d, reg, "RUN echo 'group50000:x:50000:' >> /etc/group\nUSER 1000:50000\n", gcr+"test-image-predefined-group")
	// critest pulls them itself: the local copies (built here, so with
	// parents and extra names) go.
	// A child goes before its parent: pass again until none is left.
	b := d.Berth()
	for pass := 0; ; pass++ {
		var left []string
		for _, img := range strings.Fields(b.Must(t, "images", "--format", "{{.Repository}}:{{.Tag}}")) {
			if strings.HasPrefix(img, reg+"/") {
				left = append(left, img)
			}
		}
		if len(left) == 0 {
			break
		}
		if pass == 10 {
			t.Fatalf("local test images cannot be removed: %v", left)
		}
		for _, img := range left {
			b.Run(t, "rmi", img)
		}
	}
}

var critestSummary = regexp.MustCompile(`Ran (\d+) of (\d+) Specs.*\n.*?(\d+) Passed \| (\d+) Failed`)

// TestCRICritest runs the CRI validation suite (critest v1.37.0) against a
// real berthd, its images served by a loopback registry behind
// cri.registry-mirrors, and requires 90 % of the specs that ran to pass
// (BERTH_CRITEST_FOCUS and BERTH_CRITEST_SKIP narrow the run). The mirrored pull is checked on its own first.
// BERTH_CRITEST_REPORT names a file for critest's whole output.
func TestCRICritest(t *testing.T) {
	critest := criTool(t, "critest")
	reg := startDockerRegistry(t, "")
	d := startCRIDaemon(t, map[string]any{"registry-mirrors": criMirrors(reg.Host), "registry-mirrors-only": true, "stream-address": "127.0.0.1:0"})
	cc := d.Crictl(t)
	prepareCritestImages(t, d, reg.Host)

	// A pull through the mirror lands in the one store, under the name
	// kubelet asked for.
	cc.Must(t, "pull", "registry.k8s.io/pause:3.9")
	if out := d.Docker(t).Must(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "registry.k8s.io/pause:3.9") {
		t.Fatalf("docker images after crictl pull:\n%s", out)
	}
	cc.Must(t, "rmi", "registry.k8s.io/pause:3.9")
	if r := cc.Run(t, "pull", "registry.k8s.io/no-such-image:1"); r.Exit == 0 {
		t.Fatalf("pull of a missing image succeeded: %s", r)
	}

	imagesFile := filepath.Join(d.Root, "critest-images.yaml")
	os.WriteFile(imagesFile, []byte("defaultTestContainerImage: registry.k8s.io/e2e-test-images/busybox:1.29-2\nwebServerTestImage: registry.k8s.io/e2e-test-images/nginx:1.14-2\n"), 0o644)
	// The whole suite: about 4 minutes on 2 busy cores.
	focus := os.Getenv("BERTH_CRITEST_FOCUS")
	if focus == "" {
		focus = "."
	}
	ep := "unix://" + d.criSocket()
	args := []string{"-runtime-endpoint=" + ep, "-image-endpoint=" + ep, "-test-images-file=" + imagesFile,
		"-ginkgo.no-color", "-ginkgo.focus=" + focus, "-ginkgo.skip=" + os.Getenv("BERTH_CRITEST_SKIP")}
	if os.Getenv("BERTH_CRITEST_SKIP") == "" {
		args = args[:len(args)-1]
	}
	// BERTH_CRITEST_ARGS adds critest flags (bench/cri.sh: -benchmark).
	args = append(args, strings.Fields(os.Getenv("BERTH_CRITEST_ARGS"))...)
	cmd := exec.Command(critest, args...)
	cmd.Dir = d.Root
	out, _ := cmd.CombinedOutput()
	if report := os.Getenv("BERTH_CRITEST_REPORT"); report != "" {
		os.WriteFile(report, out, 0o644)
	}
	m := critestSummary.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no critest summary in its output:\n%s", tail(string(out), 60))
	}
	var ran, total, passed, failed int
	fmt.Sscan(m[1], &ran)
	fmt.Sscan(m[2], &total)
	fmt.Sscan(m[3], &passed)
	fmt.Sscan(m[4], &failed)
	t.Logf("critest: ran %d of %d specs: %d passed, %d failed", ran, total, passed, failed)
	for _, f := range failedSpecs(string(out)) {
		t.Logf("critest failure: %s", f)
	}
	if ran == 0 || passed*10 < ran*9 {
		t.Fatalf("critest: %d of %d specs passed, below 90%%:\n%s", passed, ran, tail(string(out), 80))
	}
}

func failedSpecs(out string) []string {
	var fs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(strings.TrimSpace(l), "[FAIL]") {
			fs = append(fs, strings.TrimSpace(l))
		}
	}
	return fs
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
