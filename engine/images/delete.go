package images

import (
	"context"
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
)

// DeleteResponse is one line of rmi's answer: a reference removed from an
// image, or an image or layer deleted.
type DeleteResponse struct {
	Untagged string
	Deleted  string
}

// Tag points the reference target ("name[:tag]", default tag latest) at the
// image source resolves to.
func (s *Service) Tag(ctx context.Context, source, target string) error {
	n, err := reference.ParseNewTag(target)
	if err != nil {
		return err
	}
	return s.TagNamed(ctx, source, n)
}

// TagNamed is Tag with a parsed reference.
func (s *Service) TagNamed(ctx context.Context, source string, n reference.Named) error {
	id, err := s.tagNamed(source, n)
	if err != nil {
		return err
	}
	s.emit("tag", id, reference.Familiar(n), id)
	return nil
}

func (s *Service) tagNamed(source string, n reference.Named) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.resolveLocked(source)
	if rec == nil {
		return "", errdefs.NotFound("No such image: %s", source)
	}
	if err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketRefs)).Put([]byte(n.String()), []byte(rec.ID))
	}); err != nil {
		return "", err
	}
	s.refs[n.String()] = rec.ID
	return rec.ID, nil
}

type deleteConflict struct {
	hard    bool
	used    bool
	id      string
	message string
}

func (c *deleteConflict) Error() string {
	if c.hard {
		return fmt.Sprintf("conflict: unable to delete %s (cannot be forced) - %s", stringid.Short(c.id), c.message)
	}
	return fmt.Sprintf("conflict: unable to delete %s (must be forced) - %s", stringid.Short(c.id), c.message)
}

// Delete removes a reference or an image, the way `docker rmi` does: a name
// only untags unless it was the image's last reference; an ID deletes the
// image (with force, also when several references or a stopped container
// use it). prune deletes untagged parents that become unused. Conflicts are
// errdefs.Conflict with Docker's messages.
func (s *Service) Delete(ctx context.Context, ref string, force, prune bool) ([]DeleteResponse, error) {
	s.mu.RLock()
	var targetID string
	if rec := s.resolveLocked(ref); rec != nil {
		targetID = rec.ID
	}
	known := make(map[string]bool, len(s.images))
	for id := range s.images {
		known[id] = true
	}
	s.mu.RUnlock()
	out, err := s.delete(ref, force, prune)
	s.emitDeleteEvents(out, targetID, known)
	return out, err
}

// emitDeleteEvents sends Docker's untag and delete events for one rmi or
// prune answer: untagged lines belong to image id; a deleted ID that was an
// image (not a layer) is a delete event.
func (s *Service) emitDeleteEvents(out []DeleteResponse, id string, images map[string]bool) {
	for _, d := range out {
		if d.Untagged != "" && id != "" {
			s.emit("untag", id, id, "")
		}
	}
	for _, d := range out {
		if d.Deleted != "" && images[d.Deleted] {
			s.emit("delete", d.Deleted, d.Deleted, "")
		}
	}
}

func (s *Service) delete(ref string, force, prune bool) ([]DeleteResponse, error) {
	target, users, err := s.usersOfChain(ref)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.resolveLocked(ref)
	if rec == nil || rec.ID != target.ID {
		return nil, errdefs.Conflict("image %s changed while being removed: retry", ref)
	}
	id := rec.ID
	var out []DeleteResponse
	repoRefs := s.refKeysLocked(id)
	removedRepositoryRef := false
	if !isIDPrefix(id, ref) {
		out, err = s.untagLocked(ref, id, users[id], force)
		if err != nil || len(s.refKeysLocked(id)) > 0 {
			return out, err
		}
		removedRepositoryRef = true
	} else if isSingleReference(repoRefs) {
		if c := s.conflictLocked(id, users[id], true, !force, false); c != nil {
			return nil, errdefs.Conflict("%s", c.Error())
		}
		for _, r := range repoRefs {
			if err := s.removeRefsLocked(r); err != nil {
				return out, err
			}
			if rn, err := reference.Parse(r); err == nil {
				out = append(out, DeleteResponse{Untagged: reference.Familiar(rn)})
			}
		}
	}
	return s.deleteHelperLocked(id, users, out, force, prune, removedRepositoryRef)
}

// usersOfChain resolves ref and asks the container service who uses it and
// each of its parents, before delete takes the lock: the container service
// may be calling into us with its own lock held.
func (s *Service) usersOfChain(ref string) (*imageRecord, map[string][]string, error) {
	s.mu.RLock()
	target := s.resolveLocked(ref)
	var chain []string
	for rec := target; rec != nil && len(chain) < 1000; rec = s.images[rec.Parent] {
		chain = append(chain, rec.ID)
		if rec.Parent == "" {
			break
		}
	}
	s.mu.RUnlock()
	if target == nil {
		return nil, nil, errdefs.NotFound("No such image: %s", ref)
	}
	users := map[string][]string{}
	for _, id := range chain {
		users[id] = s.usersOf(id)
	}
	return target, users, nil
}

// untagLocked removes the reference ref of image id (a container using it
// refuses the last reference without force) and, when that was the last
// tag of its repository, the repository's digest references too.
func (s *Service) untagLocked(ref, id string, users []string, force bool) ([]DeleteResponse, error) {
	n, err := reference.Parse(ref)
	if err != nil {
		return nil, err
	}
	n = reference.WithDefaultTag(n)
	if len(users) > 0 && !force && len(s.refKeysLocked(id)) == 1 {
		return nil, errdefs.Conflict("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", ref, stringid.Short(users[0]), stringid.Short(id))
	}
	if _, ok := s.refs[n.String()]; !ok {
		return nil, errdefs.NotFound("No such image: %s", ref)
	}
	if err := s.removeRefsLocked(n.String()); err != nil {
		return nil, err
	}
	out := []DeleteResponse{{Untagged: reference.Familiar(n)}}
	if reference.Digest(n) != "" {
		return out, nil
	}
	repoRefs := s.refKeysLocked(id)
	for _, r := range repoRefs {
		if rn, err := reference.Parse(r); err == nil && reference.Digest(rn) == "" && rn.Name() == n.Name() {
			return out, nil // the repository keeps a tag
		}
	}
	for _, r := range repoRefs {
		rn, err := reference.Parse(r)
		if err == nil && reference.Digest(rn) != "" && rn.Name() == n.Name() {
			if err := s.removeRefsLocked(r); err != nil {
				return out, err
			}
			out = append(out, DeleteResponse{Untagged: reference.Familiar(rn)})
		}
	}
	return out, nil
}

func (s *Service) deleteHelperLocked(id string, users map[string][]string, out []DeleteResponse, force, prune, quiet bool) ([]DeleteResponse, error) {
	if c := s.conflictLocked(id, users[id], true, !force, !force); c != nil {
		if quiet && (!s.danglingLocked(id) || c.used) {
			return out, nil
		}
		return out, errdefs.Conflict("%s", c.Error())
	}
	rec := s.images[id]
	parent := rec.Parent
	for _, r := range s.refKeysLocked(id) {
		if err := s.removeRefsLocked(r); err != nil {
			return out, err
		}
		if rn, err := reference.Parse(r); err == nil {
			out = append(out, DeleteResponse{Untagged: reference.Familiar(rn)})
		}
	}
	removed, err := s.deleteImageLocked(id)
	if err != nil {
		return out, err
	}
	out = append(out, DeleteResponse{Deleted: id})
	for _, l := range removed {
		out = append(out, DeleteResponse{Deleted: l})
	}
	if !prune || parent == "" || s.images[parent] == nil {
		return out, nil
	}
	return s.deleteHelperLocked(parent, users, out, false, true, true)
}

// conflictLocked checks Docker's delete conflicts: hard ones (children,
// running containers) and, when soft, references and stopped containers.
func (s *Service) conflictLocked(id string, users []string, hard, softRefs, softStopped bool) *deleteConflict {
	if hard {
		for _, rec := range s.images {
			if rec.Parent == id {
				return &deleteConflict{hard: true, id: id, message: "image has dependent child images"}
			}
		}
		for _, c := range users {
			if s.isRunning(c) {
				return &deleteConflict{hard: true, used: true, id: id, message: "image is being used by running container " + stringid.Short(c)}
			}
		}
	}
	if softRefs && len(s.refKeysLocked(id)) > 0 {
		return &deleteConflict{id: id, message: "image is referenced in multiple repositories"}
	}
	if softStopped && len(users) > 0 {
		return &deleteConflict{id: id, used: true, message: "image is being used by stopped container " + stringid.Short(users[0])}
	}
	return nil
}

func (s *Service) danglingLocked(id string) bool { return len(s.refKeysLocked(id)) == 0 }

// refKeysLocked returns the normalized references pointing at id, sorted.
func (s *Service) refKeysLocked(id string) []string {
	var out []string
	for r, target := range s.refs {
		if target == id {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Service) removeRefsLocked(keys ...string) error {
	if err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketRefs))
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		delete(s.refs, k)
	}
	return nil
}

// deleteImageLocked removes the image record, and the records of the layers
// nothing else references, in one transaction; then their directories and
// blobs. It returns the chain IDs of the removed layers, top first.
func (s *Service) deleteImageLocked(id string) ([]string, error) {
	var removed []Layer
	err := s.db.Bolt().Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte(bucketImages)).Delete([]byte(id)); err != nil {
			return err
		}
		var err error
		removed, err = s.layers.UnregisterUnusedTx(tx, s.images[id].ChainIDs, s.imageLayersLocked(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	delete(s.images, id)
	s.layers.RemoveLocked(removed)
	var out []string
	for i := len(removed) - 1; i >= 0; i-- {
		out = append(out, removed[i].ChainID)
	}
	return out, nil
}

func isIDPrefix(id, ref string) bool {
	return strings.HasPrefix(id, ref) || (ref != "" && strings.HasPrefix(strings.TrimPrefix(id, "sha256:"), ref))
}

// isSingleReference is Docker's rule: an ID deletes an image's references
// without force only when they are one tag plus digests of its repository.
func isSingleReference(refs []string) bool {
	if len(refs) <= 1 {
		return len(refs) == 1
	}
	var single reference.Named
	canonical := map[string]bool{}
	var first reference.Named
	for _, r := range refs {
		n, err := reference.Parse(r)
		if err != nil {
			continue
		}
		if first == nil {
			first = n
		}
		if reference.Digest(n) != "" {
			canonical[n.Name()] = true
		} else if single == nil {
			single = n
		} else {
			return false
		}
	}
	if single == nil {
		single = first
	}
	return single != nil && len(canonical) == 1 && canonical[single.Name()]
}
