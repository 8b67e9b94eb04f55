package containers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/mounts"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/store"
	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/stringid"
	"github.com/moby/moby/api/types/container"
	evtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
)

// CreateOptions is a create request, as the API decodes it.
type CreateOptions struct {
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	// Endpoints come from the request's NetworkingConfig.
	Endpoints map[string]*network.EndpointSettings
	// Platform is the create's "platform" ("linux/arm64"); the image must
	// match it.
	Platform string
	// Pod is set by the CRI server, never from the Docker API: the
	// container joins a pod sandbox's namespaces and host files and logs
	// where kubelet asks.
	Pod *PodOptions
	// Ahead: the caller calls PrepareAhead as create replies; the
	// container's monitor may then be launched while it is created.
	Ahead bool
}

// PodOptions place a container in a CRI pod sandbox.
type PodOptions struct {
	// Namespaces maps an OCI namespace type ("network", "ipc", "uts") to
	// the path of a pinned namespace to join instead of making a new one.
	// With "network" set, Berth's network engine leaves the container alone.
	Namespaces map[string]string
	// HostnamePath, HostsPath, ResolvConfPath are the sandbox's files,
	// bind-mounted as /etc/hostname, /etc/hosts, /etc/resolv.conf ("":
	// not mounted).
	HostnamePath, HostsPath, ResolvConfPath string
	// LogPath, when set, replaces the log driver's own file path.
	LogPath string
}

// Create makes a new container record and its writable layer. Nothing runs
// until Start.
func (s *Service) Create(ctx context.Context, o CreateOptions) (id string, warnings []string, err error) {
	p, err := s.planCreate(ctx, o)
	if err != nil {
		return "", nil, err
	}
	id = stringid.New()
	if p.cfg.Hostname == "" {
		if p.hc.NetworkMode == "host" {
			p.cfg.Hostname, _ = os.Hostname()
		} else {
			p.cfg.Hostname = id[:12]
		}
	}
	s.mergeLogConfig(&p.hc.LogConfig)
	if err := ValidateLogConfig(p.hc.LogConfig.Type, p.hc.LogConfig.Config); err != nil {
		return "", nil, err
	}
	name, release, err := s.reserveName(o.Name, id)
	if err != nil {
		return "", nil, err
	}
	if err := s.prepareLinks(&p.hc, name, p.endpoints); err != nil {
		release()
		return "", nil, err
	}
	c := p.record(id, name, filepath.Join(s.cfg.DataRoot, "containers", id), o.Pod)
	var early *earlyMonitor
	if o.Ahead {
		early = s.launchAtCreate(&c)
	}
	if err := s.materialize(ctx, &c, release, early); err != nil {
		s.dropEarly(c.ID, early)
		return "", nil, err
	}
	s.emit(&c, evtypes.ActionCreate, nil)
	return id, warnings, nil
}

// createPlan is a create request checked and resolved against the image,
// the networks and the runtimes, before anything on the host is touched.
type createPlan struct {
	cfg       container.Config
	hc        container.HostConfig
	img       *images.Image
	endpoints map[string]*network.EndpointSettings
	runtime   string
	args      []string
	mounts    []mounts.MountPoint
}

// planCreate validates the request, resolves its image and merges the
// image's configuration in; every refusal happens here.
func (s *Service) planCreate(ctx context.Context, o CreateOptions) (*createPlan, error) {
	if o.Config == nil {
		return nil, errdefs.Invalid("config cannot be empty in order to create a container")
	}
	p := &createPlan{cfg: *o.Config}
	if o.HostConfig != nil {
		p.hc = *o.HostConfig
	}
	if o.Name != "" && !validName.MatchString(o.Name) {
		return nil, errdefs.Invalid("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	if p.cfg.Image == "" {
		return nil, errdefs.Invalid("no image specified")
	}
	var err error
	if p.img, err = s.images.Resolve(ctx, p.cfg.Image); err != nil {
		return nil, err
	}
	if err := images.MatchPlatform(p.img, p.cfg.Image, o.Platform); err != nil {
		return nil, err
	}
	if err := s.checkHostConfig(ctx, p); err != nil {
		return nil, err
	}
	p.endpoints = map[string]*network.EndpointSettings{}
	for name, ep := range o.Endpoints {
		// The docker CLI names the default network "default".
		if name == "default" {
			name = string(p.hc.NetworkMode)
		}
		p.endpoints[name] = ep
	}
	mergeImageConfig(&p.cfg, p.img)
	// After the merge: an image's WORKDIR is as untrusted as the request's.
	if p.cfg.WorkingDir, err = cleanWorkingDir(p.cfg.WorkingDir); err != nil {
		return nil, err
	}
	p.args = append(append([]string{}, p.cfg.Entrypoint...), p.cfg.Cmd...)
	if len(p.args) == 0 {
		return nil, errdefs.Invalid("no command specified")
	}
	p.mounts, err = mounts.Parse(p.hc.Binds, p.hc.Mounts, p.hc.Tmpfs, p.cfg.Volumes, p.hc.VolumesFrom, s.mountsOf)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkHostConfig validates the host configuration, resolves its network
// mode and picks the runtime (recorded in p.hc.Runtime and p.runtime).
func (s *Service) checkHostConfig(ctx context.Context, p *createPlan) error {
	hc := &p.hc
	if err := validateHostConfig(hc); err != nil {
		return err
	}
	if err := refuseUnapplied(&p.cfg, hc, s.cfg.DataRoot); err != nil {
		return err
	}
	if err := s.resolveNetworkMode(ctx, hc); err != nil {
		return err
	}
	rtName, err := s.chooseRuntime(hc)
	if err != nil {
		return err
	}
	hc.Runtime, p.runtime = rtName, rtName
	if err := s.checkUserns(hc); err != nil {
		return err
	}
	if _, err := runtime.Capabilities(hc); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	return nil
}

// reserveName claims the requested name (or a generated one) for id while
// the slow part of create runs; release gives it back on failure.
func (s *Service) reserveName(requested, id string) (name string, release func(), err error) {
	s.mu.Lock()
	name = strings.TrimPrefix(requested, "/")
	if name == "" {
		name = generateName(func(n string) bool { _, ok := s.byName[n]; return ok })
	} else if other, ok := s.byName[name]; ok {
		s.mu.Unlock()
		return "", nil, errdefs.Conflict("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other)
	}
	s.byName[name] = id
	s.mu.Unlock()
	return name, func() {
		s.mu.Lock()
		if s.byName[name] == id {
			delete(s.byName, name)
		}
		s.mu.Unlock()
	}, nil
}

// record is the new container's record (not yet on disk).
func (p *createPlan) record(id, name, dir string, pod *PodOptions) Container {
	c := Container{
		ID: id, Name: name, Created: time.Now().UTC(),
		Path: p.args[0], Args: p.args[1:],
		Config: &p.cfg, HostConfig: &p.hc, ImageID: p.img.ID, Runtime: p.runtime,
		State:       State{Status: StatusCreated},
		Dir:         dir,
		MountPoints: p.mounts,
		Endpoints:   p.endpoints,
	}
	c.LogPath = logPath(p.hc.LogConfig.Type, dir, id)
	if pod != nil {
		c.Pod = pod
		if pod.LogPath != "" {
			c.LogPath = pod.LogPath
		}
	}
	return c
}

// materialize makes the container on the host: its folder, log folder,
// writable layer and volumes, then persists and indexes it. On failure
// everything it made is removed and the name released. The entry holds
// early, the monitor launched for the container (nil: none).
func (s *Service) materialize(ctx context.Context, c *Container, release func(), early *earlyMonitor) error {
	if err := os.Mkdir(c.Dir, 0o710); err != nil {
		release()
		return err
	}
	cleanup := func() {
		release()
		s.images.RemoveRootfs(context.Background(), c.ID)
		os.RemoveAll(c.Dir)
	}
	steps := []func() error{
		func() error {
			if c.LogPath == "" {
				return nil
			}
			return os.MkdirAll(filepath.Dir(c.LogPath), 0o710)
		},
		// The host files are written by every start (the preparation
		// ahead included), as Docker's are: here only what would make
		// them fail is refused.
		func() error { _, err := renderHosts(c, nil, s.hostGateway()); return err },
		func() error { return mounts.EnsureVolumes(ctx, s.vols, c.MountPoints) },
		// Last: the container's record is committed with its layer's.
		func() error {
			rec, err := store.PutOp(bucket, c.ID, c)
			if err != nil {
				return err
			}
			return s.images.PrepareRootfs(ctx, c.ID, c.ImageID, rec)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			cleanup()
			return err
		}
	}
	e := newEntry(*c)
	e.early = early
	s.mu.Lock()
	s.byID[c.ID] = e
	s.order.Store(nil)
	s.mu.Unlock()
	return nil
}

// mountsOf returns the mount points of another container (--volumes-from).
func (s *Service) mountsOf(ref string) ([]mounts.MountPoint, error) {
	e, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]mounts.MountPoint(nil), e.c.MountPoints...), nil
}

// resolveNetworkMode checks that the network exists and resolves
// "container:<name>" to the other container's full ID.
func (s *Service) resolveNetworkMode(ctx context.Context, hc *container.HostConfig) error {
	mode := string(hc.NetworkMode)
	switch {
	case mode == "bridge" || mode == "none" || mode == "host":
		return nil
	case strings.HasPrefix(mode, "container:"):
		other, err := s.lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return err
		}
		hc.NetworkMode = container.NetworkMode("container:" + other.c.ID)
		return nil
	}
	if s.net == nil {
		return errdefs.Invalid("network %s not found", mode)
	}
	if _, err := s.net.Inspect(ctx, mode, false); err != nil {
		// Not a 404: clients (the docker CLI first) read a 404 from create
		// as "no such image" and go pulling it.
		if errdefs.IsNotFound(err) {
			return errdefs.Invalid("network %s not found", mode)
		}
		return err
	}
	return nil
}

// validateHostConfig rejects what berthd cannot do, with Docker's words.
func validateHostConfig(hc *container.HostConfig) error {
	if mode := string(hc.NetworkMode); mode == "" || mode == "default" {
		hc.NetworkMode = "bridge"
	}
	if err := container.ValidateRestartPolicy(hc.RestartPolicy); err != nil {
		return errdefs.Invalid("%s", err.Error())
	}
	if hc.RestartPolicy.Name == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	if hc.RestartPolicy.Name != container.RestartPolicyDisabled && hc.AutoRemove {
		return errdefs.Invalid("conflicting options: cannot specify both --restart and --rm")
	}
	if hc.PidsLimit != nil && *hc.PidsLimit < 0 {
		hc.PidsLimit = nil
	}
	if hc.Memory != 0 && hc.Memory < 6*1024*1024 {
		return errdefs.Invalid("Minimum memory limit allowed is 6MB")
	}
	if err := checkCgroupParent(hc.CgroupParent); err != nil {
		return err
	}
	devs, err := cleanDevices(hc.Devices)
	if err != nil {
		return err
	}
	hc.Devices = devs
	if err := validateCpusets(hc.CpusetCpus, hc.CpusetMems); err != nil {
		return err
	}
	return nil
}

// mergeImageConfig fills what the request left empty from the image, as
// Docker does: env is image then request; a request entrypoint drops the
// image's cmd.
func mergeImageConfig(cfg *container.Config, img *images.Image) {
	ic := img.Config.Config
	if len(cfg.Entrypoint) == 0 {
		cfg.Entrypoint = ic.Entrypoint
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = ic.Cmd
		}
	}
	// An explicit empty entrypoint ([""]) resets it.
	if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
		cfg.Entrypoint = nil
	}
	cfg.Env = mergeEnv(ic.Env, cfg.Env)
	if len(ic.ExposedPorts) > 0 {
		// The image's EXPOSE (what -P publishes and links announce).
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = network.PortSet{}
		}
		for k := range ic.ExposedPorts {
			if p, err := network.ParsePort(k); err == nil {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ic.WorkingDir
	}
	if cfg.User == "" {
		cfg.User = ic.User
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	if len(ic.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range ic.Labels {
			labels[k] = v
		}
		for k, v := range cfg.Labels {
			labels[k] = v
		}
		cfg.Labels = labels
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	if cfg.Healthcheck == nil && img.Config.Config.Healthcheck != nil {
		h := *img.Config.Config.Healthcheck
		cfg.Healthcheck = (*container.HealthConfig)(&h)
	}
	if len(cfg.Volumes) == 0 && len(ic.Volumes) > 0 {
		cfg.Volumes = map[string]struct{}{}
		for k := range ic.Volumes {
			cfg.Volumes[k] = struct{}{}
		}
	}
	if len(ic.OnBuild) > 0 && len(cfg.OnBuild) == 0 {
		cfg.OnBuild = ic.OnBuild
	}
}

// mergeEnv overlays request env on image env by key, keeping order.
func mergeEnv(base, over []string) []string {
	out := append([]string{}, base...)
	idx := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range over {
		k, _, hasVal := strings.Cut(kv, "=")
		if !hasVal {
			// "-e NAME" without a value is resolved by the client; keep
			// the name out if it reached us unresolved.
			continue
		}
		if i, ok := idx[k]; ok {
			out[i] = kv
		} else {
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
