package formatter

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

func fixNow(t *testing.T, at time.Time) {
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

func TestPsTable(t *testing.T) {
	base := time.Unix(1700000000, 0)
	fixNow(t, base.Add(2*time.Minute))
	list := []container.Summary{{
		ID:      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Names:   []string{"/web", "/other/alias"},
		Image:   "docker.io/library/nginx:latest",
		ImageID: "sha256:aaaa",
		Command: "nginx -g 'daemon off;' --very-long-arg",
		Created: base.Unix(),
		Status:  "Up 3 seconds",
		Ports: []container.PortSummary{
			{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{PrivatePort: 443, Type: "tcp"}, {PrivatePort: 444, Type: "tcp"},
		},
	}}
	var buf bytes.Buffer
	if err := WriteContainers(Context{Output: &buf, Format: ContainerFormat("", false, false)}, list, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("output:\n%s", buf.String())
	}
	for _, h := range []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"} {
		if !strings.Contains(lines[0], h) {
			t.Errorf("header %q missing: %q", h, lines[0])
		}
	}
	// Column alignment: every column title starts where its value does.
	if strings.Index(lines[0], "IMAGE") != strings.Index(lines[1], "nginx:latest") {
		t.Errorf("IMAGE column not aligned:\n%s", buf.String())
	}
	for _, want := range []string{"0123456789ab ", "nginx:latest", `"nginx -g 'daemon of…"`, "2 minutes ago", "Up 3 seconds", "443-444/tcp, 0.0.0.0:8080->80/tcp", " web"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %q", want, lines[1])
		}
	}
	if strings.Contains(lines[1], "alias") {
		t.Errorf("link name shown when truncating: %q", lines[1])
	}

	buf.Reset()
	WriteContainers(Context{Output: &buf, Format: ContainerFormat("", true, false)}, list, true)
	if buf.String() != "0123456789ab\n" {
		t.Errorf("quiet: %q", buf.String())
	}
	buf.Reset()
	WriteContainers(Context{Output: &buf, Format: `{{.Names}}\t{{upper (truncate .ID 4)}}`}, list, false)
	if buf.String() != "web,other/alias\t0123\n" {
		t.Errorf("template: %q", buf.String())
	}
	buf.Reset()
	WriteContainers(Context{Output: &buf, Format: "json"}, list, true)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("json output %q: %v", buf.String(), err)
	}
	if m["Names"] != "web" || m["Status"] != "Up 3 seconds" || m["RunningFor"] != "2 minutes ago" {
		t.Errorf("json: %v", m)
	}
	buf.Reset()
	WriteContainers(Context{Output: &buf, Format: "table {{.Names}}\t{{.State}}"}, list, true)
	if !strings.HasPrefix(buf.String(), "NAMES     STATE\nweb       \n") {
		t.Errorf("custom table: %q", buf.String())
	}
}

func TestDisplayablePorts(t *testing.T) {
	ip := netip.MustParseAddr("0.0.0.0")
	ip6 := netip.MustParseAddr("::")
	got := DisplayablePorts([]container.PortSummary{
		{IP: ip, PrivatePort: 80, PublicPort: 80, Type: "tcp"},
		{IP: ip, PrivatePort: 81, PublicPort: 81, Type: "tcp"},
		{IP: ip6, PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{PrivatePort: 53, Type: "udp"},
	})
	want := "53/udp, 0.0.0.0:80-81->80-81/tcp, [::]:8080->80/tcp"
	if got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestImages(t *testing.T) {
	base := time.Unix(1700000000, 0)
	fixNow(t, base.Add(3*time.Hour))
	imgs := []image.Summary{
		{ID: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Created: base.Unix(), Size: 4_261_000,
			RepoTags:    []string{"busybox:latest", "busybox:1.36", "localhost:5000/bb:v1"},
			RepoDigests: []string{"busybox@sha256:2222222222222222222222222222222222222222222222222222222222222222"}},
		{ID: "sha256:3333333333333333333333333333333333333333333333333333333333333333", Created: base.Unix(), Size: 0},
	}
	var buf bytes.Buffer
	if err := WriteImages(Context{Output: &buf, Format: ImageFormat("", false, false)}, imgs, false, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("output:\n%s", buf.String())
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "REPOSITORY TAG IMAGE ID CREATED SIZE" {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); strings.Join(f, " ") != "busybox latest 111111111111 3 hours ago 4.26MB" {
		t.Errorf("row %q", lines[1])
	}
	if f := strings.Fields(lines[3]); f[0] != "localhost:5000/bb" || f[1] != "v1" {
		t.Errorf("row %q", lines[3])
	}
	if f := strings.Fields(lines[4]); f[0] != "<none>" || f[1] != "<none>" || f[len(f)-1] != "0B" {
		t.Errorf("dangling row %q", lines[4])
	}
	buf.Reset()
	WriteImages(Context{Output: &buf, Format: ImageFormat("", false, true)}, imgs[:1], true, true)
	if !strings.Contains(buf.String(), "DIGEST") || !strings.Contains(buf.String(), "sha256:2222") {
		t.Errorf("digests:\n%s", buf.String())
	}
}

func TestTemplateFuncs(t *testing.T) {
	tmpl, err := NewTemplate(`{{json .}} {{join (split "a,b" ",") "+"}} {{title "hello world"}} {{lower "X"}} [{{pad "x" 1 2}}] {{truncate "abcdef" 3}}`)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, map[string]string{"a": "<b>"}); err != nil {
		t.Fatal(err)
	}
	want := `{"a":"<b>"} a+b Hello World x [ x  ] abc`
	if buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
	if _, err := NewTemplate("{{.Foo"); err == nil || !strings.HasPrefix(err.Error(), "template parsing error:") {
		t.Fatalf("err = %v", err)
	}
}

func TestHumanAndEllipsis(t *testing.T) {
	fixNow(t, time.Unix(1000, 0))
	if got := HumanSince(1000); got != "Less than a second ago" {
		t.Errorf("got %q", got)
	}
	if got := HumanSince(1000 - 90); got != "About a minute ago" {
		t.Errorf("got %q", got)
	}
	if got := HumanSize(1_500_000); got != "1.5MB" {
		t.Errorf("got %q", got)
	}
	if got := Ellipsis("héllo wörld", 5); got != "héll…" {
		t.Errorf("got %q", got)
	}
	if got := TruncateID("sha256:abcdef0123456789"); got != "abcdef012345" {
		t.Errorf("got %q", got)
	}
}
