package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"

	"github.com/berth-dev/berth/engine/commit"
	"github.com/berth-dev/berth/engine/distribution"
	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/reference"
	"github.com/berth-dev/berth/internal/errdefs"
	flt "github.com/berth-dev/berth/internal/filters"
)

// ImageBackend is what the image routes need from the engine
// (the daemon's grouping of *images.Service, the local store,
// *distribution.Service, pull and push, and *imagearchive.Service, save and
// load).
type ImageBackend interface {
	Resolve(ctx context.Context, ref string) (*images.Image, error)
	List(ctx context.Context, all bool) ([]*images.Image, error)
	Import(ctx context.Context, src io.Reader, opts imagearchive.ImportOptions) (*images.Image, error)
	Tag(ctx context.Context, source, target string) error
	Delete(ctx context.Context, ref string, force, prune bool) ([]images.DeleteResponse, error)
	History(ctx context.Context, ref string) ([]image.HistoryResponseItem, error)
	Prune(ctx context.Context, all bool, filters map[string][]string) ([]images.DeleteResponse, uint64, error)
	Save(ctx context.Context, refs []string, w io.Writer) error
	Load(ctx context.Context, r io.Reader, progress images.ProgressFunc) error
	Pull(ctx context.Context, ref string, opts distribution.PullOptions, progress images.ProgressFunc) error
	Push(ctx context.Context, ref string, opts distribution.PushOptions, progress images.ProgressFunc) error
	LayerDirs(img *images.Image) []string
	InUse(imageID string) int
}

// CommitBackend is implemented by the container service: it resolves the
// container, pauses it if asked, merges its config and calls
// images.Service.Commit. POST /commit needs it.
type CommitBackend interface {
	CommitContainer(ctx context.Context, nameOrID string, pause bool, opts commit.Options) (*images.Image, error)
}

func (s *Server) imageRoutes() {
	s.authRoutes()
	s.handle("POST /images/create", s.imageCreate)
	s.handle("GET /images/json", s.imageList)
	s.handle("POST /images/prune", s.imagePrune)
	s.handle("GET /images/get", s.imageSave)
	s.handle("POST /images/load", s.imageLoad)
	s.handle("POST /commit", s.imageCommit)
	// Image names contain slashes: the suffix is parsed by hand.
	s.handle("GET /images/", s.imageByName)
	s.handle("POST /images/", s.imageByName)
	s.handle("DELETE /images/", s.imageByName)
}

// splitImagePath splits "/images/<name>/<action>" where name may contain
// slashes; a DELETE has no action.
func splitImagePath(p string, actions ...string) (name, action string) {
	rest := strings.TrimPrefix(p, "/images/")
	for _, a := range actions {
		if n, ok := strings.CutSuffix(rest, "/"+a); ok && n != "" {
			return n, a
		}
	}
	return rest, ""
}

func (s *Server) imageByName(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet:
		name, action := splitImagePath(r.URL.Path, "json", "history", "get")
		switch action {
		case "json":
			return s.imageInspect(w, r, name)
		case "history":
			return s.imageHistory(w, r, name)
		case "get":
			return s.saveImages(w, r, []string{name})
		}
	case http.MethodPost:
		name, action := splitImagePath(r.URL.Path, "tag", "push")
		switch action {
		case "tag":
			return s.imageTag(w, r, name)
		case "push":
			return s.imagePush(w, r, name)
		}
	case http.MethodDelete:
		name, _ := splitImagePath(r.URL.Path)
		if name != "" {
			return s.imageDelete(w, r, name)
		}
	}
	return errdefs.NotFound("page not found")
}

// progressStream writes Docker's JSON progress messages, one per line,
// flushing each, safe for concurrent senders.
type progressStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

type progressMessage struct {
	Stream   string          `json:"stream,omitempty"`
	Status   string          `json:"status,omitempty"`
	Progress *progressDetail `json:"progressDetail,omitempty"`
	ID       string          `json:"id,omitempty"`
	Error    *errorDetail    `json:"errorDetail,omitempty"`
	ErrorMsg string          `json:"error,omitempty"`
	Aux      any             `json:"aux,omitempty"`
}

type progressDetail struct {
	Current int64 `json:"current,omitempty"`
	Total   int64 `json:"total,omitempty"`
}

type errorDetail struct {
	Message string `json:"message"`
}

func newProgressStream(w http.ResponseWriter) *progressStream {
	return &progressStream{w: w, enc: json.NewEncoder(w)}
}

func (p *progressStream) start() {
	if !p.started {
		p.started = true
		p.w.Header().Set("Content-Type", "application/json")
		p.w.WriteHeader(http.StatusOK)
	}
}

func (p *progressStream) send(m progressMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start()
	_ = p.enc.Encode(m)
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *progressStream) event(e images.ProgressEvent) {
	m := progressMessage{ID: e.ID, Status: e.Status, Stream: e.Stream, Aux: e.Aux}
	if e.Current > 0 || e.Total > 0 {
		m.Progress = &progressDetail{Current: e.Current, Total: e.Total}
	} else if e.Status != "" && e.ID != "" {
		m.Progress = &progressDetail{}
	}
	p.send(m)
}

// finish reports err: as the HTTP error if nothing was streamed yet (so the
// client gets the right status), else as an error line.
func (p *progressStream) finish(err error) error {
	if err == nil {
		return nil
	}
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return err
	}
	p.send(progressMessage{Error: &errorDetail{Message: err.Error()}, ErrorMsg: err.Error()})
	return nil
}

func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ps := newProgressStream(w)
	if from := q.Get("fromImage"); from != "" {
		ref := from
		if tag := q.Get("tag"); tag != "" {
			if strings.HasPrefix(tag, "sha256:") {
				ref += "@" + tag
			} else {
				ref += ":" + tag
			}
		}
		opts := distribution.PullOptions{Platform: q.Get("platform"), RegistryAuth: r.Header.Get("X-Registry-Auth")}
		// As in Docker, a name without tag or digest pulls every tag:
		// clients send tag=latest for a plain pull.
		if n, err := reference.Parse(ref); err == nil && reference.Tag(n) == "" && reference.Digest(n) == "" {
			opts.AllTags = true
		}
		return ps.finish(s.b.Images.Pull(r.Context(), ref, opts, ps.event))
	}
	src := q.Get("fromSrc")
	if src == "" {
		return errdefs.Invalid("fromImage or fromSrc is required")
	}
	opts := imagearchive.ImportOptions{
		Changes:  q["changes"],
		Message:  q.Get("message"),
		Platform: q.Get("platform"),
	}
	if repo := q.Get("repo"); repo != "" {
		ref, err := reference.WithTag(repo, q.Get("tag"))
		if err != nil {
			return err
		}
		opts.Ref = reference.Familiar(ref)
	}
	var body io.Reader = r.Body
	if src != "-" {
		// Only a URL the daemon may fetch, or the body: a file:// URL or a
		// path would read the daemon host's files (and a bare name used
		// to turn into a DNS lookup).
		u, err := url.Parse(src)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errdefs.Invalid("invalid fromSrc %q: import takes an http:// or https:// URL, or \"-\" to read the request body", src)
		}
		if opts.Message == "" {
			opts.Message = "Imported from " + u.String()
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
		if err != nil {
			return errdefs.Invalid("invalid fromSrc URL %q", src)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("download %s: %s", u, resp.Status)
		}
		ps.send(progressMessage{Status: "Downloading from " + u.String()})
		body = resp.Body
	}
	img, err := s.b.Images.Import(r.Context(), body, opts)
	if err != nil {
		return ps.finish(err)
	}
	ps.send(progressMessage{Status: img.ID})
	return nil
}

func (s *Server) imageList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseImageFilters(r)
	if err != nil {
		return err
	}
	list, err := s.b.Images.List(r.Context(), boolValue(r, "all"))
	if err != nil {
		return err
	}
	// Every before/since value is resolved (an unknown image is an error,
	// never a dropped filter) and every one applies.
	if f.before, err = s.resolveImages(r.Context(), f.args["before"]); err != nil {
		return err
	}
	if f.since, err = s.resolveImages(r.Context(), f.args["since"]); err != nil {
		return err
	}
	out := []image.Summary{}
	for _, img := range list {
		if sum, ok := f.summary(img); ok {
			out = append(out, sum)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// imageFilters are the filters of GET /images/json, checked.
type imageFilters struct {
	args          map[string][]string
	dangling      *bool
	until         time.Time
	before, since []*images.Image
}

func parseImageFilters(r *http.Request) (imageFilters, error) {
	filters, err := filtersValue(r)
	if err != nil {
		return imageFilters{}, err
	}
	if err := flt.Validate(filters, "dangling", "label", "label!", "reference", "before", "since", "until"); err != nil {
		return imageFilters{}, err
	}
	f := imageFilters{args: filters}
	if f.dangling, err = flt.Bool(filters, "dangling"); err != nil {
		return imageFilters{}, err
	}
	for _, p := range filters["reference"] {
		if _, err := path.Match(p, ""); err != nil {
			return imageFilters{}, errdefs.Invalid("invalid filter 'reference=%s': %v", p, err)
		}
	}
	if f.until, err = flt.Until(filters, "until", time.Now()); err != nil {
		return imageFilters{}, err
	}
	return f, nil
}

func (s *Server) resolveImages(ctx context.Context, refs []string) ([]*images.Image, error) {
	var out []*images.Image
	for _, v := range refs {
		img, err := s.b.Images.Resolve(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// summary is img as listed, with only the tags the reference filters
// match; ok is false when the filters leave it out.
func (f imageFilters) summary(img *images.Image) (sum image.Summary, ok bool) {
	if f.dangling != nil && (len(img.RepoTags) == 0) != *f.dangling {
		return sum, false
	}
	if !createdBetween(img, f.before, f.since) {
		return sum, false
	}
	if !f.until.IsZero() && !img.Created.Before(f.until) {
		return sum, false
	}
	if !flt.Labels(f.args, img.Config.Config.Labels) {
		return sum, false
	}
	tags := img.RepoTags
	if pats := f.args["reference"]; len(pats) > 0 {
		tags = matchReferences(img, pats)
		if len(tags) == 0 {
			return sum, false
		}
	}
	sum = image.Summary{
		Containers:  -1,
		Created:     img.Created.Unix(),
		ID:          img.ID,
		Labels:      img.Config.Config.Labels,
		ParentID:    img.Parent,
		RepoDigests: img.RepoDigests,
		RepoTags:    tags,
		SharedSize:  -1,
		Size:        img.Size,
	}
	if sum.Labels == nil {
		sum.Labels = map[string]string{}
	}
	return sum, true
}

// createdBetween: img was created before every image of before and after
// every image of since.
func createdBetween(img *images.Image, before, since []*images.Image) bool {
	for _, b := range before {
		if !img.Created.Before(b.Created) {
			return false
		}
	}
	for _, a := range since {
		if !img.Created.After(a.Created) {
			return false
		}
	}
	return true
}

// matchReferences returns the tags of img matching one of the patterns
// (path.Match on the familiar name or name:tag, as Docker's reference
// filter); digest-only images match on their repository.
func matchReferences(img *images.Image, pats []string) []string {
	var out []string
	match := func(name, full string) bool {
		for _, p := range pats {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
			if ok, _ := path.Match(p, full); ok {
				return true
			}
		}
		return false
	}
	for _, t := range img.RepoTags {
		n, err := reference.Parse(t)
		if err != nil {
			continue
		}
		if match(reference.FamiliarName(n), t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 && len(img.RepoTags) == 0 {
		for _, d := range img.RepoDigests {
			n, err := reference.Parse(d)
			if err == nil && match(reference.FamiliarName(n), d) {
				return []string{}
			}
		}
	}
	return out
}

func (s *Server) imageInspect(w http.ResponseWriter, r *http.Request, name string) error {
	img, err := s.b.Images.Resolve(r.Context(), name)
	if err != nil {
		return err
	}
	cfg := img.Config.Config
	resp := image.InspectResponse{
		ID:           img.ID,
		RepoTags:     img.RepoTags,
		RepoDigests:  img.RepoDigests,
		Comment:      img.Comment,
		Author:       img.Config.Author,
		Config:       &cfg,
		Architecture: img.Config.Architecture,
		Variant:      img.Config.Variant,
		Os:           img.Config.OS,
		OsVersion:    img.Config.OSVersion,
		Size:         img.Size,
		RootFS:       image.RootFS{Type: "layers"},
	}
	if resp.Config.Env == nil && resp.Config.Cmd == nil && resp.Config.Entrypoint == nil && resp.Config.Labels == nil {
		// Docker shows an empty object rather than null.
		resp.Config = &cfg
	}
	if !img.Created.IsZero() {
		resp.Created = img.Created.UTC().Format(time.RFC3339Nano)
	}
	for _, d := range img.Config.RootFS.DiffIDs {
		resp.RootFS.Layers = append(resp.RootFS.Layers, d.String())
	}
	dirs := s.b.Images.LayerDirs(img)
	gd := &storage.DriverData{Name: "overlay2", Data: map[string]string{}}
	if len(dirs) > 0 {
		gd.Data["UpperDir"] = dirs[0]
		gd.Data["MergedDir"] = path.Join(path.Dir(dirs[0]), "merged")
		gd.Data["WorkDir"] = path.Join(path.Dir(dirs[0]), "work")
		if len(dirs) > 1 {
			gd.Data["LowerDir"] = strings.Join(dirs[1:], ":")
		}
	}
	resp.GraphDriver = gd
	return writeJSON(w, http.StatusOK, legacyImageInspect(&resp, img.Parent, RequestVersion(r)))
}

func (s *Server) imageHistory(w http.ResponseWriter, r *http.Request, name string) error {
	h, err := s.b.Images.History(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h)
}

func (s *Server) imageTag(w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	repo := q.Get("repo")
	if repo == "" {
		return errdefs.Invalid("repository name must have at least one component")
	}
	ref, err := reference.WithTag(repo, q.Get("tag"))
	if err != nil {
		return err
	}
	if err := s.b.Images.Tag(r.Context(), name, ref.String()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) imageDelete(w http.ResponseWriter, r *http.Request, name string) error {
	resp, err := s.b.Images.Delete(r.Context(), name, boolValue(r, "force"), !boolValue(r, "noprune"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deleteItems(resp))
}

func deleteItems(resp []images.DeleteResponse) []image.DeleteResponse {
	out := make([]image.DeleteResponse, 0, len(resp))
	for _, d := range resp {
		out = append(out, image.DeleteResponse{Untagged: d.Untagged, Deleted: d.Deleted})
	}
	return out
}

func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	if err := flt.Validate(filters, "dangling", "label", "label!", "until"); err != nil {
		return err
	}
	dangling, err := flt.Bool(filters, "dangling")
	if err != nil {
		return err
	}
	// dangling=false (prune -a) removes every unused image; absent or true,
	// only untagged ones.
	all := dangling != nil && !*dangling
	delete(filters, "dangling")
	deleted, space, err := s.b.Images.Prune(r.Context(), all, filters)
	if err != nil {
		return err
	}
	report := image.PruneReport{ImagesDeleted: deleteItems(deleted), SpaceReclaimed: space}
	if len(deleted) == 0 {
		report.ImagesDeleted = nil
	}
	return writeJSON(w, http.StatusOK, report)
}

func (s *Server) imageSave(w http.ResponseWriter, r *http.Request) error {
	return s.saveImages(w, r, r.URL.Query()["names"])
}

func (s *Server) saveImages(w http.ResponseWriter, r *http.Request, names []string) error {
	if len(names) == 0 {
		return errdefs.Invalid("no image names given")
	}
	// Resolve first so a missing image is a clean 404, not a broken tar.
	for _, n := range names {
		if _, err := s.b.Images.Resolve(r.Context(), n); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	if err := s.b.Images.Save(r.Context(), names, w); err != nil && s.log != nil {
		s.log.Error("image save", "err", err)
	}
	return nil
}

func (s *Server) imageLoad(w http.ResponseWriter, r *http.Request) error {
	ps := newProgressStream(w)
	quiet := boolValue(r, "quiet")
	err := s.b.Images.Load(r.Context(), r.Body, func(e images.ProgressEvent) {
		if quiet && e.Stream == "" {
			return
		}
		ps.event(e)
	})
	if err == nil {
		ps.start()
	}
	return ps.finish(err)
}

func (s *Server) imagePush(w http.ResponseWriter, r *http.Request, name string) error {
	ref := name
	if tag := r.URL.Query().Get("tag"); tag != "" {
		ref += ":" + tag
	}
	ps := newProgressStream(w)
	opts := distribution.PushOptions{RegistryAuth: r.Header.Get("X-Registry-Auth")}
	return ps.finish(s.b.Images.Push(r.Context(), ref, opts, ps.event))
}

func (s *Server) imageCommit(w http.ResponseWriter, r *http.Request) error {
	cb, ok := s.b.Containers.(CommitBackend)
	if !ok {
		return errUnsupported("commit")
	}
	q := r.URL.Query()
	var cfg container.Config
	if err := decodeJSONLimit(r, &cfg, true, maxCreateBody); err != nil {
		return err
	}
	if err := checkConfigLimits(&cfg); err != nil {
		return err
	}
	opts := commit.Options{
		Author:  q.Get("author"),
		Message: q.Get("comment"),
		Changes: q["changes"],
		Config:  &cfg,
	}
	if repo := q.Get("repo"); repo != "" {
		ref, err := reference.WithTag(repo, q.Get("tag"))
		if err != nil {
			return err
		}
		opts.Ref = reference.Familiar(ref)
	}
	pause := true
	if q.Has("pause") {
		pause = boolValue(r, "pause")
	}
	img, err := cb.CommitContainer(r.Context(), q.Get("container"), pause, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]string{"Id": img.ID})
}
