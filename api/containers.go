package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine/containers"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/timestamp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// ContainerBackend is what the container routes need from the engine.
type ContainerBackend interface {
	Create(ctx context.Context, o containers.CreateOptions) (string, []string, error)
	// PrepareAhead begins a created container's start in the background.
	PrepareAhead(id string)
	Start(ctx context.Context, ref string) error
	Stop(ctx context.Context, ref string, o containers.StopOptions) error
	Restart(ctx context.Context, ref string, o containers.StopOptions) error
	Kill(ctx context.Context, ref, signal string) error
	Wait(ctx context.Context, ref string, cond containers.WaitCondition) (func(context.Context) (containers.WaitResult, error), error)
	Remove(ctx context.Context, ref string, o containers.RemoveOptions) error
	RemoveLink(name string) error
	AttachRegister(ref string, o containers.AttachOptions) (*containers.AttachHandle, bool, error)
	LogsInfo(ref string) (tty bool, err error)
	Logs(ctx context.Context, ref string, o containers.LogsOptions, w io.Writer) error
	Resize(ctx context.Context, ref string, height, width uint16) error
	Rename(ctx context.Context, ref, name string) error
	Pause(ctx context.Context, ref string) error
	Unpause(ctx context.Context, ref string) error
	Top(ctx context.Context, ref, psArgs string) (*container.TopResponse, error)
	Prune(ctx context.Context, filters map[string][]string) (*container.PruneReport, error)
	List(ctx context.Context, o containers.ListOptions) ([]container.Summary, error)
	// ListJSON is List's reply encoded, appended to buf.
	ListJSON(ctx context.Context, o containers.ListOptions, buf []byte) ([]byte, error)
	Inspect(ctx context.Context, ref string, size bool) (*container.InspectResponse, error)
	Update(ctx context.Context, ref string, u container.UpdateConfig) ([]string, error)

	ExecCreate(ctx context.Context, ref string, req container.ExecCreateRequest) (string, error)
	ExecInfo(id string) (tty bool, err error)
	ExecStart(ctx context.Context, id string, tty bool, consoleSize *[2]uint, client containers.Stream) error
	ExecInspect(ctx context.Context, id string) (*container.ExecInspectResponse, error)
	ExecResize(ctx context.Context, id string, height, width uint16) error

	Changes(ctx context.Context, ref string) ([]container.FilesystemChange, error)
	Stats(ctx context.Context, ref string, stream, oneShot bool, emit func(*container.StatsResponse) error) error
	Export(ctx context.Context, ref string, w io.Writer) error
}

func (s *Server) containerRoutes() {
	s.handle("POST /containers/create", s.postContainersCreate)
	s.handle("GET /containers/json", s.getContainersJSON)
	s.handle("GET /containers/{id}/json", s.getContainerJSON)
	s.handle("POST /containers/{id}/start", s.postContainerStart)
	s.handle("POST /containers/{id}/stop", s.postContainerStop)
	s.handle("POST /containers/{id}/restart", s.postContainerRestart)
	s.handle("POST /containers/{id}/kill", s.postContainerKill)
	s.handle("POST /containers/{id}/wait", s.postContainerWait)
	s.handle("DELETE /containers/{id}", s.deleteContainer)
	s.handle("POST /containers/{id}/attach", s.postContainerAttach)
	s.handle("GET /containers/{id}/attach/ws", s.getContainerAttachWS)
	s.handle("GET /containers/{id}/logs", s.getContainerLogs)
	s.handle("POST /containers/{id}/resize", s.postContainerResize)
	s.handle("POST /containers/{id}/rename", s.postContainerRename)
	s.handle("POST /containers/{id}/pause", s.postContainerPause)
	s.handle("POST /containers/{id}/unpause", s.postContainerUnpause)
	s.handle("GET /containers/{id}/top", s.getContainerTop)
	s.handle("POST /containers/prune", s.postContainersPrune)
	s.handle("POST /containers/{id}/update", s.postContainerUpdate)
	s.handle("GET /containers/{id}/changes", s.getContainerChanges)
	s.handle("GET /containers/{id}/export", s.getContainerExport)
	s.handle("GET /containers/{id}/stats", s.getContainerStats)
}

// getContainerStats streams JSON samples (docker stats), or one with
// stream=false.
func (s *Server) getContainerStats(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.b.Containers.Inspect(r.Context(), id, false); err != nil {
		return err
	}
	stream := true
	if r.URL.Query().Has("stream") {
		stream = boolValue(r, "stream")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	return s.b.Containers.Stats(r.Context(), id, stream, boolValue(r, "one-shot"), func(st *container.StatsResponse) error {
		if err := enc.Encode(st); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
}

func (s *Server) getContainerChanges(w http.ResponseWriter, r *http.Request) error {
	changes, err := s.b.Containers.Changes(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if changes == nil {
		changes = []container.FilesystemChange{}
	}
	return writeJSON(w, http.StatusOK, changes)
}

func (s *Server) getContainerExport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.b.Containers.Inspect(r.Context(), id, false); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := s.b.Containers.Export(r.Context(), id, w); err != nil {
		s.log.Warn("export", "id", id, "err", err)
	}
	return nil
}

func (s *Server) postContainersCreate(w http.ResponseWriter, r *http.Request) error {
	var req container.CreateRequest
	if err := decodeJSONLimit(r, &req, false, maxCreateBody); err != nil {
		return err
	}
	if req.Config == nil {
		return errdefs.Invalid("config cannot be empty in order to create a container")
	}
	if err := checkConfigLimits(req.Config); err != nil {
		return err
	}
	if p := r.URL.Query().Get("platform"); p != "" && !strings.HasPrefix(p, "linux") {
		return errdefs.Invalid("image operating system %q cannot be used on this platform", strings.Split(p, "/")[0])
	}
	if req.HostConfig == nil {
		req.HostConfig = &container.HostConfig{}
	}
	if req.NetworkingConfig != nil && len(req.NetworkingConfig.EndpointsConfig) > 0 && (req.HostConfig.NetworkMode == "" || req.HostConfig.NetworkMode == "default") {
		req.HostConfig.NetworkMode = container.NetworkMode(primaryNetwork(req.NetworkingConfig.EndpointsConfig))
	}
	id, warnings, err := s.b.Containers.Create(r.Context(), containers.CreateOptions{
		Name: r.URL.Query().Get("name"), Config: req.Config, HostConfig: req.HostConfig,
		Endpoints: endpointsOf(req.NetworkingConfig), Platform: r.URL.Query().Get("platform"),
		Ahead: true,
	})
	if err != nil {
		return err
	}
	if warnings == nil {
		warnings = []string{}
	}
	// The start's work begins in the background before the reply is
	// written: its goroutine is running by the time the client's start
	// comes (it waits for a P otherwise, ~1 ms on a loaded 2-core host).
	s.b.Containers.PrepareAhead(id)
	err = writeJSON(w, http.StatusCreated, container.CreateResponse{ID: id, Warnings: warnings})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

// primaryNetwork picks the network a create request without a NetworkMode
// joins first. The docker CLI and compose always set NetworkMode (to the
// first --network); a bare API request with one endpoint means that one.
// With several, Docker's choice follows Go map order; Berth takes the first
// name in sorted order so the same request always gives the same container.
func primaryNetwork(eps map[string]*network.EndpointSettings) string {
	return slices.Min(slices.Collect(maps.Keys(eps)))
}

func endpointsOf(nc *network.NetworkingConfig) map[string]*network.EndpointSettings {
	if nc == nil {
		return nil
	}
	return nc.EndpointsConfig
}

func (s *Server) getContainersJSON(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	limit, err := intValue(r, "limit", 0)
	if err != nil {
		return err
	}
	buf := jsonBufs.Get().(*bytes.Buffer)
	defer putJSONBuf(buf)
	buf.Reset()
	body, err := s.b.Containers.ListJSON(r.Context(), containers.ListOptions{
		All: boolValue(r, "all"), Limit: limit, Size: boolValue(r, "size"), Filters: filters,
	}, buf.AvailableBuffer())
	if err != nil {
		return err
	}
	if cap(body) > buf.Cap() {
		// Grown: keep the larger buffer for the next list.
		*buf = *bytes.NewBuffer(body[:0])
	}
	return writeJSONBytes(w, http.StatusOK, body)
}

func (s *Server) getContainerJSON(w http.ResponseWriter, r *http.Request) error {
	c, err := s.b.Containers.Inspect(r.Context(), r.PathValue("id"), boolValue(r, "size"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, legacyInspect(c))
}

func (s *Server) postContainerStart(w http.ResponseWriter, r *http.Request) error {
	// Old clients could send a HostConfig here; Docker refuses it since 1.24.
	if r.ContentLength > 0 {
		var body map[string]any
		if err := decodeJSON(r, &body, true); err != nil {
			return err
		}
		if len(body) > 0 {
			return errdefs.Invalid("starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24")
		}
	}
	if err := s.b.Containers.Start(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func stopOptions(r *http.Request) (containers.StopOptions, error) {
	o := containers.StopOptions{Signal: r.URL.Query().Get("signal")}
	if t := r.URL.Query().Get("t"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return o, errdefs.Invalid("invalid value for t: %q", t)
		}
		o.Timeout = &n
	}
	return o, nil
}

func (s *Server) postContainerStop(w http.ResponseWriter, r *http.Request) error {
	o, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.Stop(r.Context(), r.PathValue("id"), o); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerRestart(w http.ResponseWriter, r *http.Request) error {
	o, err := stopOptions(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.Restart(r.Context(), r.PathValue("id"), o); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerKill(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Kill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerWait(w http.ResponseWriter, r *http.Request) error {
	wait, err := s.b.Containers.Wait(r.Context(), r.PathValue("id"), containers.WaitCondition(r.URL.Query().Get("condition")))
	if err != nil {
		return err
	}
	// Headers go out at once: the docker CLI waits before it starts.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	res, err := wait(r.Context())
	resp := container.WaitResponse{StatusCode: int64(res.ExitCode)}
	if err != nil {
		resp.Error = &container.WaitExitError{Message: err.Error()}
	}
	return writeJSONBody(w, resp)
}

// escapeLinkName turns `docker rm --link`'s DELETE /containers//parent/alias
// into one escaped path segment, so the mux neither cleans nor redirects
// it and deleteContainer gets "/parent/alias" as its id.
func escapeLinkName(r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/containers/")
	if r.Method != http.MethodDelete || !ok || !strings.Contains(rest, "/") || !boolValue(r, "link") {
		return
	}
	r.URL.Path = "/containers/" + rest
	r.URL.RawPath = "/containers/" + url.PathEscape(rest)
}

func (s *Server) deleteContainer(w http.ResponseWriter, r *http.Request) error {
	if boolValue(r, "link") {
		if err := s.b.Containers.RemoveLink(r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.b.Containers.Remove(r.Context(), r.PathValue("id"), containers.RemoveOptions{
		Force: boolValue(r, "force"), RemoveVolumes: boolValue(r, "v"),
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerAttach(w http.ResponseWriter, r *http.Request) error {
	o := containers.AttachOptions{
		Stdin: boolValue(r, "stdin"), Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Stream: boolValue(r, "stream"), Logs: boolValue(r, "logs"), DetachKeys: r.URL.Query().Get("detachKeys"),
	}
	// Register before answering: the docker CLI starts the container as
	// soon as it has the answer, and the session must be there by then.
	h, tty, err := s.b.Containers.AttachRegister(r.PathValue("id"), o)
	if err != nil {
		return err
	}
	conn, err := hijack(w, r, !tty)
	if err != nil {
		h.Cancel()
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	if err := h.Serve(ctx, conn); err != nil {
		conn.Write([]byte(err.Error() + "\r\n"))
	}
	return nil
}

// apiTime reads query parameter name (since, until) of r by the Engine
// API's rules (internal/timestamp.FromAPI): zero when absent.
func apiTime(r *http.Request, name string) (time.Time, error) {
	t, err := timestamp.FromAPI(r.URL.Query().Get(name))
	if err != nil {
		return time.Time{}, errdefs.Invalid("invalid value for %s: %v", name, err)
	}
	return t, nil
}

func (s *Server) getContainerLogs(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	o := containers.LogsOptions{
		Stdout: boolValue(r, "stdout"), Stderr: boolValue(r, "stderr"),
		Follow: boolValue(r, "follow"), Timestamps: boolValue(r, "timestamps"), Tail: -1,
	}
	if !o.Stdout && !o.Stderr {
		return errdefs.Invalid("Bad parameters: you must choose at least one stream")
	}
	var err error
	if o.Since, err = apiTime(r, "since"); err != nil {
		return err
	}
	// until=0 is no limit, as in Docker.
	if r.URL.Query().Get("until") != "0" {
		if o.Until, err = apiTime(r, "until"); err != nil {
			return err
		}
	}
	if t := r.URL.Query().Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return errdefs.Invalid("invalid value for tail: %q", t)
		}
		if n >= 0 {
			o.Tail = n
		}
	}
	tty, err := s.b.Containers.LogsInfo(id)
	if err != nil {
		return err
	}
	if tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	}
	w.WriteHeader(http.StatusOK)
	fw := &flushWriter{w: w}
	if o.Follow {
		fw.Flush()
	}
	if err := s.b.Containers.Logs(r.Context(), id, o, fw); err != nil && r.Context().Err() == nil {
		s.log.Warn("logs", "id", id, "err", err)
	}
	return nil
}

// flushWriter flushes after each write when asked, for followed streams.
type flushWriter struct{ w http.ResponseWriter }

func (f *flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f *flushWriter) Flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

// terminalSize reads the h and w of a resize request.
func terminalSize(r *http.Request) (height, width uint16, err error) {
	h, err := intValue(r, "h", 0)
	if err != nil {
		return 0, 0, err
	}
	wd, err := intValue(r, "w", 0)
	if err != nil {
		return 0, 0, err
	}
	if h < 0 || wd < 0 || h > 65535 || wd > 65535 {
		return 0, 0, errdefs.Invalid("invalid terminal size %dx%d", h, wd)
	}
	return uint16(h), uint16(wd), nil
}

func (s *Server) postContainerResize(w http.ResponseWriter, r *http.Request) error {
	h, wd, err := terminalSize(r)
	if err != nil {
		return err
	}
	if err := s.b.Containers.Resize(r.Context(), r.PathValue("id"), h, wd); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) postContainerRename(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Rename(r.Context(), r.PathValue("id"), r.URL.Query().Get("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerPause(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Pause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postContainerUnpause(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.Containers.Unpause(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getContainerTop(w http.ResponseWriter, r *http.Request) error {
	top, err := s.b.Containers.Top(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, top)
}

func (s *Server) postContainersPrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filtersValue(r)
	if err != nil {
		return err
	}
	rep, err := s.b.Containers.Prune(r.Context(), filters)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) postContainerUpdate(w http.ResponseWriter, r *http.Request) error {
	var u container.UpdateConfig
	if err := decodeJSON(r, &u, false); err != nil {
		return err
	}
	warnings, err := s.b.Containers.Update(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	if warnings == nil {
		warnings = []string{}
	}
	return writeJSON(w, http.StatusOK, container.UpdateResponse{Warnings: warnings})
}
