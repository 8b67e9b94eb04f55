package containers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/trash"
)

// commitProbe is an image service whose ForgetRootfs (the removal's
// commit) records whether the container's removal was already announced
// when the commit began, and fails with err.
type commitProbe struct {
	ImageService
	e         *entry
	committed bool
	announced bool // e.removed was closed as the commit began
	err       error
}

func (p *commitProbe) ForgetRootfs(ctx context.Context, id string, also ...store.Op) (func(), error) {
	p.committed = true
	select {
	case <-p.e.removed:
		p.announced = true
	default:
	}
	return func() {}, p.err
}

// removalService is testService with what deleteContainer uses: bins on
// temporary folders and the probe as image service.
func removalService(t *testing.T, commitErr error) (*Service, *entry, *commitProbe) {
	t.Helper()
	s, e := testService(t)
	root := t.TempDir()
	s.cfg.ExecRoot = filepath.Join(root, "exec")
	e.c.Dir = filepath.Join(root, "data", e.c.ID)
	if err := os.MkdirAll(e.c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.dataBin, err = trash.Open(filepath.Join(root, "trash", "data"), nil); err != nil {
		t.Fatal(err)
	}
	if s.execBin, err = trash.Open(filepath.Join(root, "trash", "exec"), nil); err != nil {
		t.Fatal(err)
	}
	p := &commitProbe{e: e, err: commitErr}
	s.images = p
	t.Cleanup(s.wg.Wait)
	return s, e, p
}

// An auto-remove (run --rm) tells the waiting client the container is gone
// before the removal's commit, which waits for the disk; a plain rm only
// after it, so that a failed commit leaves the container listed (Dead)
// for another try.
func TestAutoRemoveAnnouncedBeforeCommit(t *testing.T) {
	for _, auto := range []bool{true, false} {
		s, e, p := removalService(t, nil)
		c := e.c
		if err := s.deleteContainer(context.Background(), e, c, RemoveOptions{auto: auto}); err != nil {
			t.Fatalf("auto=%v: %v", auto, err)
		}
		if !p.committed {
			t.Fatalf("auto=%v: the removal was not committed", auto)
		}
		if p.announced != auto {
			t.Errorf("auto=%v: removal announced before its commit: %v", auto, p.announced)
		}
		if _, err := s.lookup(c.ID); err == nil {
			t.Errorf("auto=%v: the removed container is still listed", auto)
		}
		if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("auto=%v: the container's folder stayed: %v", auto, err)
		}
	}
}

// An auto-remove whose commit fails still ends with the container gone
// from the lists and its waiters answered (the record left on disk is
// removed at the next start); the error is returned for the log.
func TestAutoRemoveCommitFailure(t *testing.T) {
	s, e, _ := removalService(t, errors.New("disk full"))
	c := e.c
	err := s.deleteContainer(context.Background(), e, c, RemoveOptions{auto: true})
	if err == nil {
		t.Fatal("a failed commit was not reported")
	}
	select {
	case <-e.removed:
	default:
		t.Error("waiters of the removal were not answered")
	}
	if _, err := s.lookup(c.ID); err == nil {
		t.Error("the container is still listed")
	}
}
