package compose

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
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
