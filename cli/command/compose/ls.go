package compose

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

func newLsCommand(c *command.Cli) *cobra.Command {
	var all, quiet bool
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List running compose projects",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.Client()
			if err != nil {
				return err
			}
			res, err := api.ContainerList(cmd.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelProject)})
			if err != nil {
				return err
			}
			type proj struct {
				states map[string]int
				files  string
			}
			projects := map[string]*proj{}
			for _, ctr := range res.Items {
				name := ctr.Labels[labelProject]
				pr := projects[name]
				if pr == nil {
					pr = &proj{states: map[string]int{}}
					projects[name] = pr
				}
				pr.states[string(ctr.State)]++
				if pr.files == "" {
					pr.files = ctr.Labels[labelConfigFiles]
				}
			}
			var keys []string
			for k, pr := range projects {
				if all || pr.states["running"] > 0 {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			if quiet {
				for _, k := range keys {
					fmt.Fprintln(c.Out(), k)
				}
				return nil
			}
			w := tabwriter.NewWriter(c.Out(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tSTATUS\tCONFIG FILES")
			for _, k := range keys {
				pr := projects[k]
				var st []string
				for s, n := range pr.states {
					st = append(st, fmt.Sprintf("%s(%d)", s, n))
				}
				sort.Strings(st)
				fmt.Fprintf(w, "%s\t%s\t%s\n", k, strings.Join(st, ", "), pr.files)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all stopped Compose projects")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display project names")
	return cmd
}
