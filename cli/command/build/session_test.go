package build

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNeedsSession(t *testing.T) {
	for _, c := range []struct {
		o    options
		want bool
	}{
		{options{}, false},
		{options{ssh: []string{"default"}}, true},
		{options{outputs: []string{"type=local,dest=x"}}, true},
		{options{outputs: []string{"dir"}}, true},
		{options{outputs: []string{"-"}}, true},
		{options{outputs: []string{"type=oci,dest=x"}}, true},
		{options{outputs: []string{"type=docker,dest=x"}}, true},
		{options{outputs: []string{"type=docker,name=a"}}, false},
		{options{outputs: []string{"type=image,name=a"}}, false},
		{options{cacheTo: []string{"type=local,dest=x"}}, true},
		{options{cacheFrom: []string{"type=local,src=x"}}, true},
		{options{cacheFrom: []string{"img:cache"}, cacheTo: []string{"type=inline"}}, false},
		{options{secrets: []string{"id=a"}}, false},
	} {
		got, err := c.o.needsSession()
		if err != nil || got != c.want {
			t.Errorf("%+v: needsSession %v, %v; want %v", c.o, got, err, c.want)
		}
	}
	if _, err := (options{outputs: []string{"type=,dest=x"}}).needsSession(); err == nil {
		t.Error("a bad --output was accepted")
	}
}

func TestParseSSH(t *testing.T) {
	dir := t.TempDir()
	sock, key := filepath.Join(dir, "sock"), filepath.Join(dir, "key")
	os.WriteFile(sock, nil, 0o600)
	os.WriteFile(key, nil, 0o600)
	t.Setenv("SSH_AUTH_SOCK", sock)
	got, err := parseSSH([]string{"default", "k=" + key + "," + sock})
	want := []SSHAgent{{ID: "default", Paths: []string{sock}}, {ID: "k", Paths: []string{key, sock}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseSSH: %v, %v", got, err)
	}
	for in, msg := range map[string]string{
		"=x":                 "id required",
		"k=" + dir + "/none": "no such file or directory",
	} {
		if _, err := parseSSH(strings.Split(in, ";")); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parseSSH(%q): %v, want %q", in, err, msg)
		}
	}
	if _, err := parseSSH([]string{"a", "a"}); err == nil || !strings.Contains(err.Error(), `duplicate agent ID "a"`) {
		t.Errorf("duplicate ids: %v", err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := parseSSH([]string{"default"}); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("no agent: %v", err)
	}
}

func TestParseExports(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	var stdout bytes.Buffer
	got, err := parseExports(nil, []string{"b:1", "a:1"}, &stdout, true)
	if err != nil || len(got) != 1 || got[0].Type != exportImage || got[0].Attrs["name"] != "a:1,b:1" {
		t.Fatalf("no output, tags: %+v, %v", got, err)
	}
	got, err = parseExports([]string{"type=image,name=c:1,push=false"}, []string{"a:1"}, &stdout, true)
	if err != nil || got[0].Attrs["name"] != "a:1,c:1" || got[0].Attrs["push"] != "false" {
		t.Fatalf("type=image: %+v, %v", got, err)
	}
	got, err = parseExports([]string{dir + "/out"}, nil, &stdout, true)
	if err != nil || got[0].Type != exportLocal || got[0].Dir != dir+"/out" {
		t.Fatalf("-o DIR: %+v, %v", got, err)
	}
	got, err = parseExports([]string{"-"}, nil, &stdout, false)
	if err != nil || got[0].Type != exportTar || got[0].Stdout != &stdout || !toStdout(got) {
		t.Fatalf("-o -: %+v, %v", got, err)
	}
	got, err = parseExports([]string{"type=oci,dest=" + dir + "/o.tar"}, nil, &stdout, true)
	if err != nil || got[0].File != dir+"/o.tar" || got[0].Stdout != nil {
		t.Fatalf("type=oci: %+v, %v", got, err)
	}
	for _, c := range []struct {
		out      string
		terminal bool
		msg      string
	}{
		{"-", true, "dest file is required for tar exporter. refusing to write to console"},
		{"type=oci", true, "dest file is required for oci exporter"},
		{"type=local", false, "dest is required for local exporter"},
		{"type=local,dest=-", false, "dest cannot be stdout for local exporter"},
		{"type=local,dest=" + file, false, "destination directory " + file + " is a file"},
		{"type=tar,dest=" + dir, false, "destination file " + dir + " is a directory"},
		{"type=tar,dest=" + file + "/x", false, "not a directory"},
		{"type=image,dest=x", false, "not supported"},
		{"type=registry", false, `output type "registry" is not supported`},
		{"type=", false, "type is required"},
	} {
		if _, err := parseExports([]string{c.out}, nil, &stdout, c.terminal); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("-o %s: %v, want %q", c.out, err, c.msg)
		}
	}
	if _, err := parseExports([]string{"a", "b"}, nil, &stdout, false); err == nil {
		t.Error("two outputs accepted")
	}
}

func TestFrontendAttrs(t *testing.T) {
	t.Setenv("FROM_ENV", "e")
	o := options{target: "t", noCache: true, pull: true, platform: "linux/amd64", network: "none",
		buildArgs: []string{"A=1", "FROM_ENV", "UNSET_E2E_ARG"}, labels: []string{"l=v"},
		addHosts: []string{"h:10.0.0.1"}, shmSize: "64m", ulimits: []string{"nofile=100:200"}}
	got, err := o.frontendAttrs("my.Dockerfile")
	want := map[string]string{"filename": "my.Dockerfile", "target": "t", "no-cache": "", "image-resolve-mode": "pull",
		"platform": "linux/amd64", "force-network-mode": "none", "build-arg:A": "1", "build-arg:FROM_ENV": "e", "label:l": "v",
		"add-hosts": "h=10.0.0.1", "shm-size": "67108864", "ulimit": "nofile=100:200"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("frontendAttrs: %v, %v", got, err)
	}
	if _, err := (options{network: "host"}).frontendAttrs("D"); err == nil || !strings.Contains(err.Error(), "--allow network.host") {
		t.Errorf("--network host without --allow: %v", err)
	}
	if got, err := (options{network: "host", allow: []string{"network.host"}}).frontendAttrs("D"); err != nil || got["force-network-mode"] != "host" {
		t.Errorf("--network host --allow network.host: %v, %v", got, err)
	}
	if _, err := (options{network: "mynet"}).frontendAttrs("D"); err == nil || !strings.Contains(err.Error(), `network mode "mynet" not supported`) {
		t.Errorf("--network mynet: %v", err)
	}
	for _, bad := range []options{{addHosts: []string{"nohost"}}, {shmSize: "lots"}, {ulimits: []string{"nofile=x"}}} {
		if _, err := bad.frontendAttrs("D"); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestReadSecretMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing")
	if _, _, err := readSecret("id=x,src=" + p); err == nil || !strings.HasPrefix(err.Error(), "failed to stat "+p+": ") {
		t.Fatalf("missing secret file: %v", err)
	}
}

func TestSessionContext(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o600)
	var b SessionBuild
	name, cleanup, err := b.setContext(dir, "", nil)
	if err != nil || name != "Dockerfile" || b.ContextDir != dir || b.DockerfileDir != dir {
		t.Fatalf("folder: %q %+v %v", name, b, err)
	}
	cleanup()
	b = SessionBuild{}
	name, cleanup, err = b.setContext(dir, "-", strings.NewReader("FROM busybox\n"))
	if err != nil || name != "Dockerfile" || b.ContextDir != dir || b.DockerfileDir == dir {
		t.Fatalf("-f -: %q %+v %v", name, b, err)
	}
	if got, _ := os.ReadFile(filepath.Join(b.DockerfileDir, "Dockerfile")); string(got) != "FROM busybox\n" {
		t.Fatalf("-f - wrote %q", got)
	}
	cleanup()
	if _, err := os.Stat(b.DockerfileDir); !os.IsNotExist(err) {
		t.Fatalf("cleanup left %s", b.DockerfileDir)
	}
	b = SessionBuild{}
	name, cleanup, err = b.setContext("-", "", strings.NewReader("FROM busybox\n"))
	if err != nil || name != "Dockerfile" || b.ContextDir == "" || b.ContextTar != nil {
		t.Fatalf("- (a Dockerfile): %q %+v %v", name, b, err)
	}
	if entries, _ := os.ReadDir(b.ContextDir); len(entries) != 0 {
		t.Fatalf("- (a Dockerfile): the context is not empty: %v", entries)
	}
	cleanup()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "sub/my.Dockerfile", Mode: 0o600, Size: 5, Typeflag: tar.TypeReg})
	tw.Write([]byte("FROM "))
	tw.Close()
	b = SessionBuild{}
	name, _, err = b.setContext("-", "sub/my.Dockerfile", &tarBuf)
	if err != nil || name != "sub/my.Dockerfile" || b.ContextTar == nil || b.ContextDir != "" {
		t.Fatalf("- (a tar): %q %+v %v", name, b, err)
	}
	if _, _, err := (&SessionBuild{}).setContext(dir, filepath.Join(dir, "nope"), nil); err == nil {
		t.Fatal("a missing Dockerfile was accepted")
	}
	if _, _, err := (&SessionBuild{}).setContext("-", "-", nil); err == nil {
		t.Fatal("stdin for both was accepted")
	}
}

// FuzzParseExports: any --output value is parsed or refused, never a panic,
// and an accepted one has a destination that fits its type.
func FuzzParseExports(f *testing.F) {
	for _, s := range []string{"-", "dir", "type=local,dest=x", "type=tar,dest=-", `type=oci,"dest=a,b"`, "type=image,name=a,push=true", "type=docker", "=", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var stdout bytes.Buffer
		got, err := parseExports([]string{s}, []string{"t:1"}, &stdout, false)
		if err != nil {
			return
		}
		for _, e := range got {
			switch e.Type {
			case exportLocal:
				if e.Dir == "" || e.Dir == "-" {
					t.Fatalf("%q: local export without a folder", s)
				}
			case exportTar, exportOCI, exportDocker:
				if e.File == "" || (e.File == "-") != (e.Stdout != nil) {
					t.Fatalf("%q: file export %+v", s, e)
				}
			case exportImage:
			default:
				t.Fatalf("%q: export type %q", s, e.Type)
			}
		}
	})
}

// FuzzParseSSH: any --ssh value is parsed or refused, never a panic.
func FuzzParseSSH(f *testing.F) {
	for _, s := range []string{"default", "id=/nonexistent", "=", "a=,", "a=b,c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSSH([]string{s})
		if err == nil && (len(got) != 1 || got[0].ID == "" || len(got[0].Paths) == 0) {
			t.Fatalf("%q: %+v", s, got)
		}
	})
}
