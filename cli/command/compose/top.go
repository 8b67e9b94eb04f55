package compose

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/spf13/cobra"
)

// newTopCommand is `compose top`: the processes of the services' running
// containers in one table led by SERVICE and # (the replica number), CMD
// last, as docker compose prints it.
func newTopCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICES...]",
		Short: "Display the running processes",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, false)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			header := []string{"SERVICE", "#"}
			col := map[string]int{}
			var rows []map[string]string
			for _, ctr := range ctrs {
				top, err := api.ContainerTop(cmd.Context(), ctr.ID, client.ContainerTopOptions{})
				if err != nil {
					return err
				}
				for _, proc := range top.Processes {
					row := map[string]string{"SERVICE": ctr.Labels[labelService], "#": ctr.Labels[labelNumber]}
					for i, title := range top.Titles {
						if _, ok := col[title]; !ok && title != "CMD" {
							col[title] = len(header)
							header = append(header, title)
						}
						if i < len(proc) {
							row[title] = proc[i]
						}
					}
					rows = append(rows, row)
				}
			}
			if len(rows) == 0 {
				return nil
			}
			header = append(header, "CMD")
			w := tabwriter.NewWriter(c.Out(), 4, 1, 2, ' ', 0)
			fmt.Fprintln(w, strings.Join(header, "\t"))
			for _, row := range rows {
				cells := make([]string, len(header))
				for i, h := range header {
					if v, ok := row[h]; ok {
						cells[i] = v
					} else {
						cells[i] = "-"
					}
				}
				fmt.Fprintln(w, strings.Join(cells, "\t"))
			}
			return w.Flush()
		},
	}
}
