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
	if o.Config == nil {
		return "", nil, errdefs.Invalid("config cannot be empty in order to create a container")
	}
	cfg := *o.Config
	hc := container.HostConfig{}
	if o.HostConfig != nil {
		hc = *o.HostConfig
	}
	if o.Name != "" && !validName.MatchString(o.Name) {
		return "", nil, errdefs.Invalid("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	if cfg.Image == "" {
		return "", nil, errdefs.Invalid("no image specified")
	}
	img, err := s.images.Resolve(ctx, cfg.Image)
	if err != nil {
		return "", nil, err
	}
	if err := images.MatchPlatform(img, cfg.Image, o.Platform); err != nil {
		return "", nil, err
	}
	if err := validateHostConfig(&hc); err != nil {
		return "", nil, err
	}
	if err := refuseUnapplied(&cfg, &hc, s.cfg.DataRoot); err != nil {
		return "", nil, err
	}
	if err := s.resolveNetworkMode(ctx, &hc); err != nil {
		return "", nil, err
	}
	endpoints := map[string]*network.EndpointSettings{}
	for name, ep := range o.Endpoints {
		// The docker CLI names the default network "default".
		if name == "default" {
			name = string(hc.NetworkMode)
		}
		endpoints[name] = ep
	}
	rtName, err := s.chooseRuntime(&hc)
	if err != nil {
		return "", nil, err
	}
	hc.Runtime = rtName
	if err := s.checkUserns(&hc); err != nil {
		return "", nil, err
	}
	if _, err := runtime.Capabilities(&hc); err != nil {
		return "", nil, errdefs.Invalid("%s", err.Error())
	}
	mergeImageConfig(&cfg, img)
	// After the merge: an image's WORKDIR is as untrusted as the request's.
	if cfg.WorkingDir, err = cleanWorkingDir(cfg.WorkingDir); err != nil {
		return "", nil, err
	}
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		return "", nil, errdefs.Invalid("no command specified")
	}
	mps, err := mounts.Parse(hc.Binds, hc.Mounts, hc.Tmpfs, cfg.Volumes, hc.VolumesFrom, s.mountsOf)
	if err != nil {
		return "", nil, err
	}

	id = stringid.New()
	if cfg.Hostname == "" {
		if hc.NetworkMode == "host" {
			cfg.Hostname, _ = os.Hostname()
		} else {
			cfg.Hostname = id[:12]
		}
	}
	s.mergeLogConfig(&hc.LogConfig)
	if err := ValidateLogConfig(hc.LogConfig.Type, hc.LogConfig.Config); err != nil {
		return "", nil, err
	}

	s.mu.Lock()
	name := strings.TrimPrefix(o.Name, "/")
	if name == "" {
		name = generateName(func(n string) bool { _, ok := s.byName[n]; return ok })
	} else if other, ok := s.byName[name]; ok {
		s.mu.Unlock()
		return "", nil, errdefs.Conflict("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other)
	}
	// Reserve the name while the slow part runs.
	s.byName[name] = id
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if s.byName[name] == id {
			delete(s.byName, name)
		}
		s.mu.Unlock()
	}

	if err := s.prepareLinks(&hc, name, endpoints); err != nil {
		release()
		return "", nil, err
	}
	dir := filepath.Join(s.cfg.DataRoot, "containers", id)
	c := Container{
		ID: id, Name: name, Created: time.Now().UTC(),
		Path: args[0], Args: args[1:],
		Config: &cfg, HostConfig: &hc, ImageID: img.ID, Runtime: rtName,
		State:       State{Status: StatusCreated},
		Dir:         dir,
		MountPoints: mps,
		Endpoints:   endpoints,
	}
	c.LogPath = logPath(hc.LogConfig.Type, dir, id)
	if o.Pod != nil {
		c.Pod = o.Pod
		if o.Pod.LogPath != "" {
			c.LogPath = o.Pod.LogPath
		}
	}
	if err := os.MkdirAll(dir, 0o710); err != nil {
		release()
		return "", nil, err
	}
	cleanup := func() {
		release()
		s.images.RemoveRootfs(context.Background(), id)
		os.RemoveAll(dir)
	}
	if c.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(c.LogPath), 0o710); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	if err := writeHostFiles(&c, nil, s.hostGateway()); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := s.images.PrepareRootfs(ctx, id, img.ID); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := mounts.EnsureVolumes(ctx, s.vols, c.MountPoints); err != nil {
		cleanup()
		return "", nil, err
	}
	e := newEntry(c)
	if err := s.persist(e); err != nil {
		cleanup()
		return "", nil, err
	}
	s.mu.Lock()
	s.byID[id] = e
	s.mu.Unlock()
	s.emit(&c, evtypes.ActionCreate, nil)
	return id, warnings, nil
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
