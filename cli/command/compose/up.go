package compose

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type upOptions struct {
	detach, forceRecreate, noRecreate, noDeps, removeOrphans, noStart, wait bool
	abortOnExit, build, noBuild, quietPull, noColor, noLogPrefix            bool
	exitCodeFrom                                                            string
	scale                                                                   []string
	// beforeStart, when set, is called for each container converge is
	// about to start or leaves running (attached up hooks in there).
	beforeStart func(ctx context.Context, id, name, service string) error
}

func newUpCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return up(cmd.Context(), c, po, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: Run containers in the background")
	f.BoolVar(&o.forceRecreate, "force-recreate", false, "Recreate containers even if their configuration and image haven't changed")
	f.BoolVar(&o.noRecreate, "no-recreate", false, "If containers already exist, don't recreate them")
	f.BoolVar(&o.noDeps, "no-deps", false, "Don't start linked services")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers for services not defined in the Compose file")
	f.BoolVar(&o.wait, "wait", false, "Wait for services to be running|healthy. Implies detached mode")
	f.StringArrayVar(&o.scale, "scale", nil, "Scale SERVICE to NUM instances")
	f.BoolVar(&o.build, "build", false, "Build images before starting containers")
	f.BoolVar(&o.noBuild, "no-build", false, "Don't build an image, even if it's policy")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress information")
	f.BoolVar(&o.abortOnExit, "abort-on-container-exit", false, "Stops all containers if any container was stopped. Incompatible with -d")
	f.BoolVar(&o.noColor, "no-color", false, "Produce monochrome output")
	f.BoolVar(&o.noLogPrefix, "no-log-prefix", false, "Don't print prefix in logs")
	f.StringVar(&o.exitCodeFrom, "exit-code-from", "", "Return the exit code of the selected service container. Implies --abort-on-container-exit")
	return cmd
}

// validate refuses flag combinations as docker compose does.
func (o *upOptions) validate() error {
	if o.exitCodeFrom != "" {
		o.abortOnExit = true
	}
	if o.wait {
		if o.abortOnExit {
			return errors.New("--wait cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch")
		}
		o.detach = true
	}
	if o.detach && o.abortOnExit {
		return errors.New("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch")
	}
	if o.build && o.noBuild {
		return errors.New("--build and --no-build are incompatible")
	}
	if o.forceRecreate && o.noRecreate {
		return errors.New("--force-recreate and --no-recreate are incompatible")
	}
	return nil
}

// replicas is how many containers the service wants.
func replicas(s types.ServiceConfig) int {
	if s.Scale != nil {
		return *s.Scale
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	return 1
}

func up(ctx context.Context, c *command.Cli, po *projectOptions, services []string, o upOptions) error {
	p, err := po.load(ctx, nil)
	if err != nil {
		return err
	}
	if len(services) > 0 {
		if o.noDeps {
			p, err = p.WithSelectedServices(services, types.IgnoreDependencies)
		} else {
			p, err = p.WithSelectedServices(services)
		}
		if err != nil {
			return err
		}
	}
	if err := applyScale(p, o.scale); err != nil {
		return err
	}
	if err := prepare(ctx, c, p, o); err != nil {
		return err
	}
	api, err := c.Client()
	if err != nil {
		return err
	}
	existing, err := projectContainers(ctx, api, p.Name, true)
	if err != nil {
		return err
	}
	if err := handleOrphans(ctx, c, p, existing, o.removeOrphans); err != nil {
		return err
	}
	if o.detach || o.noStart {
		return converge(ctx, c, p, existing, o)
	}
	s, err := newAttachSession(c, api, p, services, o)
	if err != nil {
		return err
	}
	o.beforeStart = s.beforeStart
	return s.wait(converge(ctx, c, p, existing, o))
}

// prepare checks the project and makes what its containers need: every
// check (cycles, refused keys, external networks and volumes) runs before
// anything is created, then images are pulled or built, and the project's
// networks and volumes created.
func prepare(ctx context.Context, c *command.Cli, p *types.Project, o upOptions) error {
	if err := graph.CheckCycle(p); err != nil {
		return err
	}
	for _, s := range p.Services {
		if err := checkSupported(s); err != nil {
			return err
		}
		if s.Image == "" && s.Build == nil {
			return fmt.Errorf("service %q has neither an image nor a build context specified: invalid compose project", s.Name)
		}
	}
	if err := p.CheckContainerNameUnicity(); err != nil {
		return err
	}
	if err := checkFiles(p); err != nil {
		return err
	}
	api, err := c.Client()
	if err != nil {
		return err
	}
	// Check everything external before creating anything.
	if err := checkExternals(ctx, api, p); err != nil {
		return err
	}
	if err := ensureImages(ctx, c, p, o); err != nil {
		return err
	}
	for key, n := range p.Networks {
		if err := ensureNetwork(ctx, api, p, key, n); err != nil {
			return err
		}
	}
	for key, v := range p.Volumes {
		if err := ensureVolume(ctx, api, p, key, v); err != nil {
			return err
		}
	}
	return nil
}

// applyScale sets the replicas of --scale SERVICE=NUM.
func applyScale(p *types.Project, scale []string) error {
	for _, sc := range scale {
		name, num, ok := cutEq(sc)
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 {
			return fmt.Errorf("invalid --scale value %q, expected SERVICE=NUM", sc)
		}
		s, err := p.GetService(name)
		if err != nil {
			return err
		}
		s.Scale = &n
		if s.Deploy != nil {
			s.Deploy.Replicas = &n
		}
		p.Services[name] = s
	}
	return nil
}

// checkExternals makes sure the external networks and volumes exist.
func checkExternals(ctx context.Context, api client.APIClient, p *types.Project) error {
	for _, n := range p.Networks {
		if n.External {
			if _, err := api.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{}); err != nil {
				if errdefs.IsNotFound(err) {
					return fmt.Errorf("network %s declared as external, but could not be found", n.Name)
				}
				return err
			}
		}
	}
	for _, v := range p.Volumes {
		if v.External {
			if _, err := api.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{}); err != nil {
				if errdefs.IsNotFound(err) {
					return fmt.Errorf("external volume %q not found", v.Name)
				}
				return err
			}
		}
	}
	return nil
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func ensureImages(ctx context.Context, c *command.Cli, p *types.Project, o upOptions) error {
	api, _ := c.Client()
	seen := map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		img := imageName(p, s)
		if seen[img] {
			continue
		}
		seen[img] = true
		_, err := api.ImageInspect(ctx, img)
		missing := err != nil && errdefs.IsNotFound(err)
		if err != nil && !missing {
			return err
		}
		if s.Build != nil {
			if o.build || s.PullPolicy == types.PullPolicyBuild || (missing && !o.noBuild) {
				if err := buildService(ctx, c, p, s, buildOptions{quiet: o.quietPull}); err != nil {
					return err
				}
				continue
			}
			if missing {
				return fmt.Errorf("image %s not found and --no-build given", img)
			}
			continue
		}
		if s.PullPolicy == types.PullPolicyNever && missing {
			return fmt.Errorf("image %s not found and pull_policy is never", img)
		}
		if !missing && s.PullPolicy != types.PullPolicyAlways {
			continue
		}
		if err := pullImage(ctx, c, name, img, o.quietPull); err != nil {
			return err
		}
	}
	return nil
}

func projectFilter(project string) client.Filters {
	return make(client.Filters).Add("label", labelProject+"="+project)
}

// projectContainers lists the project's service containers (one-off run
// containers excluded), sorted by service and number.
func projectContainers(ctx context.Context, api *client.Client, project string, all bool) ([]container.Summary, error) {
	res, err := api.ContainerList(ctx, client.ContainerListOptions{All: all, Filters: projectFilter(project).Add("label", labelOneoff+"=False")})
	if err != nil {
		return nil, err
	}
	items := res.Items
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].Labels, items[j].Labels
		if a[labelService] != b[labelService] {
			return a[labelService] < b[labelService]
		}
		na, _ := strconv.Atoi(a[labelNumber])
		nb, _ := strconv.Atoi(b[labelNumber])
		return na < nb
	})
	return items, nil
}

func canonicalName(ctr container.Summary) string {
	if len(ctr.Names) == 0 {
		return ctr.ID[:12]
	}
	n := ctr.Names[0]
	for _, x := range ctr.Names {
		if len(x) < len(n) {
			n = x
		}
	}
	if len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	return n
}

func handleOrphans(ctx context.Context, c *command.Cli, p *types.Project, existing []container.Summary, remove bool) error {
	var orphans []container.Summary
	for _, ctr := range existing {
		if _, ok := p.Services[ctr.Labels[labelService]]; ok {
			continue
		}
		if _, ok := p.DisabledServices[ctr.Labels[labelService]]; ok {
			continue
		}
		orphans = append(orphans, ctr)
	}
	if len(orphans) == 0 {
		return nil
	}
	if !remove {
		fmt.Fprintf(c.Err(), "WARN[0000] Found orphan containers (%s) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n", names(orphans))
		return nil
	}
	for _, ctr := range orphans {
		if err := removeContainer(ctx, c, ctr, nil); err != nil {
			return err
		}
	}
	return nil
}

func names(cs []container.Summary) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ", "
		}
		s += canonicalName(c)
	}
	return s
}

func removeContainer(ctx context.Context, c *command.Cli, ctr container.Summary, timeout *int) error {
	api, _ := c.Client()
	name := canonicalName(ctr)
	fmt.Fprintf(c.Err(), " Container %s Stopping\n", name)
	if _, err := api.ContainerStop(ctx, ctr.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	fmt.Fprintf(c.Err(), " Container %s Removing\n", name)
	if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	fmt.Fprintf(c.Err(), " Container %s Removed\n", name)
	return nil
}

func ensureNetwork(ctx context.Context, api *client.Client, p *types.Project, key string, n types.NetworkConfig) error {
	if n.External {
		return nil
	}
	if _, err := api.NetworkInspect(ctx, n.Name, client.NetworkInspectOptions{}); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	labels := map[string]string{}
	for k, v := range n.Labels {
		labels[k] = v
	}
	labels[labelProject] = p.Name
	labels[labelNetwork] = key
	labels[labelVersion] = composeVersion
	nc := n
	nc.CustomLabels = nil
	if h, err := jsonHash(&nc); err == nil {
		labels[labelConfigHash] = h
	}
	opts := client.NetworkCreateOptions{
		Driver: n.Driver, Options: n.DriverOpts, Labels: labels, Internal: n.Internal,
		Attachable: n.Attachable, EnableIPv4: n.EnableIPv4, EnableIPv6: n.EnableIPv6,
	}
	if len(n.Ipam.Config) > 0 || n.Ipam.Driver != "" {
		ipam, err := convertIPAM(n.Ipam)
		if err != nil {
			return err
		}
		opts.IPAM = ipam
	}
	_, err := api.NetworkCreate(ctx, n.Name, opts)
	return err
}

func ensureVolume(ctx context.Context, api *client.Client, p *types.Project, key string, v types.VolumeConfig) error {
	if v.External {
		return nil
	}
	if _, err := api.VolumeInspect(ctx, v.Name, client.VolumeInspectOptions{}); err == nil {
		return nil
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	labels := map[string]string{}
	for k, val := range v.Labels {
		labels[k] = val
	}
	labels[labelProject] = p.Name
	labels[labelVolume] = key
	labels[labelVersion] = composeVersion
	vc := v
	vc.CustomLabels = nil
	if vc.Driver == "" {
		vc.Driver = "local"
	}
	if h, err := jsonHash(vc); err == nil {
		labels[labelConfigHash] = h
	}
	_, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: v.Name, Driver: v.Driver, DriverOpts: v.DriverOpts, Labels: labels})
	return err
}

// converge brings every service to its desired containers: services start
// in parallel, each once its dependencies meet their condition.
func converge(ctx context.Context, c *command.Cli, p *types.Project, existing []container.Summary, o upOptions) error {
	api, _ := c.Client()
	byService := map[string][]container.Summary{}
	for _, ctr := range existing {
		byService[ctr.Labels[labelService]] = append(byService[ctr.Labels[labelService]], ctr)
	}
	done := map[string]chan struct{}{}
	errs := map[string]error{}
	var mu sync.Mutex
	for name := range p.Services {
		done[name] = make(chan struct{})
	}
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(c.Err(), format, a...)
	}
	var wg sync.WaitGroup
	for name, s := range p.Services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[name])
			err := func() error {
				for dep, d := range s.DependsOn {
					ch, ok := done[dep]
					if !ok {
						continue // not selected (--no-deps) or optional
					}
					<-ch
					mu.Lock()
					derr := errs[dep]
					mu.Unlock()
					if derr != nil {
						return fmt.Errorf("dependency %s failed: %w", dep, derr)
					}
					if err := waitCondition(ctx, api, p.Name, dep, d.Condition); err != nil {
						return err
					}
				}
				return convergeService(ctx, api, p, s, byService[name], o, say)
			}()
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	var all []error
	for _, name := range p.ServiceNames() {
		if errs[name] != nil {
			all = append(all, errs[name])
		}
	}
	if len(all) > 0 {
		return errors.Join(all...)
	}
	if o.wait {
		for _, name := range p.ServiceNames() {
			cond := types.ServiceConditionStarted
			if p.Services[name].HealthCheck != nil && !p.Services[name].HealthCheck.Disable {
				cond = types.ServiceConditionHealthy
			}
			if err := waitCondition(ctx, api, p.Name, name, cond); err != nil {
				return err
			}
		}
	}
	return nil
}

func convergeService(ctx context.Context, api *client.Client, p *types.Project, s types.ServiceConfig, have []container.Summary, o upOptions, say func(string, ...any)) error {
	hash, err := ServiceHash(s)
	if err != nil {
		return err
	}
	want := replicas(s)
	used := map[int]bool{}
	// a container of an older image (rebuilt or pulled since) is recreated,
	// as compose does by its com.docker.compose.image label
	imageID := ""
	if img, err := api.ImageInspect(ctx, imageName(p, s)); err == nil {
		imageID = img.ID
	}
	for _, ctr := range have {
		n, _ := strconv.Atoi(ctr.Labels[labelNumber])
		name := canonicalName(ctr)
		if n > want || n < 1 || used[n] {
			say(" Container %s Stopping\n", name)
			if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			say(" Container %s Removed\n", name)
			continue
		}
		used[n] = true
		stale := ctr.Labels[labelConfigHash] != hash || (imageID != "" && ctr.Labels[labelImage] != imageID)
		recreate := !o.noRecreate && (o.forceRecreate || stale)
		if recreate {
			say(" Container %s Recreate\n", name)
			timeout := stopTimeout(s)
			if _, err := api.ContainerStop(ctx, ctr.ID, client.ContainerStopOptions{Timeout: timeout}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			if _, err := api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			if err := createAndStart(ctx, api, p, s, n, hash, o, say); err != nil {
				return err
			}
			say(" Container %s Recreated\n", name)
			continue
		}
		if !o.noStart && o.beforeStart != nil {
			if err := o.beforeStart(ctx, ctr.ID, name, s.Name); err != nil {
				return err
			}
		}
		if ctr.State != container.StateRunning && !o.noStart {
			say(" Container %s Starting\n", name)
			if _, err := api.ContainerStart(ctx, ctr.ID, client.ContainerStartOptions{}); err != nil {
				return err
			}
			say(" Container %s Started\n", name)
		} else {
			say(" Container %s Running\n", name)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, want)
	for n := 1; n <= want; n++ {
		if used[n] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- createAndStart(ctx, api, p, s, n, hash, o, say)
		}()
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopTimeout(s types.ServiceConfig) *int {
	if s.StopGracePeriod == nil {
		return nil
	}
	t := int(time.Duration(*s.StopGracePeriod).Seconds())
	return &t
}

func createAndStart(ctx context.Context, api *client.Client, p *types.Project, s types.ServiceConfig, n int, hash string, o upOptions, say func(string, ...any)) error {
	s, err := resolveServiceRefs(ctx, api, p.Name, s)
	if err != nil {
		return err
	}
	opts, err := createOptions(p, s, n, hash)
	if err != nil {
		return err
	}
	if img, err := api.ImageInspect(ctx, imageName(p, s)); err == nil {
		opts.Config.Labels[labelImage] = img.ID
	}
	say(" Container %s Creating\n", opts.Name)
	res, err := api.ContainerCreate(ctx, opts)
	if err != nil {
		return fmt.Errorf("Error response from daemon: %w", err)
	}
	say(" Container %s Created\n", opts.Name)
	if o.noStart {
		return nil
	}
	if o.beforeStart != nil {
		if err := o.beforeStart(ctx, res.ID, opts.Name, s.Name); err != nil {
			return err
		}
	}
	say(" Container %s Starting\n", opts.Name)
	if _, err := api.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		return err
	}
	say(" Container %s Started\n", opts.Name)
	return nil
}

// waitCondition blocks until every container of service meets a
// depends_on condition, polling the engine's state.
func waitCondition(ctx context.Context, api *client.Client, project, service, cond string) error {
	for {
		res, err := api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: projectFilter(project).Add("label", labelService+"="+service).Add("label", labelOneoff+"=False")})
		if err != nil {
			return err
		}
		ok := true
		for _, ctr := range res.Items {
			insp, err := api.ContainerInspect(ctx, ctr.ID, client.ContainerInspectOptions{})
			if err != nil {
				return err
			}
			st := insp.Container.State
			name := canonicalName(ctr)
			switch cond {
			case types.ServiceConditionHealthy:
				if st.Health == nil {
					return fmt.Errorf("container %s has no healthcheck configured", name)
				}
				switch st.Health.Status {
				case container.Healthy:
				case container.Unhealthy:
					return fmt.Errorf("dependency failed to start: container %s is unhealthy", name)
				default:
					ok = false
				}
				if !st.Running && st.Health.Status != container.Healthy {
					return fmt.Errorf("dependency failed to start: container %s exited (%d)", name, st.ExitCode)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if st.Running || st.Status == container.StateCreated {
					ok = false
				} else if st.ExitCode != 0 {
					return fmt.Errorf("service %q didn't complete successfully: exit %d", service, st.ExitCode)
				}
			default:
				if !st.Running && st.Status != container.StateExited {
					ok = false
				}
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
