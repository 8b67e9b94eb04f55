package buildkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/content"
)

// noImages is an image store without images: enough for BuildKit to start.
type noImages struct{}

func (noImages) DeleteBlobUnlessUsed(context.Context, digest.Digest) (bool, error) { return true, nil }
func (noImages) HoldLayerByBlob(string) (string, string, string, bool)             { return "", "", "", false }
func (noImages) ReleaseLayers([]string)                                            {}
func (noImages) Lookup(context.Context, string) (string, bool, error)              { return "", false, nil }
func (noImages) Image(context.Context, string) ([]byte, []ocispec.Descriptor, error) {
	return nil, nil, os.ErrNotExist
}
func (noImages) Register(context.Context, []byte, []ocispec.Descriptor, UnpackedLayers, string) error {
	return nil
}

// newTestService is a Service on a temporary root with runc and no
// images; it skips where BuildKit cannot run.
func newTestService(t *testing.T) *Service {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("BuildKit's snapshotter needs root")
	}
	rt, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("no runc")
	}
	dir := t.TempDir()
	blobs, err := content.NewLocal(filepath.Join(dir, "blobs"), filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Root: filepath.Join(dir, "buildkit"), Runtime: rt, Images: noImages{}, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServiceStartCloseRace: the running BuildKit is read (KeptBlobs,
// BuildCache, started) while it starts and closes; run with -race. Once
// closed it does not start again (a late request after berthd's shutdown).
func TestServiceStartCloseRace(t *testing.T) {
	s := newTestService(t)
	defer s.Close()
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := KeptBlobs(ctx, s, ""); err != nil && s.started() {
					t.Errorf("KeptBlobs while BuildKit runs: %v", err)
				}
				_ = s.started()
				_, _ = s.BuildCache(ctx) // may meet a closing BuildKit
			}
		}()
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if !s.started() {
		t.Fatal("not started after Start")
	}
	s.Close()
	close(stop)
	wg.Wait()
	if s.started() || s.Start() == nil {
		t.Fatal("BuildKit started again after Close")
	}
}

// TestPruneAfterClose: BuildKit's controller runs its GC on a timer of its
// own (a second after it starts, and after every build), which Close cannot
// stop; that GC's prune of the worker must not reach the closed databases
// ("gc error: database not open" in the log) but do nothing.
func TestPruneAfterClose(t *testing.T) {
	s := newTestService(t)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	w := s.live.Load().w
	ch := make(chan client.UsageInfo)
	go func() {
		for range ch {
		}
	}()
	defer close(ch)
	policy := w.GCPolicy()
	if len(policy) == 0 {
		t.Fatal("no GC policy: the controller's GC would not prune")
	}
	if err := w.Prune(context.Background(), ch, policy...); err != nil {
		t.Fatalf("prune while open: %v", err)
	}
	s.Close()
	if err := w.Prune(context.Background(), ch, policy...); err != nil {
		t.Errorf("the GC's prune after Close: %v", err)
	}
}
