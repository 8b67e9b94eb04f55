package compose

import (
	"bytes"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/container"
)

func TestFileTarget(t *testing.T) {
	for _, tc := range []struct{ base, src, target, want string }{
		{"/run/secrets/", "db", "", "/run/secrets/db"},
		{"/run/secrets/", "db", "pw", "/run/secrets/pw"},
		{"/run/secrets/", "db", "/etc/pw", "/etc/pw"},
		{"/", "conf", "", "/conf"},
	} {
		if got := fileTarget(tc.base, tc.src, tc.target); got != tc.want {
			t.Errorf("fileTarget(%q, %q, %q) = %q, want %q", tc.base, tc.src, tc.target, got, tc.want)
		}
	}
}

func TestSplitServicePath(t *testing.T) {
	for _, tc := range []struct {
		arg, svc, path string
		ok             bool
	}{
		{"web:/etc/hosts", "web", "/etc/hosts", true},
		{"/tmp/a:b", "", "/tmp/a:b", false},
		{"./x", "", "./x", false},
		{"-", "", "-", false},
		{"dir/file:x", "", "dir/file:x", false},
		{"file", "", "file", false},
	} {
		svc, p, ok := splitServicePath(tc.arg)
		if svc != tc.svc || p != tc.path || ok != tc.ok {
			t.Errorf("splitServicePath(%q) = %q %q %v", tc.arg, svc, p, ok)
		}
	}
}

func FuzzSplitServicePath(f *testing.F) {
	for _, s := range []string{"web:/a", "/abs", "-", "a/b:c", "x:", ":y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		svc, p, ok := splitServicePath(arg)
		if ok && svc+":"+p != arg {
			t.Fatalf("%q split into %q and %q", arg, svc, p)
		}
		if !ok && p != arg {
			t.Fatalf("local path %q changed to %q", arg, p)
		}
	})
}

func TestImagesToRemove(t *testing.T) {
	svc := func(name, image string) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.Image = image
		return s
	}
	p := &types.Project{Name: "proj", Services: types.Services{
		"web": svc("web", "nginx:1"), "app": svc("app", ""), "app2": svc("app2", "nginx:1"),
	}}
	if got := strings.Join(imagesToRemove("proj", p, nil, "local"), ","); got != "proj-app" {
		t.Fatalf("local: %q", got)
	}
	if got := strings.Join(imagesToRemove("proj", p, nil, "all"), ","); got != "proj-app,nginx:1" {
		t.Fatalf("all: %q", got)
	}
	ctrs := []container.Summary{
		{Image: "proj-app", Labels: map[string]string{labelService: "app"}},
		{Image: "busybox", Labels: map[string]string{labelService: "web"}},
	}
	if got := strings.Join(imagesToRemove("proj", nil, ctrs, "local"), ","); got != "proj-app" {
		t.Fatalf("local without a file: %q", got)
	}
	if got := imagesToRemove("proj", p, ctrs, ""); got != nil {
		t.Fatalf("no --rmi: %v", got)
	}
}

func TestRepoTag(t *testing.T) {
	if r, tag := repoTag("busybox", nil); r != "busybox" || tag != "latest" {
		t.Fatalf("busybox: %s %s", r, tag)
	}
	if r, tag := repoTag("sha256:abc", []string{"reg.example:5000/x/y:2"}); r != "reg.example:5000/x/y" || tag != "2" {
		t.Fatalf("by id: %s %s", r, tag)
	}
	if r, tag := repoTag("sha256:abc", nil); r != "" || tag != "" {
		t.Fatalf("untagged: %s %s", r, tag)
	}
}

func TestLogPrinter(t *testing.T) {
	var out bytes.Buffer
	p := newLogPrinter(&out, []string{"web-1", "client-1"}, false, false)
	w := p.writer("web-1")
	w.Write([]byte("hello\npart"))
	w.Write([]byte("ial\r\n"))
	w.Write([]byte("no newline"))
	w.flush()
	p.status("web-1", "exited with code 0")
	want := "web-1     | hello\nweb-1     | partial\nweb-1     | no newline\nweb-1 exited with code 0\n"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	c := newLogPrinter(&out, []string{"a-1", "b-1"}, true, false)
	c.writer("b-1").Write([]byte("x\n"))
	if out.String() != "\x1b[33mb-1  | \x1b[0mx\n" {
		t.Fatalf("coloured: %q", out.String())
	}
}
