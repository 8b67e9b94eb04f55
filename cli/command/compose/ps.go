package compose

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/container"
	"github.com/spf13/cobra"
)

func newPsCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var all, quiet, services bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, all)
			if err != nil {
				return err
			}
			switch {
			case quiet:
				for _, ctr := range ctrs {
					fmt.Fprintln(c.Out(), ctr.ID)
				}
				return nil
			case services:
				seen := map[string]bool{}
				for _, ctr := range ctrs {
					if s := ctr.Labels[labelService]; !seen[s] {
						seen[s] = true
						fmt.Fprintln(c.Out(), s)
					}
				}
				return nil
			case format == "json":
				enc := json.NewEncoder(c.Out())
				for _, ctr := range ctrs {
					if err := enc.Encode(map[string]any{"ID": ctr.ID, "Name": canonicalName(ctr), "Image": ctr.Image,
						"Service": ctr.Labels[labelService], "Project": ctr.Labels[labelProject], "State": ctr.State,
						"Status": ctr.Status, "Labels": ctr.Labels}); err != nil {
						return err
					}
				}
				return nil
			case format != "" && format != "table":
				return fmt.Errorf("berth compose ps does not support --format %q yet (table, json)", format)
			}
			w := tabwriter.NewWriter(c.Out(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
			for _, ctr := range ctrs {
				cmdline := ctr.Command
				if len(cmdline) > 20 {
					cmdline = cmdline[:19] + "…"
				}
				fmt.Fprintf(w, "%s\t%s\t%q\t%s\t%s\t%s\t%s\n", canonicalName(ctr), ctr.Image, cmdline,
					ctr.Labels[labelService], ago(ctr.Created), ctr.Status, ports(ctr))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped containers (including those created by the run command)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	cmd.Flags().BoolVar(&services, "services", false, "Display services")
	cmd.Flags().StringVar(&format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}

func ago(created int64) string {
	d := time.Since(time.Unix(created, 0))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func ports(ctr container.Summary) string {
	var out []string
	for _, p := range ctr.Ports {
		if p.PublicPort != 0 {
			ip := p.IP.String()
			if !p.IP.IsValid() {
				ip = "0.0.0.0"
			}
			out = append(out, fmt.Sprintf("%s:%d->%d/%s", ip, p.PublicPort, p.PrivatePort, p.Type))
		} else {
			out = append(out, fmt.Sprintf("%d/%s", p.PrivatePort, p.Type))
		}
	}
	return strings.Join(out, ", ")
}
