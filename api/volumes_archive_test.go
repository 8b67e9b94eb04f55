package api

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
)

// dirArchive serves one folder as the root of container "c" through the
// real engine/archive functions, the way the container service does.
type dirArchive struct{ root string }

func (d dirArchive) check(ref string) error {
	if ref != "c" {
		return errdefs.NotFound("No such container: %s", ref)
	}
	return nil
}

func (d dirArchive) ArchiveStat(ctx context.Context, ref, p string) (*container.PathStat, error) {
	if err := d.check(ref); err != nil {
		return nil, err
	}
	return archive.StatPath(d.root, nil, p)
}

func (d dirArchive) ArchiveGet(ctx context.Context, ref, p string, w io.Writer) error {
	if err := d.check(ref); err != nil {
		return err
	}
	_, err := archive.CopyOut(ctx, d.root, nil, p, w)
	return err
}

func (d dirArchive) ArchivePut(ctx context.Context, ref, p string, r io.Reader, noOverwrite, copyUIDGID bool) error {
	if err := d.check(ref); err != nil {
		return err
	}
	return archive.CopyIn(ctx, d.root, nil, p, r, noOverwrite, copyUIDGID)
}

// volUsers stands for the container service: which containers use a
// volume, changed as a test goes.
type volUsers struct {
	mu sync.Mutex
	m  map[string][]string
}

func (u *volUsers) VolumeUsers(name string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[name]
}

func (u *volUsers) set(m map[string][]string) {
	u.mu.Lock()
	u.m = m
	u.mu.Unlock()
}

func newVolArchiveServer(t *testing.T) (*httptest.Server, *volUsers, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users := &volUsers{}
	vols, err := volumes.New(dir, db, volumes.Options{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("box\n"), 0o644)
	srv := httptest.NewServer(New(Backends{Volumes: vols, Archive: dirArchive{root}}, nil))
	t.Cleanup(srv.Close)
	return srv, users, root
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestVolumeRoutes(t *testing.T) {
	srv, users, _ := newVolArchiveServer(t)
	resp, body := do(t, "POST", srv.URL+"/v1.47/volumes/create", strings.NewReader(`{"Name":"data","Labels":{"a":"b"}}`))
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var v volume.Volume
	json.Unmarshal(body, &v)
	if v.Name != "data" || v.Driver != "local" || v.Labels["a"] != "b" || v.Scope != "local" {
		t.Fatalf("create body: %s", body)
	}
	resp, body = do(t, "GET", srv.URL+"/volumes/data", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"Mountpoint"`) {
		t.Fatalf("inspect: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", srv.URL+`/volumes?filters={"label":{"a=b":true}}`, nil)
	var list volume.ListResponse
	json.Unmarshal(body, &list)
	if resp.StatusCode != 200 || len(list.Volumes) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", srv.URL+"/volumes/nope", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "get nope: no such volume") {
		t.Fatalf("missing: %d %s", resp.StatusCode, body)
	}
	users.set(map[string][]string{"data": {"abc123"}})
	resp, body = do(t, "DELETE", srv.URL+"/volumes/data?force=1", nil)
	if resp.StatusCode != 409 || !strings.Contains(string(body), "remove data: volume is in use - [abc123]") {
		t.Fatalf("in use: %d %s", resp.StatusCode, body)
	}
	users.set(nil)
	resp, body = do(t, "POST", srv.URL+"/volumes/prune", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"VolumesDeleted":[]`) {
		t.Fatalf("prune keeps named volumes: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", srv.URL+`/volumes/prune?filters={"all":["true"]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"data"`) {
		t.Fatalf("prune all: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "DELETE", srv.URL+"/volumes/data", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("rm after prune: %d", resp.StatusCode)
	}
	resp, _ = do(t, "DELETE", srv.URL+"/volumes/data?force=true", nil)
	if resp.StatusCode != 204 {
		t.Fatalf("rm -f of a missing volume: %d", resp.StatusCode)
	}
}

func TestArchiveRoutes(t *testing.T) {
	srv, _, root := newVolArchiveServer(t)
	resp, body := do(t, "HEAD", srv.URL+"/containers/c/archive?path=/etc/hostname", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("head: %d %s", resp.StatusCode, body)
	}
	raw, _ := base64.StdEncoding.DecodeString(resp.Header.Get("X-Docker-Container-Path-Stat"))
	var st container.PathStat
	if err := json.Unmarshal(raw, &st); err != nil || st.Name != "hostname" || st.Size != 4 {
		t.Fatalf("stat header: %s %v", raw, err)
	}
	resp, body = do(t, "GET", srv.URL+"/containers/c/archive?path=/etc", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Docker-Container-Path-Stat") == "" {
		t.Fatalf("get: %d", resp.StatusCode)
	}
	tr := tar.NewReader(bytes.NewReader(body))
	names := []string{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "etc/,etc/hostname" {
		t.Fatalf("tar entries: %v", names)
	}
	resp, body = do(t, "GET", srv.URL+"/containers/c/archive?path=/nope", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "Could not find the file /nope") {
		t.Fatalf("get missing: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "GET", srv.URL+"/containers/c/archive", nil)
	if resp.StatusCode != 400 {
		t.Fatalf("no path: %d", resp.StatusCode)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "new.txt", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	resp, body = do(t, "PUT", srv.URL+"/containers/c/archive?path=/etc&noOverwriteDirNonDir=true", &buf)
	if resp.StatusCode != 200 {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc", "new.txt")); string(b) != "hi" {
		t.Fatal("put did not extract")
	}
	resp, body = do(t, "PUT", srv.URL+"/containers/c/archive?path=/etc/hostname", strings.NewReader(""))
	if resp.StatusCode != 400 || !strings.Contains(string(body), "extraction point is not a directory") {
		t.Fatalf("put onto a file: %d %s", resp.StatusCode, body)
	}
}
