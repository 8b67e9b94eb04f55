package containers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/trash"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
)

const bucket = "containers"

// ImageService is what containers need from the image service.
type ImageService interface {
	Resolve(ctx context.Context, ref string) (*images.Image, error)
	// PrepareRootfs and RemoveRootfs commit also with the layer's record.
	PrepareRootfs(ctx context.Context, containerID, imageID string, also ...store.Op) error
	MountRootfs(ctx context.Context, containerID string) (string, error)
	UnmountRootfs(ctx context.Context, containerID string) error
	RemoveRootfs(ctx context.Context, containerID string, also ...store.Op) error
	// ForgetRootfs commits as RemoveRootfs does and leaves the unmount and
	// deletion of the layer to finish.
	ForgetRootfs(ctx context.Context, containerID string, also ...store.Op) (finish func(), err error)
	RootfsIDs(ctx context.Context) ([]string, error)
	RootfsSize(ctx context.Context, containerID string) (rw, total int64, err error)
	Changes(ctx context.Context, containerID string) ([]container.FilesystemChange, error)
	Export(ctx context.Context, containerID string, w io.Writer) error
}

// Config is how the daemon sets the service up.
type Config struct {
	DataRoot string // containers' files go to DataRoot/containers/<id>
	ExecRoot string // monitors' state goes to ExecRoot/containers/<id>
	// MonitorPath is the berth-monitor binary.
	MonitorPath string
	// InitPath is the init for --init (tini), "" if none is installed.
	InitPath string
	// LogDriver and LogOpts are the daemon's defaults (daemon.json
	// log-driver and log-opts), checked by ValidateLogConfig.
	LogDriver string
	LogOpts   map[string]string
	// CgroupParent for every container ("/berth").
	CgroupParent string
	// HostGatewayIP is daemon.json host-gateway-ip: the address
	// "host-gateway" stands for in --add-host. Zero: the default bridge's
	// gateway.
	HostGatewayIP netip.Addr
	// Events receives container events (may be nil).
	Events Events
	// Userns is daemon.json userns-remap's mapping (nil: not remapped).
	Userns Remap
	// Commit makes the images of `docker commit` (nil: commit is refused).
	Commit Committer
}

// Service is the container service.
type Service struct {
	cfg      Config
	db       *store.DB
	images   ImageService
	net      Networks // nil: no networking (build's containers)
	vols     Volumes  // nil: no volumes
	runtimes Runtimes
	log      *slog.Logger
	// Removed containers' folders (DataRoot/containers/<id>) and state
	// directories (ExecRoot/containers/<id>) go to these bins, one per
	// root: a rename on the removal's path, the deletion in the
	// background (discard).
	dataBin, execBin *trash.Bin

	// Lock order: mu before an entry's mu; logMu is a leaf.
	mu     sync.RWMutex
	logMu  sync.Mutex
	byID   map[string]*entry
	byName map[string]string // name -> ID
	// order holds byID's entries newest first, made by all when nil;
	// whatever changes byID sets it to nil (under mu).
	order atomic.Pointer[[]*entry]
	// ctx ends when berthd shuts down; watchers stop with it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// ahead holds a token per container prepared ahead of its start (or
	// being prepared): at most maxPrepared at once.
	ahead chan struct{}
}

// New opens the container service and reloads every recorded container.
// Call Reconcile afterwards to re-adopt running ones.
func New(cfg Config, db *store.DB, imgs ImageService, rts Runtimes, nets Networks, vols Volumes, log *slog.Logger) (*Service, error) {
	if err := db.EnsureBuckets(bucket); err != nil {
		return nil, err
	}
	for _, d := range []string{filepath.Join(cfg.DataRoot, "containers"), filepath.Join(cfg.ExecRoot, "containers")} {
		if err := os.MkdirAll(d, 0o710); err != nil {
			return nil, err
		}
	}
	dataBin, err := trash.Open(filepath.Join(cfg.DataRoot, "trash", "containers"), log)
	if err != nil {
		return nil, err
	}
	execBin, err := trash.Open(filepath.Join(cfg.ExecRoot, "trash", "containers"), log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, db: db, images: imgs, runtimes: rts, net: nets, vols: vols, log: log,
		dataBin: dataBin, execBin: execBin,
		byID: map[string]*entry{}, byName: map[string]string{}, ctx: ctx, cancel: cancel,
		ahead: make(chan struct{}, maxPrepared)}
	err = db.ForEach(bucket, func(k string, v []byte) error {
		var c Container
		if err := json.Unmarshal(v, &c); err != nil {
			log.Error("skipping unreadable container record", "id", k, "err", err)
			return nil
		}
		s.byID[c.ID] = newEntry(c)
		s.byName[c.Name] = c.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// hostGateway is the address "host-gateway" in --add-host stands for.
func (s *Service) hostGateway() netip.Addr {
	if s.cfg.HostGatewayIP.IsValid() {
		return s.cfg.HostGatewayIP
	}
	if s.net != nil {
		return s.net.DefaultGateway()
	}
	return netip.Addr{}
}

// Close stops the service's watchers; containers keep running. What
// removals put in the trash is deleted before it returns.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
	s.discardAllPrepared()
	s.WaitTrash()
}

// WaitTrash blocks until the folders of the containers removed so far are
// deleted from the disk (they left their places when the removal returned).
func (s *Service) WaitTrash() {
	s.dataBin.Wait()
	s.execBin.Wait()
}

// persist writes the record. Caller holds e.mu.
func (s *Service) persist(e *entry) error {
	op, err := store.PutOp(bucket, e.c.ID, &e.c)
	if err == nil {
		err = s.db.Update(store.All(op, e.netRecordOp))
	}
	if err != nil {
		return fmt.Errorf("save container %s: %w", e.c.ID[:12], err)
	}
	e.netRecordOp = nil
	return nil
}

// stateDir is where the container's monitor keeps its sockets and status.
func (s *Service) stateDir(id string) string {
	return filepath.Join(s.cfg.ExecRoot, "containers", id)
}

// lookup resolves a container by full ID, name (with or without "/"), or
// unique ID prefix, in Docker's order.
func (s *Service) lookup(ref string) (*entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ref == "" {
		return nil, errdefs.NotFound("No such container: %s", ref)
	}
	if e, ok := s.byID[ref]; ok {
		return e, nil
	}
	if id, ok := s.byName[strings.TrimPrefix(ref, "/")]; ok {
		return s.byID[id], nil
	}
	var found *entry
	for id, e := range s.byID {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errdefs.Invalid("multiple IDs found with provided prefix: %s", ref)
			}
			found = e
		}
	}
	if found == nil {
		return nil, errdefs.NotFound("No such container: %s", ref)
	}
	return found, nil
}

// all returns every entry, newest first, in a slice shared with the other
// callers until byID changes: read it, never change it.
func (s *Service) all() []*entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.order.Load(); p != nil {
		return *p
	}
	out := make([]*entry, 0, len(s.byID))
	for _, e := range s.byID {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int { return b.c.Created.Compare(a.c.Created) })
	// Stored under s.mu: a change of byID after it clears it.
	s.order.Store(&out)
	return out
}

// ImageUsers lists the containers created from imageID (for rmi conflicts).
func (s *Service) ImageUsers(imageID string) []string {
	var out []string
	for _, e := range s.all() {
		e.mu.Lock()
		if e.c.ImageID == imageID {
			out = append(out, e.c.ID)
		}
		e.mu.Unlock()
	}
	return out
}

// VolumeUsers lists the containers that mount the named volume.
func (s *Service) VolumeUsers(name string) []string {
	var out []string
	for _, e := range s.all() {
		e.mu.Lock()
		for _, mp := range e.c.MountPoints {
			if mp.Type == mounts.TypeVolume && mp.Name == name {
				out = append(out, e.c.ID)
				break
			}
		}
		e.mu.Unlock()
	}
	return out
}

// Counts returns how many containers are running, paused and stopped.
func (s *Service) Counts() (running, paused, stopped int) {
	for _, e := range s.all() {
		e.mu.Lock()
		switch e.c.State.Status {
		case StatusRunning, StatusRestarting:
			running++
		case StatusPaused:
			paused++
		default:
			stopped++
		}
		e.mu.Unlock()
	}
	return
}

// runtimeOf returns the runtime a container was created with.
func (s *Service) runtimeOf(c *Container) (*runtime.Runtime, error) {
	return s.runtimes.Get(c.Runtime)
}

// emit records a container event with Docker's attributes (image, name,
// labels, plus extra).
func (s *Service) emit(c *Container, action evtypes.Action, extra map[string]string) {
	if s.cfg.Events == nil {
		return
	}
	attrs := map[string]string{"image": c.Config.Image, "name": c.Name}
	for k, v := range c.Config.Labels {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	s.cfg.Events.Log(evtypes.ContainerEventType, action, c.ID, attrs)
}
