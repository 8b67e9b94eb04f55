package volumes

import (
	"context"
	"fmt"
	evtypes "github.com/moby/moby/api/types/events"
	"maps"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/moby/moby/api/types/volume"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/protected"
	"github.com/berth-dev/berth/internal/stringid"
)

// nameChars is Docker's rule for local volume names.
const nameChars = `[a-zA-Z0-9][a-zA-Z0-9_.-]`

// maxNameLen: a volume's folder is named after it, and a file name has at
// most 255 bytes.
const maxNameLen = 255

var validName = regexp.MustCompile(`^` + nameChars + `+$`)

// validateName applies the local driver's naming rule, with Docker's wording
// (a relative host path given to -v ends up here).
func validateName(name string) error {
	if len(name) == 1 {
		return errdefs.Invalid("volume name is too short, names should be at least two alphanumeric characters")
	}
	if len(name) > maxNameLen {
		return errdefs.Invalid("volume name is too long (%d bytes): names can be at most %d bytes", len(name), maxNameLen)
	}
	if !validName.MatchString(name) {
		return errdefs.Invalid("%q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path", name, nameChars)
	}
	return nil
}

// ValidateName reports whether name is acceptable to the local driver, with
// Docker's messages; mounts.Parse uses it for `-v name:/path`.
func ValidateName(name string) error { return validateName(name) }

// validateOptions checks the local driver's -o options: only type, device and
// o; type and device go together.
func validateOptions(opts map[string]string) error {
	for k := range opts {
		switch k {
		case "type", "device", "o":
		case "size":
			return errdefs.Invalid("quota size requested but no quota support")
		default:
			return errdefs.Invalid("invalid option: %q", k)
		}
	}
	t, d := opts["type"], opts["device"]
	if t == "" && d != "" {
		return errdefs.Invalid("missing required option: \"type\"")
	}
	if t != "" && d == "" {
		return errdefs.Invalid("missing required option: \"device\"")
	}
	if t == "" && opts["o"] != "" {
		return errdefs.Invalid("missing required option: \"type\"")
	}
	if err := checkHostPaths(opts); err != nil {
		return errdefs.Invalid("%v", err)
	}
	return nil
}

// hostPaths lists the host paths a device volume's options make the mount
// read: the device of a bind mount, and overlay's lowerdir, upperdir and
// workdir. Another filesystem's device (a block device, "tmpfs", an NFS
// export) is not a host folder.
func hostPaths(opts map[string]string) []string {
	var ps []string
	flags, data := parseMountOptions(opts["o"])
	if flags&unix.MS_BIND != 0 || opts["type"] == "none" || opts["type"] == "bind" || opts["type"] == "rbind" {
		ps = append(ps, opts["device"])
	}
	for _, w := range strings.Split(data, ",") {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "lowerdir":
			ps = append(ps, strings.Split(v, ":")...)
		case "upperdir", "workdir":
			ps = append(ps, v)
		}
	}
	return ps
}

// checkHostPaths refuses a device volume that would expose the engine's own
// folders (the same rule as for bind mounts); it runs at create and again,
// symlinks resolved, right before mounting.
func checkHostPaths(opts map[string]string) error {
	for _, p := range hostPaths(opts) {
		if p == "" {
			continue
		}
		if err := protected.Check(p); err != nil {
			return fmt.Errorf("volume device %w", err)
		}
	}
	return nil
}

// Create makes a volume. An empty name gets a random 64-hex name. Creating a
// name that exists returns the existing volume (Docker's behaviour), unless
// it has another driver. Only the "local" driver exists; its options are
// type/device/o as for mount(8), applied at first use.
func (s *Service) Create(ctx context.Context, req volume.CreateRequest) (*volume.Volume, error) {
	name := req.Name
	if name == "" {
		name = stringid.New()
	}
	driver := req.Driver
	if driver == "" {
		driver = DriverLocal
	}
	if driver != DriverLocal {
		return nil, errdefs.NotFound("create %s: error looking up volume plugin %s: plugin %q not found", name, driver, driver)
	}
	if err := validateName(name); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if err := validateOptions(req.DriverOpts); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, err := s.load(name); err == nil {
		if rec.Driver != driver {
			return nil, errdefs.Conflict("create %s: a volume with the name %s already exists with driver %q", name, name, rec.Driver)
		}
		return s.toAPI(rec), nil
	} else if !errdefs.IsNotFound(err) {
		return nil, err
	}
	if err := os.MkdirAll(s.dataPath(name), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	rec := &record{
		Name:      name,
		Driver:    driver,
		Labels:    maps.Clone(req.Labels),
		Options:   maps.Clone(req.DriverOpts),
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	if err := s.db.Put(bucket, name, rec); err != nil {
		os.RemoveAll(s.volPath(name))
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	s.log.Debug("volume created", "name", name, "anonymous", isAnonymous(rec))
	s.emit(evtypes.ActionCreate, name)
	return s.toAPI(rec), nil
}

func isAnonymous(rec *record) bool {
	_, ok := rec.Labels[AnonymousLabel]
	return ok
}
