package distribution

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
)

// A registry that serves a layer blob whose bytes differ from its digest
// (same length, same decompressed tar, so only the compressed digest can
// tell) makes the pull fail and leaves nothing behind: no image, no blob,
// no layer.
func TestPullRefusesTamperedBlob(t *testing.T) {
	img := testImage(t, runtime.GOARCH, "a")
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	diffID, _ := layers[0].DiffID()
	rc, _ := layers[0].Compressed()
	blob, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	// The gzip header's OS byte: not covered by the gzip CRC.
	tampered := bytes.Clone(blob)
	tampered[9] ^= 0x01
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+ld.String()) {
			w.Header().Set("Content-Length", strconv.Itoa(len(tampered)))
			w.Write(tampered)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	ref, _ := name.ParseReference(u.Host+"/lib/bad:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	s, _, _ := newTestService(t)
	err = s.Pull(context.Background(), u.Host+"/lib/bad:1", PullOptions{}, func(images.ProgressEvent) {})
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("pull of a tampered blob: %v", err)
	}
	if _, err := s.Resolve(context.Background(), u.Host+"/lib/bad:1"); err == nil {
		t.Fatal("image registered after a failed pull")
	}
	if _, n := imagetest.BlobUsage(t, s.Content()); n != 0 {
		t.Fatalf("%d blobs stored after a failed pull", n)
	}
	if s.LayerStore().HoldLayer(diffID.String()) {
		t.Fatal("layer registered after a failed pull")
	}
	if _, err := os.Lstat(s.LayerStore().Layout().LayerDir(diffID.String())); err == nil {
		t.Fatal("layer directory left after a failed pull")
	}
	if tmp, _ := os.ReadDir(s.LayerStore().TempDir()); len(tmp) != 0 {
		t.Fatalf("left in the layer store's tmp: %v", tmp)
	}
}
