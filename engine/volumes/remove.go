package volumes

import (
	"context"
	"fmt"
	evtypes "github.com/moby/moby/api/types/events"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/internal/errdefs"
	flt "github.com/berth-dev/berth/internal/filters"
	"github.com/berth-dev/berth/internal/stringid"
)

// trashPrefix names folders being deleted; a volume name never starts with a
// dot, so they cannot clash, and New finishes deletions a crash interrupted.
const trashPrefix = ".trash-"

// Remove deletes a volume and its data. A volume some container uses is
// refused with Docker's message, force or not; force only makes a missing
// volume not an error (as `docker volume rm -f`).
func (s *Service) Remove(ctx context.Context, name string, force bool) error {
	if users := s.usersOf(name); len(users) > 0 {
		return errdefs.Conflict("remove %s: volume is in use - [%s]", name, strings.Join(users, ", "))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeLocked(name, force)
}

func (s *Service) removeLocked(name string, force bool) error {
	if _, err := s.load(name); err != nil {
		if errdefs.IsNotFound(err) && force {
			return nil
		}
		return err
	}
	if err := s.unmountLocked(name, true); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	// Rename first: after this one step the volume is gone as a whole, a
	// crash leaves only trash that New deletes.
	// The trash name does not carry the volume's: a 255-byte name plus
	// the prefix would pass the file name limit.
	trash := filepath.Join(s.dir, trashPrefix+stringid.New()[:16])
	if err := os.Rename(s.volPath(name), trash); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := s.db.Delete(bucket, name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	delete(s.active, name)
	if err := os.RemoveAll(trash); err != nil {
		s.log.Warn("could not delete removed volume's data", "volume", name, "path", trash, "err", err)
	}
	s.emit(evtypes.ActionDestroy, name)
	return nil
}

// cleanTrash deletes what an interrupted Remove left behind.
func (s *Service) cleanTrash() {
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), trashPrefix) {
			p := filepath.Join(s.dir, e.Name())
			// Never recurse into a still-mounted device volume.
			if mounted(filepath.Join(p, "_data")) {
				continue
			}
			os.RemoveAll(p)
		}
	}
}

// Prune removes unused volumes: only anonymous ones unless the filter
// all=true is given (Docker 23+), and only those matching label / label!
// filters. It reports the names removed and the bytes their data took.
func (s *Service) Prune(ctx context.Context, filters map[string][]string) (*volume.PruneReport, error) {
	if err := flt.Validate(filters, "label", "label!", "all"); err != nil {
		return nil, err
	}
	allF, err := flt.Bool(filters, "all")
	if err != nil {
		return nil, err
	}
	all := allF != nil && *allF
	recs, err := s.all()
	if err != nil {
		return nil, err
	}
	report := &volume.PruneReport{VolumesDeleted: []string{}}
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return report, err
		}
		if !all && !isAnonymous(rec) {
			continue
		}
		if !flt.Labels(filters, rec.Labels) {
			continue
		}
		if len(s.usersOf(rec.Name)) > 0 {
			continue
		}
		size, _ := dirSize(s.dataPath(rec.Name))
		s.mu.Lock()
		err := s.removeLocked(rec.Name, true)
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("prune: could not remove volume", "volume", rec.Name, "err", err)
			continue
		}
		report.VolumesDeleted = append(report.VolumesDeleted, rec.Name)
		report.SpaceReclaimed += uint64(size)
	}
	return report, nil
}

// Size returns the bytes the volume's data takes (regular files, each inode
// once), for `system df` and prune reports.
func (s *Service) Size(ctx context.Context, name string) (int64, error) {
	if _, err := s.load(name); err != nil {
		return 0, err
	}
	return dirSize(s.dataPath(name))
}

func dirSize(dir string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += fi.Size()
		return nil
	})
	return total, err
}
