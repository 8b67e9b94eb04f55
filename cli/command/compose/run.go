package compose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/mattn/go-shellwords"
	"github.com/spf13/cobra"
)

type runOptions struct {
	detach, rm, noTty, tty, interactive, servicePorts, noDeps bool
	name, entrypoint, user, workdir                           string
	env, labels                                               []string
}

// newRunCommand is `compose run`: a one-off container of a service
// (labelled oneoff=True, named project-service-run-<id>), its dependencies
// started first, then attached like `berth run`.
func newRunCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.tty && o.noTty {
				return errors.New("--tty and --no-tty can't be used together")
			}
			if !cmd.Flags().Changed("no-tty") && !cmd.Flags().Changed("tty") {
				o.noTty = !c.In().IsTerminal()
			}
			if o.tty {
				o.noTty = false
			}
			return runOneOff(cmd.Context(), c, po, args[0], args[1:], cmd.Flags().Changed("entrypoint"), o)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.detach, "detach", "d", false, "Run container in background and print container ID")
	f.BoolVar(&o.rm, "rm", false, "Automatically remove the container when it exits")
	f.BoolVarP(&o.noTty, "no-tty", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&o.interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.servicePorts, "service-ports", "P", false, "Run command with all service's ports enabled and mapped to the host")
	f.BoolVar(&o.noDeps, "no-deps", false, "Don't start linked services")
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	f.StringVarP(&o.user, "user", "u", "", "Run as specified username or uid")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Add or override a label")
	return cmd
}

func runOneOff(ctx context.Context, c *command.Cli, po *projectOptions, service string, cmdArgs []string, entrypointSet bool, o runOptions) error {
	p, err := po.load(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := p.GetService(service); err != nil {
		return fmt.Errorf("no such service: %s", service)
	}
	opts := []types.DependencyOption{}
	if o.noDeps {
		opts = append(opts, types.IgnoreDependencies)
	}
	if p, err = p.WithSelectedServices([]string{service}, opts...); err != nil {
		return err
	}
	if err := prepare(ctx, c, p, upOptions{}); err != nil {
		return err
	}
	api, err := c.Client()
	if err != nil {
		return err
	}
	s := p.Services[service]
	if !o.noDeps {
		if err := startDependencies(ctx, c, api, p, service, s); err != nil {
			return err
		}
	}
	if err := applyRunOptions(p, &s, cmdArgs, entrypointSet, o); err != nil {
		return err
	}
	id, err := createOneOff(ctx, api, p, s, o)
	if err != nil {
		return err
	}
	if o.detach {
		if _, err := api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return err
		}
		fmt.Fprintln(c.Out(), id)
		return nil
	}
	a := []string{"-a"}
	if o.interactive {
		a = append(a, "-i")
	}
	return delegate(ctx, c, "start", append(a, id))
}

// startDependencies brings up the services s depends on (as up -d does) and
// waits for each one's condition.
func startDependencies(ctx context.Context, c *command.Cli, api *client.Client, p *types.Project, service string, s types.ServiceConfig) error {
	deps := p.WithServicesDisabled(service)
	if len(deps.Services) > 0 {
		existing, err := projectContainers(ctx, api, p.Name, true)
		if err != nil {
			return err
		}
		if err := converge(ctx, c, deps, existing, upOptions{detach: true}); err != nil {
			return err
		}
	}
	for dep, d := range s.DependsOn {
		if _, ok := deps.Services[dep]; ok {
			if err := waitCondition(ctx, api, p.Name, dep, d.Condition); err != nil {
				return err
			}
		}
	}
	return nil
}

// createOneOff creates the one-off container of s, attached unless
// detached; it returns its ID.
func createOneOff(ctx context.Context, api *client.Client, p *types.Project, s types.ServiceConfig, o runOptions) (string, error) {
	hash, err := ServiceHash(s)
	if err != nil {
		return "", err
	}
	if s, err = resolveServiceRefs(ctx, api, p.Name, s); err != nil {
		return "", err
	}
	cc, err := createOptions(p, s, 0, hash)
	if err != nil {
		return "", err
	}
	if img, err := api.ImageInspect(ctx, imageName(p, s)); err == nil {
		cc.Config.Labels[labelImage] = img.ID
	}
	cc.HostConfig.AutoRemove = o.rm
	attach := !o.detach
	cc.Config.AttachStdin = attach && o.interactive
	cc.Config.AttachStdout, cc.Config.AttachStderr = attach, attach
	cc.Config.StdinOnce = attach && o.interactive
	created, err := api.ContainerCreate(ctx, cc)
	if err != nil {
		return "", fmt.Errorf("Error response from daemon: %w", err)
	}
	return created.ID, nil
}

// applyRunOptions turns the service into its one-off variant as docker
// compose does: no restart policy, no published ports unless
// --service-ports, the command line's overrides.
func applyRunOptions(p *types.Project, s *types.ServiceConfig, cmdArgs []string, entrypointSet bool, o runOptions) error {
	slug := make([]byte, 32)
	if _, err := rand.Read(slug); err != nil {
		return err
	}
	id := hex.EncodeToString(slug)
	s.ContainerName = o.name
	if s.ContainerName == "" {
		s.ContainerName = fmt.Sprintf("%s-%s-run-%s", p.Name, s.Name, id[:12])
	}
	s.Tty = !o.noTty && !o.detach
	s.StdinOpen = o.interactive
	if len(cmdArgs) > 0 {
		s.Command = cmdArgs
	}
	if entrypointSet {
		ep, err := shellwords.Parse(o.entrypoint)
		if err != nil {
			return fmt.Errorf("invalid --entrypoint %q: %w", o.entrypoint, err)
		}
		s.Entrypoint = ep
		if len(cmdArgs) == 0 {
			s.Command = []string{}
		}
	}
	if o.user != "" {
		s.User = o.user
	}
	if o.workdir != "" {
		s.WorkingDir = o.workdir
	}
	if len(o.env) > 0 {
		override := types.NewMappingWithEquals(o.env).Resolve(func(k string) (string, bool) {
			v, ok := p.Environment[k]
			return v, ok
		}).RemoveEmpty()
		if s.Environment == nil {
			s.Environment = types.MappingWithEquals{}
		}
		s.Environment.OverrideBy(override)
	}
	for _, l := range o.labels {
		k, v, ok := cutEq(l)
		if !ok {
			return errors.New("label must be set as KEY=VALUE")
		}
		s.Labels = s.Labels.Add(k, v)
	}
	if !o.servicePorts {
		s.Ports = nil
	}
	s.Restart = ""
	if s.Deploy != nil {
		d := *s.Deploy
		d.RestartPolicy = nil
		s.Deploy = &d
	}
	one := 1
	s.Scale = &one
	labels := map[string]string{}
	for k, v := range s.CustomLabels {
		labels[k] = v
	}
	labels[labelOneoff] = "True"
	labels[labelSlug] = id
	s.CustomLabels = labels
	return nil
}
