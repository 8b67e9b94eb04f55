package compose

import (
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

type execOptions struct {
	detach, noTty, privileged bool
	env                       []string
	user, workdir             string
	index                     int
}

// newExecCommand is `compose exec`: `berth exec` on the service's
// container, interactive, with a TTY unless -T or stdin is not a terminal.
func newExecCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Execute a command in a running container",
		Args:  command.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("no-tty") {
				o.noTty = !c.In().IsTerminal()
			}
			ctx := cmd.Context()
			name, _, err := po.projectName(ctx)
			if err != nil {
				return err
			}
			api, err := c.Client()
			if err != nil {
				return err
			}
			ctr, err := serviceContainer(ctx, api, name, args[0], o.index, false)
			if err != nil {
				return err
			}
			var a []string
			switch {
			case o.detach:
				a = append(a, "-d")
			default:
				a = append(a, "-i")
			}
			if !o.noTty && !o.detach {
				a = append(a, "-t")
			}
			if o.privileged {
				a = append(a, "--privileged")
			}
			if o.user != "" {
				a = append(a, "-u", o.user)
			}
			if o.workdir != "" {
				a = append(a, "-w", o.workdir)
			}
			for _, e := range o.env {
				a = append(a, "-e", e)
			}
			a = append(a, "--", ctr.ID)
			return delegate(ctx, c, "exec", append(a, args[1:]...))
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.detach, "detach", "d", false, "Detached mode: Run command in the background")
	f.BoolVarP(&o.noTty, "no-tty", "T", false, "Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to the process")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	f.StringVarP(&o.user, "user", "u", "", "Run the command as this user")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Path to workdir directory for this command")
	f.IntVar(&o.index, "index", 0, "Index of the container if service has multiple replicas")
	return cmd
}
