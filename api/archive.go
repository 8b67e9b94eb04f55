package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/internal/errdefs"
)

// ArchiveBackend is what `docker cp` needs (the container service
// implements it over engine/archive, mounting a stopped container's root).
type ArchiveBackend interface {
	ArchiveStat(ctx context.Context, containerRef, path string) (*container.PathStat, error)
	// ArchiveGet writes a tar of path to w. w implements
	// SetPathStat(*container.PathStat) (archive.StatWriter): the backend
	// (archive.CopyOut does it) calls it once, before the first Write, so the
	// stat travels as a header before the body. An error returned before
	// that becomes a normal error response.
	ArchiveGet(ctx context.Context, containerRef, path string, w io.Writer) error
	ArchivePut(ctx context.Context, containerRef, path string, r io.Reader, noOverwriteDirNonDir, copyUIDGID bool) error
}

func (s *Server) archiveRoutes() {
	s.handle("HEAD /containers/{id}/archive", s.headContainerArchive)
	s.handle("GET /containers/{id}/archive", s.getContainerArchive)
	s.handle("PUT /containers/{id}/archive", s.putContainerArchive)
}

// archivePath is the required "path" query parameter, as Docker checks it.
func archivePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", errdefs.Invalid("Path cannot be empty")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", errdefs.Invalid("invalid path %q: it contains a NUL byte", p)
	}
	// The kernel's PATH_MAX and NAME_MAX: longer paths cannot name a file.
	if len(p) > 4096 {
		return "", errdefs.Invalid("invalid path: %d bytes, the limit is 4096", len(p))
	}
	for _, part := range strings.Split(p, "/") {
		if len(part) > 255 {
			return "", errdefs.Invalid("invalid path: a component of %d bytes, the limit is 255", len(part))
		}
	}
	return p, nil
}

// setPathStatHeader sets X-Docker-Container-Path-Stat: base64 of the JSON
// PathStat, as the docker CLI decodes it.
func setPathStatHeader(w http.ResponseWriter, st *container.PathStat) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(data))
	return nil
}

func (s *Server) headContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	st, err := s.b.Archive.ArchiveStat(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if err := setPathStatHeader(w, st); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// archiveWriter sends the stat header and status before the tar body.
type archiveWriter struct {
	w       http.ResponseWriter
	started bool
}

func (a *archiveWriter) SetPathStat(st *container.PathStat) {
	if a.started {
		return
	}
	setPathStatHeader(a.w, st)
}

func (a *archiveWriter) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.w.Header().Set("Content-Type", "application/x-tar")
		a.w.WriteHeader(http.StatusOK)
	}
	return a.w.Write(p)
}

func (s *Server) getContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	aw := &archiveWriter{w: w}
	err = s.b.Archive.ArchiveGet(r.Context(), r.PathValue("id"), p, aw)
	if err != nil && !aw.started {
		w.Header().Del("X-Docker-Container-Path-Stat")
		return err
	}
	if err != nil {
		// The body is under way: all that is left is to log and cut it short.
		if s.log != nil {
			s.log.Warn("container archive cut short", "container", r.PathValue("id"), "path", p, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	if !aw.started {
		aw.Write(nil)
	}
	return nil
}

func (s *Server) putContainerArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := archivePath(r)
	if err != nil {
		return err
	}
	if err := s.b.Archive.ArchivePut(r.Context(), r.PathValue("id"), p, r.Body,
		boolValue(r, "noOverwriteDirNonDir"), boolValue(r, "copyUIDGID")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
