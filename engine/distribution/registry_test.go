package distribution

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
	"github.com/berth-dev/berth/internal/errdefs"
)

func startRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host // 127.0.0.1:port
}

// testImage builds a two-layer gzip image with real file content.
func testImage(t *testing.T, arch string, files ...string) v1.Image {
	img := empty.Image
	for i, f := range files {
		data := imagetest.Tar(t, imagetest.Entry{Name: f, Body: strings.Repeat(f, 100+i)})
		l, err := tarball.LayerFromOpener(func() (ioReadCloser, error) { return nopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"sh"}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPullPushSaveLoad(t *testing.T) {
	host := startRegistry(t)
	ctx := context.Background()
	img := testImage(t, runtime.GOARCH, "a", "b", "c", "d")
	other := testImage(t, "s390x", "zzz")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}}},
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	ref, _ := name.ParseReference(host+"/lib/multi:1", name.Insecure)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	s, _, _ := newTestService(t)
	var mu sync.Mutex
	var events []images.ProgressEvent
	record := func(e images.ProgressEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }
	if err := s.Pull(ctx, host+"/lib/multi:1", PullOptions{}, record); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(ctx, host+"/lib/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := img.ConfigName()
	if got.ID != wantID.String() || len(got.Layers) != 4 || got.Config.Architecture != runtime.GOARCH {
		t.Fatalf("pulled %s (%d layers), want %s", got.ID, len(got.Layers), wantID)
	}
	idxDigest, _ := idx.Digest()
	if len(got.RepoDigests) != 1 || got.RepoDigests[0] != host+"/lib/multi@"+idxDigest.String() {
		t.Fatalf("repo digests %v", got.RepoDigests)
	}
	statuses := map[string]int{}
	for _, e := range events {
		statuses[e.Status]++
	}
	for _, st := range []string{"Pulling fs layer", "Download complete", "Pull complete", "Digest: " + idxDigest.String(), "Status: Downloaded newer image for " + host + "/lib/multi:1"} {
		if statuses[st] == 0 {
			t.Errorf("no %q in %v", st, statuses)
		}
	}
	if statuses["Pull complete"] != 4 || statuses["Waiting"] != 1 {
		t.Errorf("statuses %v", statuses)
	}
	if b, err := os.ReadFile(filepath.Join(s.LayerDirs(got)[len(got.Layers)-1], "a")); err != nil || !strings.HasPrefix(string(b), "aaa") {
		t.Fatalf("layer content: %v", err)
	}

	// Again: nothing to download.
	events = nil
	if err := s.Pull(ctx, host+"/lib/multi:1", PullOptions{}, record); err != nil {
		t.Fatal(err)
	}
	if events[len(events)-1].Status != "Status: Image is up to date for "+host+"/lib/multi:1" {
		t.Fatalf("last %+v", events[len(events)-1])
	}

	// The other platform, by request; shares no layer.
	if err := s.Pull(ctx, host+"/lib/multi:1", PullOptions{Platform: "linux/s390x"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Pull(ctx, host+"/lib/multi:1", PullOptions{Platform: "linux/riscv64"}, nil); err == nil || !strings.Contains(err.Error(), "no matching manifest for linux/riscv64") {
		t.Fatalf("want no matching manifest, got %v", err)
	}
	if err := s.Pull(ctx, host+"/lib/nothere", PullOptions{}, nil); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "pull access denied for "+host+"/lib/nothere") {
		t.Fatalf("missing repo: %v", err)
	}
	if err := s.Pull(ctx, host+"/lib/multi:nope", PullOptions{}, nil); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "manifest for "+host+"/lib/multi:nope not found") {
		t.Fatalf("missing tag: %v", err)
	}

	// Push the pulled image under another name, pull it into a fresh store.
	if err := s.Pull(ctx, host+"/lib/multi:1", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, host+"/lib/multi:1", host+"/copy/x:v2"); err != nil {
		t.Fatal(err)
	}
	events = nil
	if err := s.Push(ctx, host+"/copy/x:v2", PushOptions{}, record); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(events[0].Status, "The push refers to repository ["+host+"/copy/x]") || !strings.HasPrefix(events[len(events)-2].Status, "v2: digest: sha256:") { // the last one is the aux message
		t.Fatalf("push events %+v", events)
	}
	s2, _, _ := newTestService(t)
	if err := s2.Pull(ctx, host+"/copy/x:v2", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if got2, err := s2.Resolve(ctx, host+"/copy/x:v2"); err != nil || got2.ID != got.ID {
		t.Fatalf("round trip through push: %v", err)
	}

	// An imported (uncompressed-layer) image pushes too.
	imp, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "f", Body: "f"})), imagearchive.ImportOptions{Ref: host + "/imp:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Push(ctx, host+"/imp:1", PushOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s2.Pull(ctx, host+"/imp:1", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}

	// Save both, load into a fresh store.
	var buf bytes.Buffer
	if err := s.Save(ctx, []string{host + "/copy/x:v2", imp.ID}, &buf); err != nil {
		t.Fatal(err)
	}
	names := imagetest.Names(t, buf.Bytes())
	for _, n := range []string{"manifest.json", "index.json", "oci-layout", "blobs/sha256/" + got.ID[7:]} {
		if !names[n] {
			t.Fatalf("save lacks %s: %v", n, names)
		}
	}
	s3, _, _ := newTestService(t)
	var loaded []string
	if err := s3.Load(ctx, bytes.NewReader(buf.Bytes()), func(e images.ProgressEvent) {
		if e.Stream != "" {
			loaded = append(loaded, e.Stream)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 || loaded[0] != "Loaded image: "+host+"/copy/x:v2\n" || loaded[1] != "Loaded image ID: "+imp.ID+"\n" {
		t.Fatalf("loaded %q", loaded)
	}
	if l3, err := s3.Resolve(ctx, imp.ID); err != nil || l3.Size != imp.Size {
		t.Fatalf("loaded import: %v", err)
	}

	// The OCI layout part alone loads as well.
	var oci bytes.Buffer
	tw := tar.NewWriter(&oci)
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == "manifest.json" {
			continue
		}
		tw.WriteHeader(h)
		io.CopyN(tw, tr, h.Size)
	}
	tw.Close()
	s4, _, _ := newTestService(t)
	if err := s4.Load(ctx, &oci, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s4.Resolve(ctx, host+"/copy/x:v2"); err != nil {
		t.Fatal(err)
	}

	// Pull the docker-typed single image too (no index).
	if err := remote.Write(mustRef(t, host+"/single:1"), img); err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
		t.Logf("media type %s", mt)
	}
	if err := s4.Pull(ctx, host+"/single:1", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
