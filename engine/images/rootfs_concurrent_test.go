package images_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images/imagetest"
)

// Creates prepare writable layers side by side (PrepareRootfs takes the
// read lock and their commits are shared) while an rmi -f of their image
// runs: each create either fails (the image is gone) or pins the image's
// layers, which the rmi must then leave on disk.
func TestPrepareRootfsConcurrentWithRmi(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s, _, _ := newTestService(t)
	ctx := context.Background()
	img, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "a", Body: "x", Type: tar.TypeReg})), imagearchive.ImportOptions{Ref: "pinned"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	ok := make([]bool, n)
	var wg sync.WaitGroup
	for i := 0; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n {
				s.Delete(ctx, img.ID, true, true)
				return
			}
			ok[i] = s.PrepareRootfs(ctx, containerID(i), img.ID) == nil
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if !ok[i] {
			continue
		}
		t.Cleanup(func() { s.RemoveRootfs(ctx, containerID(i)) })
		r, _, err := s.WritableLayer(containerID(i))
		if err != nil {
			t.Fatalf("create %d succeeded but has no record: %v", i, err)
		}
		for _, c := range r.ChainIDs {
			if _, err := os.Stat(s.layerDir(c)); err != nil {
				t.Errorf("create %d: layer %s it pins is gone: %v", i, c, err)
			}
		}
	}
}

func containerID(i int) string { return fmt.Sprintf("c%02d", i) + strings.Repeat("0", 61) }
