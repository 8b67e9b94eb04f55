package volumes

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/berth-dev/berth/engine/events"
	evtypes "github.com/moby/moby/api/types/events"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/volume"

	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
)

// bucket of the metadata DB owned by the volume service: name -> record.
const bucket = "volumes"

// AnonymousLabel marks volumes created for `-v /path` and image VOLUMEs, as
// Docker 23+ does; prune removes only these unless all=true.
const AnonymousLabel = "com.docker.volume.anonymous"

// DriverLocal is the only volume driver Berth has.
const DriverLocal = "local"

// record is what the DB keeps of a volume.
type record struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	Labels    map[string]string `json:"labels,omitempty"`
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Service manages the volumes of one data-root. It is safe for concurrent use.
type Service struct {
	dir string // <data-root>/volumes
	db  *store.DB
	log *slog.Logger

	mu     sync.Mutex     // serialises create/remove/mount of any volume
	active map[string]int // name -> users holding a mount (-o device volumes)
	users  Usage          // nil: no container uses any volume
	events *events.Service
}

// Usage says which containers use a volume (the container service answers;
// the daemon binds it once that service exists). Remove refuses volumes it
// names, List's dangling filter and Prune rely on it. It must be fast and
// must not call back into the volume service.
type Usage interface {
	VolumeUsers(volumeName string) []string
}

// UsersFunc is a Usage made of a function.
type UsersFunc func(volumeName string) []string

// VolumeUsers calls f.
func (f UsersFunc) VolumeUsers(name string) []string { return f(name) }

// Options are the volume service's collaborators, fixed at construction.
type Options struct {
	// Log receives warnings; nil discards them.
	Log *slog.Logger
	// Events receives volume create and destroy events; nil: nowhere.
	Events *events.Service
	// Users says which containers use a volume; nil: none does.
	Users Usage
}

// emit records a volume event with dockerd's attributes.
func (s *Service) emit(action evtypes.Action, name string) {
	if s.events != nil {
		s.events.Log(evtypes.VolumeEventType, action, name, map[string]string{"driver": DriverLocal})
	}
}

// New opens the volume service rooted at <root>/volumes with opts'
// collaborators. Records whose folder
// vanished get an empty folder back; folders without a record (a crash
// between mkdir and the DB write) are adopted as plain local volumes, so no
// data is ever lost or orphaned.
func New(root string, db *store.DB, opts Options) (*Service, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		dir:    filepath.Join(root, "volumes"),
		db:     db,
		log:    log,
		active: map[string]int{},
		users:  opts.Users,
		events: opts.Events,
	}
	if err := os.MkdirAll(s.dir, 0o701); err != nil {
		return nil, fmt.Errorf("create volumes folder: %w", err)
	}
	if err := db.EnsureBuckets(bucket); err != nil {
		return nil, err
	}
	// In the background: deleting a big removed volume that a crash
	// interrupted must not delay the daemon's start. Only ".trash-" folders
	// are touched, which no volume name can clash with.
	go s.cleanTrash()
	known := map[string]bool{}
	err := db.ForEach(bucket, func(k string, _ []byte) error {
		known[k] = true
		if err := os.MkdirAll(s.dataPath(k), 0o755); err != nil {
			return fmt.Errorf("restore volume %s: %w", k, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || known[e.Name()] || validateName(e.Name()) != nil || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(s.dataPath(e.Name())); err != nil {
			continue
		}
		log.Info("adopting volume folder without a record", "volume", e.Name())
		rec := &record{Name: e.Name(), Driver: DriverLocal, CreatedAt: time.Now().UTC()}
		if err := db.Put(bucket, rec.Name, rec); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Service) usersOf(name string) []string {
	if s.users == nil {
		return nil
	}
	return s.users.VolumeUsers(name)
}

// Path returns the host folder of a volume's data without checking that the
// volume exists or mounting it (for display, e.g. inspect's Mounts).
func (s *Service) Path(name string) string { return s.dataPath(name) }

func (s *Service) volPath(name string) string  { return filepath.Join(s.dir, name) }
func (s *Service) dataPath(name string) string { return filepath.Join(s.dir, name, "_data") }

func (s *Service) load(name string) (*record, error) {
	var rec record
	if err := s.db.Get(bucket, name, &rec); err != nil {
		if err == store.ErrNotFound {
			return nil, errdefs.NotFound("get %s: no such volume", name)
		}
		return nil, err
	}
	return &rec, nil
}

func (s *Service) all() ([]*record, error) {
	var out []*record
	err := s.db.ForEach(bucket, func(_ string, v []byte) error {
		var rec record
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		out = append(out, &rec)
		return nil
	})
	return out, err
}

// toAPI renders a record in the API's shape.
func (s *Service) toAPI(rec *record) *volume.Volume {
	labels := rec.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	opts := rec.Options
	if opts == nil {
		opts = map[string]string{}
	}
	return &volume.Volume{
		Name:       rec.Name,
		Driver:     rec.Driver,
		Mountpoint: s.dataPath(rec.Name),
		Labels:     labels,
		Options:    opts,
		Scope:      "local",
		CreatedAt:  rec.CreatedAt.Format(time.RFC3339),
	}
}

// Get returns a volume, or errdefs.NotFound("get <name>: no such volume").
func (s *Service) Get(ctx context.Context, name string) (*volume.Volume, error) {
	rec, err := s.load(name)
	if err != nil {
		return nil, err
	}
	return s.toAPI(rec), nil
}
