package commit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
	"github.com/berth-dev/berth/engine/images/platform"
)

// A commit adds the writable layer's changes as a layer over the image's
// (none when nothing changed), and still works once the image is gone.
func TestCommitLayersAndRemovedBase(t *testing.T) {
	ctx := context.Background()
	db, dir := imagetest.DB(t)
	imgs, err := images.New(filepath.Join(dir, "image"), db, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := commit.New(imgs, imgs.LayerStore())
	base, err := imagearchive.New(imgs, imgs.LayerStore()).Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "a", Body: "x"})), imagearchive.ImportOptions{Ref: "base", Changes: []string{"ENV A=1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctr := "c1" + strings.Repeat("0", 62)
	if err := imgs.PrepareRootfs(ctx, ctr, base.ID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imgs.RemoveRootfs(ctx, ctr) })

	// Nothing changed: an empty_layer history entry, no new layer.
	same, err := c.Commit(ctx, ctr, commit.Options{Message: "nothing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Layers) != 1 || same.Parent != base.ID || !same.Config.History[len(same.Config.History)-1].EmptyLayer {
		t.Fatalf("empty commit %+v", same)
	}

	_, upper, err := imgs.WritableLayer(ctr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "new"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := c.Commit(ctx, ctr, commit.Options{Ref: "c:1", Author: "me", Changes: []string{"CMD true"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Layers[0] != base.Layers[0] || img.Parent != base.ID || img.Config.Author != "me" ||
		img.Config.Config.Env[0] != "A=1" || img.RepoTags[0] != "c:1" {
		t.Fatalf("commit %+v", img)
	}
	if _, err := c.Commit(ctx, ctr, commit.Options{Ref: "c@sha256:" + strings.Repeat("a", 64)}); err == nil {
		t.Fatal("a digest reference was accepted as the new tag")
	}

	// rmi -f of the images: the container's layers stay, and a commit
	// starts from a fresh config for the host over them.
	for _, id := range []string{same.ID, img.ID, base.ID} {
		if _, err := imgs.Delete(ctx, id, true, false); err != nil {
			t.Fatal(err)
		}
	}
	orphan, err := c.Commit(ctx, ctr, commit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	host := platform.Host()
	if orphan.Parent != "" || len(orphan.Layers) != 2 || orphan.Layers[1] != img.Layers[1] ||
		orphan.Config.OS != host.OS || orphan.Config.Architecture != host.Architecture || len(orphan.Config.Config.Env) != 0 {
		t.Fatalf("commit over a removed image %+v", orphan)
	}
}
