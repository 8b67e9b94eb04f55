package compose

import (
	"errors"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// newCpCommand is `compose cp`: `berth cp` with SERVICE:PATH resolved to
// the service's container (--index picks a replica).
func newCpCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var index int
	var archive, followLink, all bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files/folders between a service container and the local filesystem",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all {
				return errors.New("berth compose cp does not support --all: name one replica with --index")
			}
			name, _, err := po.projectName(cmd.Context())
			if err != nil {
				return err
			}
			api, err := c.Client()
			if err != nil {
				return err
			}
			src, dst := args[0], args[1]
			sSvc, sPath, sOK := splitServicePath(src)
			dSvc, dPath, dOK := splitServicePath(dst)
			switch {
			case sOK && dOK:
				return errors.New("copying between services is not supported")
			case !sOK && !dOK:
				return errors.New("unknown copy direction")
			}
			svc := sSvc
			if dOK {
				svc = dSvc
			}
			ctr, err := serviceContainer(cmd.Context(), api, name, svc, index, true)
			if err != nil {
				return err
			}
			if sOK {
				src = ctr.ID + ":" + sPath
			} else {
				dst = ctr.ID + ":" + dPath
			}
			var a []string
			if archive {
				a = append(a, "-a")
			}
			if followLink {
				a = append(a, "-L")
			}
			return delegate(cmd.Context(), c, "cp", append(a, "--", src, dst))
		},
	}
	f := cmd.Flags()
	f.IntVar(&index, "index", 0, "Index of the container if service has multiple replicas")
	f.BoolVarP(&archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	f.BoolVar(&all, "all", false, "Include containers created by the run command")
	return cmd
}

// splitServicePath splits SERVICE:PATH; a local path (absolute, relative
// with a slash before any colon, or "-") is not one.
func splitServicePath(arg string) (string, string, bool) {
	if arg == "-" || strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg, false
	}
	svc, p, ok := strings.Cut(arg, ":")
	if !ok || strings.Contains(svc, "/") {
		return "", arg, false
	}
	return svc, p, true
}
