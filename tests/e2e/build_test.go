package e2e

import (
	"archive/tar"
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 6: Dockerfiles built through `berth build` and through the real
// docker CLI's classic builder (DOCKER_BUILDKIT=0) against berthd. All build
// tests share one daemon; image names carry the CLI's name so the two runs
// of a test never share a tag, and RUN lines carry it too when a test needs
// a cold first build.

// build runs `<cli> build args...` with the classic builder selected
// (berth build, like docker, builds with BuildKit otherwise); stdin may be
// nil.
func build(t *testing.T, c CLI, stdin []byte, args ...string) Result {
	t.Helper()
	env := append(c.Env(), "DOCKER_BUILDKIT=0")
	var in *bytes.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	if in == nil {
		return c.d.runCmd(c.Path(), env, nil, 60*time.Second, append([]string{"build"}, args...)...)
	}
	return c.d.runCmd(c.Path(), env, in, 60*time.Second, append([]string{"build"}, args...)...)
}

// mustBuild is build that fails t unless the build succeeded.
func mustBuild(t *testing.T, c CLI, stdin []byte, args ...string) Result {
	t.Helper()
	r := build(t, c, stdin, args...)
	if r.Exit != 0 {
		t.Fatalf("build failed: %s", r)
	}
	return r
}

// writeContext makes a context folder from name -> content (parents made).
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: want %q in:\n%s", what, w, got)
		}
	}
}

func imageID(t *testing.T, c CLI, name string) string {
	t.Helper()
	return c.Must(t, "image", "inspect", "--format", "{{.Id}}", name)
}

var successfullyBuilt = regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`)

// TestBuildSeeds builds the seeds' two Dockerfiles (busybox for Windows
// Server Core): an `escape=` backtick one with a multi-line RUN, ADD of a
// file and of a local tar, EXPOSE and an exec-form ENTRYPOINT; then one
// FROM that image with COPY of a folder.
func TestBuildSeeds(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		token := uniq(c.Name) // the RUN differs on every run: a cold build
		var tarBuf bytes.Buffer
		tw := tar.NewWriter(&tarBuf)
		for _, f := range []struct{ name, body string }{{"inner/one.txt", "one\n"}, {"two.txt", "two\n"}} {
			tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(f.body))
		}
		tw.Close()
		df := "# escape=`\n" +
			"FROM busybox\n" +
			"RUN mkdir -p /app && `\n" +
			"    echo built-by-" + token + " > /app/run.txt && `\n" +
			"    echo 'C:\\path' > /app/win.txt\n" +
			"ADD hello.txt /app/\n" +
			"ADD files.tar /app/x/\n" +
			"EXPOSE 8080\n" +
			"ENTRYPOINT [\"cat\", \"/app/hello.txt\"]\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df, "hello.txt": "hello from the seed\n", "files.tar": tarBuf.String()})
		img := "seed1-" + c.Name
		r := mustBuild(t, c, nil, "-t", img, dir)
		wantContains(t, "build output", r.Stdout,
			"Sending build context to Docker daemon",
			"Step 1/6 : FROM busybox", "Step 2/6 : RUN mkdir -p /app &&", "Step 6/6 : ENTRYPOINT [\"cat\", \"/app/hello.txt\"]",
			" ---> Running in ", "Removing intermediate container ", "Successfully tagged "+img+":latest")
		m := successfullyBuilt.FindStringSubmatch(r.Stdout)
		if m == nil || !strings.HasPrefix(strings.TrimPrefix(imageID(t, c, img), "sha256:"), m[1]) {
			t.Errorf("no `Successfully built <id of %s>` line in:\n%s", img, r.Stdout)
		}
		if out := c.Must(t, "run", "--rm", img); out != "hello from the seed" {
			t.Errorf("exec-form ENTRYPOINT printed %q", out)
		}
		out := c.Must(t, "run", "--rm", "--entrypoint", "cat", img, "/app/run.txt", "/app/win.txt", "/app/x/inner/one.txt", "/app/x/two.txt")
		if want := "built-by-" + token + "\nC:\\path\none\ntwo"; out != want {
			t.Errorf("files of the image: got %q, want %q (backtick continuation, literal backslash, extracted tar)", out, want)
		}
		if c.Run(t, "run", "--rm", "--entrypoint", "test", img, "-e", "/app/x/files.tar").Exit == 0 {
			t.Error("ADD of a local tar copied the archive instead of extracting it")
		}
		cfg := c.Must(t, "image", "inspect", "--format", "{{json .Config.ExposedPorts}} {{json .Config.Entrypoint}}", img)
		wantContains(t, "image config", cfg, `"8080/tcp"`, `["cat","/app/hello.txt"]`)

		// Seed 2: FROM the image just built, plus COPY of a folder.
		df2 := "FROM " + img + "\nCOPY site /srv/site\n"
		dir2 := writeContext(t, map[string]string{"Dockerfile": df2, "site/index.html": "<h1>hi</h1>\n", "site/css/a.css": "body{}\n"})
		img2 := "seed2-" + c.Name
		mustBuild(t, c, nil, "-t", img2, dir2)
		out = c.Must(t, "run", "--rm", "--entrypoint", "cat", img2, "/srv/site/index.html", "/srv/site/css/a.css", "/app/hello.txt")
		if want := "<h1>hi</h1>\nbody{}\nhello from the seed"; out != want {
			t.Errorf("COPY of a folder onto the seed image: got %q, want %q", out, want)
		}
	})
}

// TestBuildMultiStage: COPY --from by stage name and by index, ARG before
// FROM naming the base.
func TestBuildMultiStage(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		df := "ARG BASE=busybox\n" +
			"FROM ${BASE} AS maker\n" +
			"RUN echo one-" + c.Name + " > /one.txt\n" +
			"FROM busybox\n" +
			"RUN echo two > /two.txt\n" +
			"FROM ${BASE}\n" +
			"COPY --from=maker /one.txt /r/\n" +
			"COPY --from=1 /two.txt /r/\n" +
			"CMD [\"cat\", \"/r/one.txt\", \"/r/two.txt\"]\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df})
		img := "multi-" + c.Name
		mustBuild(t, c, nil, "-t", img, dir)
		if out := c.Must(t, "run", "--rm", img); out != "one-"+c.Name+"\ntwo" {
			t.Errorf("multi-stage image printed %q", out)
		}
		if c.Run(t, "run", "--rm", img, "test", "-e", "/one.txt").Exit == 0 {
			t.Error("the final stage contains a file of the first stage it did not copy")
		}
		// --target stops at a named stage.
		mustBuild(t, c, nil, "-t", img+"-maker", "--target", "maker", dir)
		if out := c.Must(t, "run", "--rm", img+"-maker", "cat", "/one.txt"); out != "one-"+c.Name {
			t.Errorf("--target maker: got %q", out)
		}
	})
}

// TestBuildArgsEnv: ${VAR:-default}, ${VAR:+alt}, --build-arg overrides, an
// ARG before FROM redeclared in the stage, ENV seen by RUN.
func TestBuildArgsEnv(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		df := "ARG TOP=topdefault\n" +
			"FROM busybox\n" +
			"ARG TOP\n" +
			"ARG A=adef\n" +
			"ARG B\n" +
			"ENV E1=${A:-x} E2=${B:-bdefault} E3=${A:+alt} E4=${B:+balt} E5=${TOP}\n" +
			"RUN echo \"$E1|$E2|$E3|$E4|$E5|$A\" > /vars\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df})
		img := "args-" + c.Name
		mustBuild(t, c, nil, "-t", img, dir)
		if out := c.Must(t, "run", "--rm", img, "cat", "/vars"); out != "adef|bdefault|alt||topdefault|adef" {
			t.Errorf("defaults: got %q", out)
		}
		mustBuild(t, c, nil, "-t", img+"-over", "--build-arg", "A=over", "--build-arg", "B=bset", "--build-arg", "TOP=toparg", dir)
		if out := c.Must(t, "run", "--rm", img+"-over", "cat", "/vars"); out != "over|bset|alt|balt|toparg|over" {
			t.Errorf("--build-arg overrides: got %q", out)
		}
		if env := c.Must(t, "image", "inspect", "--format", "{{json .Config.Env}}", img+"-over"); !strings.Contains(env, `"E4=balt"`) || strings.Contains(env, `"A=`) {
			t.Errorf("image Env should hold ENV values and no ARG: %s", env)
		}
	})
}

// TestBuildUserWorkdir: USER and WORKDIR apply to later RUNs and to the
// image's containers.
func TestBuildUserWorkdir(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		df := "FROM busybox\nWORKDIR /work\nWORKDIR sub\nUSER 1234\nRUN echo \"in-run uid=$(id -u) pwd=$(pwd)\"\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df})
		img := "userwd-" + c.Name
		r := mustBuild(t, c, nil, "-t", img, "--no-cache", dir)
		wantContains(t, "RUN output", r.Stdout, "in-run uid=1234 pwd=/work/sub")
		if out := c.Must(t, "run", "--rm", img, "sh", "-c", "id -u; pwd"); out != "1234\n/work/sub" {
			t.Errorf("run id -u; pwd: got %q", out)
		}
	})
}

// TestBuildOnbuild: ONBUILD triggers of a parent run in the child's build.
func TestBuildOnbuild(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		parent := "onbuild-parent-" + c.Name
		dirP := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nONBUILD COPY marker.txt /onbuild/\nONBUILD RUN echo triggered > /onbuild/ran\n"})
		mustBuild(t, c, nil, "-t", parent, dirP)
		if trig := c.Must(t, "image", "inspect", "--format", "{{json .Config.OnBuild}}", parent); !strings.Contains(trig, "COPY marker.txt /onbuild/") {
			t.Errorf("parent's OnBuild: %s", trig)
		}
		dirC := writeContext(t, map[string]string{"Dockerfile": "FROM " + parent + "\nCMD [\"cat\", \"/onbuild/marker.txt\", \"/onbuild/ran\"]\n", "marker.txt": "marker-" + c.Name + "\n"})
		child := "onbuild-child-" + c.Name
		r := mustBuild(t, c, nil, "-t", child, dirC)
		wantContains(t, "child build output", r.Stdout, "# Executing 2 build triggers")
		if out := c.Must(t, "run", "--rm", child); out != "marker-"+c.Name+"\ntriggered" {
			t.Errorf("child: got %q", out)
		}
		// Docker clears the triggers in the child's config once they ran.
		if trig := c.Must(t, "image", "inspect", "--format", "{{json .Config.OnBuild}}", child); strings.Contains(trig, "marker") {
			t.Errorf("the child image kept its parent's ONBUILD triggers: %s", trig)
		}
	})
}

// TestBuildDockerignore: excluded files never reach the builder.
func TestBuildDockerignore(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := writeContext(t, map[string]string{
			"Dockerfile":    "FROM busybox\nCOPY . /ctx/\n",
			".dockerignore": "secret.txt\nlogs\n*.tmp\n!keep.tmp\n",
			"keep.txt":      "k", "secret.txt": "s", "logs/a.log": "l", "x.tmp": "x", "keep.tmp": "y",
		})
		img := "ignore-" + c.Name
		mustBuild(t, c, nil, "-t", img, dir)
		out := c.Must(t, "run", "--rm", img, "ls", "-A", "/ctx")
		if got := strings.Fields(out); strings.Join(got, " ") != ".dockerignore Dockerfile keep.tmp keep.txt" {
			t.Errorf("/ctx holds %v", got)
		}
		// A tar on stdin is sent whole: the daemon applies .dockerignore.
		var tb bytes.Buffer
		tw := tar.NewWriter(&tb)
		for _, f := range []struct{ name, body string }{
			{"Dockerfile", "FROM busybox\nCOPY . /ctx/\n"}, {".dockerignore", "secret.txt\nlogs\n*.tmp\n!keep.tmp\n"},
			{"keep.txt", "k"}, {"secret.txt", "s"}, {"logs/a.log", "l"}, {"x.tmp", "x"}, {"keep.tmp", "y"},
		} {
			tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(f.body))
		}
		tw.Close()
		mustBuild(t, c, tb.Bytes(), "-t", img+"-tar", "-")
		out = c.Must(t, "run", "--rm", img+"-tar", "ls", "-A", "/ctx")
		if got := strings.Fields(out); strings.Join(got, " ") != ".dockerignore Dockerfile keep.tmp keep.txt" {
			t.Errorf("tar context: /ctx holds %v", got)
		}
	})
}

// TestBuildQuietIidfileStdin: -q prints only the ID, --iidfile writes it,
// -f - reads the Dockerfile from stdin; history shows each instruction.
func TestBuildQuietIidfileStdin(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := writeContext(t, map[string]string{"data.txt": "data\n"})
		iid := filepath.Join(t.TempDir(), "iid")
		df := "FROM busybox\nCOPY data.txt /data.txt\nENV STDIN=" + c.Name + "\nLABEL from=stdin\nCMD [\"cat\", \"/data.txt\"]\n"
		img := "quiet-" + c.Name
		r := mustBuild(t, c, []byte(df), "-q", "--iidfile", iid, "-t", img, "-f", "-", dir)
		id := imageID(t, c, img)
		if r.Out() != id {
			t.Errorf("-q printed %q, want only %q", r.Stdout, id)
		}
		// With -q docker writes the streamed ID, newline included.
		if b, err := os.ReadFile(iid); err != nil || strings.TrimSpace(string(b)) != id {
			t.Errorf("--iidfile holds %q (%v), want %q", b, err, id)
		}
		if out := c.Must(t, "run", "--rm", img); out != "data" {
			t.Errorf("image from a stdin Dockerfile printed %q", out)
		}
		hist := c.Must(t, "history", "--no-trunc", "--format", "{{.CreatedBy}}", img)
		wantContains(t, "history", hist, `CMD ["cat" "/data.txt"]`, "LABEL from=stdin", "ENV STDIN="+c.Name, "COPY file:")
		if lines := strings.Split(hist, "\n"); len(lines) < 4 || !strings.Contains(lines[0], "CMD") || !strings.Contains(lines[3], "COPY") {
			t.Errorf("history does not list the 4 steps newest first:\n%s", hist)
		}
		// `build -` with only a Dockerfile on stdin.
		r = mustBuild(t, c, []byte("FROM busybox\nRUN echo lone-"+c.Name+"\n"), "-t", img+"-lone", "-")
		wantContains(t, "lone Dockerfile build", r.Stdout, "lone-"+c.Name, "Successfully tagged "+img+"-lone:latest")
	})
}

// TestBuildCache: an unchanged rebuild reuses every step, a changed file
// invalidates from its COPY on, --no-cache rebuilds everything.
func TestBuildCache(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		df := "FROM busybox\nRUN echo cold-" + uniq(c.Name) + " > /cold\nCOPY f1 /f1\nCOPY f2 /f2\nENV X=1\nCMD [\"cat\", \"/f1\", \"/f2\"]\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df, "f1": "a\n", "f2": "b\n"})
		img := "cache-" + c.Name
		r := mustBuild(t, c, nil, "-t", img, dir)
		if n := strings.Count(r.Stdout, "Using cache"); n != 0 {
			t.Errorf("first build used the cache %d times:\n%s", n, r.Stdout)
		}
		id1 := imageID(t, c, img)

		r = mustBuild(t, c, nil, "-t", img, dir)
		if n := strings.Count(r.Stdout, " ---> Using cache"); n != 5 {
			t.Errorf("unchanged rebuild: %d steps from the cache, want all 5:\n%s", n, r.Stdout)
		}
		if strings.Contains(r.Stdout, "Running in") {
			t.Errorf("unchanged rebuild ran a container:\n%s", r.Stdout)
		}
		if id := imageID(t, c, img); id != id1 {
			t.Errorf("unchanged rebuild made %s, want %s", id, id1)
		}

		// Same size, new content: f1's COPY and everything after rebuild.
		os.WriteFile(filepath.Join(dir, "f1"), []byte("A\n"), 0o644)
		r = mustBuild(t, c, nil, "-t", img, dir)
		if n := strings.Count(r.Stdout, " ---> Using cache"); n != 1 {
			t.Errorf("after changing f1: %d steps from the cache, want 1 (the RUN):\n%s", n, r.Stdout)
		}
		step3 := r.Stdout[strings.Index(r.Stdout, "Step 3/6"):]
		if strings.Contains(step3, "Using cache") {
			t.Errorf("steps from COPY f1 on used the cache:\n%s", r.Stdout)
		}
		id2 := imageID(t, c, img)
		if id2 == id1 {
			t.Error("changing f1 kept the image ID")
		}
		if out := c.Must(t, "run", "--rm", img); out != "A\nb" {
			t.Errorf("after changing f1 the image printed %q", out)
		}
		// Only the mode changes: still a different content hash.
		os.Chmod(filepath.Join(dir, "f2"), 0o755)
		r = mustBuild(t, c, nil, "-t", img, dir)
		if n := strings.Count(r.Stdout, " ---> Using cache"); n != 2 {
			t.Errorf("after chmod f2: %d steps from the cache, want 2:\n%s", n, r.Stdout)
		}

		r = mustBuild(t, c, nil, "-t", img, "--no-cache", dir)
		if strings.Contains(r.Stdout, "Using cache") || !strings.Contains(r.Stdout, "Running in") {
			t.Errorf("--no-cache used the cache:\n%s", r.Stdout)
		}
		if id := imageID(t, c, img); id == id2 {
			t.Error("--no-cache produced the cached image")
		}
	})
}

// TestBuildHostileContext: nothing outside the context is read, and a
// monster Dockerfile line fails clearly.
func TestBuildHostileContext(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY ../x /x\n"})
		os.WriteFile(filepath.Join(filepath.Dir(dir), "x"), []byte("outside"), 0o644)
		r := build(t, c, nil, dir)
		if r.Exit == 0 || !strings.Contains(r.Stdout+r.Stderr, "forbidden path outside the build context: ../x") {
			t.Errorf("COPY ../x: %s", r)
		}

		dir = writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY etclink/passwd /stolen\n"})
		if err := os.Symlink("/etc", filepath.Join(dir, "etclink")); err != nil {
			t.Fatal(err)
		}
		r = build(t, c, nil, "-t", "hostile-"+c.Name, dir)
		if r.Exit == 0 {
			t.Errorf("COPY through a symlink to /etc succeeded (host file read?): %s", r)
			if out := c.Run(t, "run", "--rm", "hostile-"+c.Name, "cat", "/stolen").Stdout; strings.Contains(out, "root:x:0:0") {
				t.Error("the host's /etc/passwd was copied into the image")
			}
		}
		// As Docker, a named source is resolved inside the context (so
		// etclink -> <context>/etc: not found), and a symlink inside a
		// copied folder is copied as a symlink, not followed.
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY etclink /l/etclink\n"), 0o644)
		if r = build(t, c, nil, dir); r.Exit == 0 || !strings.Contains(r.Stderr, "file not found in build context") {
			t.Errorf("COPY etclink: want not found (resolved inside the context): %s", r)
		}
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nCOPY . /l/\n"), 0o644)
		mustBuild(t, c, nil, "-t", "hostile-"+c.Name, dir)
		if r := c.Run(t, "run", "--rm", "hostile-"+c.Name, "readlink", "/l/etclink"); r.Out() != "/etc" {
			t.Errorf("COPY of a folder with an absolute symlink: want readlink /etc: %s", r)
		}

		long := "FROM busybox\nRUN echo " + strings.Repeat("a", 3<<20) + "\n"
		dir = writeContext(t, map[string]string{"Dockerfile": long})
		r = build(t, c, nil, dir)
		if r.Exit == 0 {
			t.Errorf("a 3 MB Dockerfile line built: exit 0")
		} else if c.Name == "berth" {
			t.Logf("3 MB line: %.300s", r.Stderr)
		}
		if msg := r.Stdout + r.Stderr; r.Exit != 0 && (!strings.Contains(strings.ToLower(msg), "dockerfile") || len(msg) > 4096) {
			t.Errorf("a 3 MB Dockerfile line: want a short error naming the Dockerfile, got (%d bytes) %.600s", len(msg), msg)
		}
	})
}

// TestBuildRunNetwork: RUN containers are on the bridge by default and on
// none with --network none.
func TestBuildRunNetwork(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + c.Name + "; ip route\n"})
		r := mustBuild(t, c, nil, "--no-cache", dir)
		if !regexp.MustCompile(`default via 10\.\d+\.\d+\.1 `).MatchString(r.Stdout) {
			t.Errorf("RUN has no default route via the bridge:\n%s", r.Stdout)
		}
		r = mustBuild(t, c, nil, "--no-cache", "--network", "none", dir)
		if strings.Contains(r.Stdout, "default via") {
			t.Errorf("--network none RUN has a default route:\n%s", r.Stdout)
		}
	})
}

// TestBuildClassicRunOptions: the classic builder gives RUN steps the
// --add-host, --shm-size and --ulimit of the build, as Docker's does, through
// the docker CLI (DOCKER_BUILDKIT=0) and berth alike, and the docker CLI's
// --memory and --cpu-shares (docker-py's container_limits) too; bad values
// sent straight to the API fail the build and leave no image behind, and so
// do options berthd's classic builder does not take (squash).
func TestBuildClassicRunOptions(t *testing.T) {
	d := sharedDaemon(t, "build")
	eachCLI(t, d, func(t *testing.T, c CLI) {
		token := uniq(c.Name)
		df := "FROM busybox\nRUN (echo " + token + "; grep -c 'cl-e2e-host' /etc/hosts; awk '/cl-e2e-host/{print $1}' /etc/hosts; " +
			"df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2; ulimit -Sn; ulimit -Hn; " +
			"cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares) > /limits\n"
		dir := writeContext(t, map[string]string{"Dockerfile": df})
		img := "classic-opts-" + c.Name
		args := []string{"--add-host", "cl-e2e-host:10.123.45.68", "--shm-size", "70m", "--ulimit", "nofile=1001:2002", "-t", img}
		limits := "9223372036854771712\n1024" // berth build has buildx's flags: no --memory
		if c.Name == "docker" {
			args = append(args, "--memory", "64m", "--cpu-shares", "512")
			limits = "67108864\n512"
		}
		mustBuild(t, c, nil, append(args, dir)...)
		want := token + "\n1\n10.123.45.68\n71680\n1001\n2002\n" + limits
		if got := c.Must(t, "run", "--rm", img, "cat", "/limits"); got != want {
			t.Errorf("RUN saw %q, want %q", got, want)
		}
	})
	ctx := string(tarOf(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}))
	for _, bad := range []struct{ query, want string }{
		{"extrahosts=nohost", "add-host"},
		{"extrahosts=h%3Anot-an-ip", "add-host"},
		{"shmsize=-1", "shmsize"},
		{"shmsize=lots", "shmsize"},
		{"ulimits=" + url.QueryEscape(`[{"Name":"bogus","Soft":1,"Hard":1}]`), "ulimit"},
		{"ulimits=" + url.QueryEscape(`[{"Name":"nofile","Soft":20,"Hard":10}]`), "ulimit"},
		{"ulimits=notjson", "ulimits"},
		{"memory=lots", "memory"},
		{"memory=1", "Minimum memory"},
		{"securityopt=notjson", "securityopt"},
		{"squash=1", "squash"}, // needs an experimental dockerd: refused, not ignored
	} {
		code, _, body := d.API(t, "POST", "/build?t=classic-bad-opts&"+bad.query, "application/x-tar", ctx)
		if (code < 400 && !strings.Contains(body, "errorDetail")) || !strings.Contains(body, bad.want) {
			t.Errorf("%s: status %d, body %s; want an error naming %s", bad.query, code, body, bad.want)
		}
	}
	if code, _, _ := d.API(t, "GET", "/images/classic-bad-opts/json", "", ""); code != 404 {
		t.Errorf("a build with bad RUN options left an image (inspect: %d)", code)
	}
}
