package system

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/formatter"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/moby/moby/api/types/events"
	"github.com/spf13/cobra"
)

// NewEventsCommand is `events` / `system events`.
func NewEventsCommand(cli *command.Cli) *cobra.Command {
	var (
		since, until, format string
		filters              []string
	)
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd.Context(), cli, since, until, format, filters)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "Show all events created since timestamp")
	f.StringVar(&until, "until", "", "Stream events until this timestamp")
	f.VarP(opts.NewListOpts(&filters, "filter"), "filter", "f", "Filter output based on conditions provided")
	f.StringVar(&format, "format", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates")
	return cmd
}

func runEvents(ctx context.Context, cli *command.Cli, since, until, format string, filterValues []string) error {
	filters, err := opts.ParseFilters(filterValues)
	if err != nil {
		return err
	}
	var exec func(io.Writer, events.Message) error
	if format == "" {
		exec = printEvent
	} else {
		f := format
		if f == formatter.JSONFormatKey {
			f = formatter.JSONFormat
		}
		tmpl, err := formatter.NewTemplate(f)
		if err != nil {
			return command.StatusError{Status: "Template parsing error: " + err.Error(), StatusCode: 64}
		}
		exec = func(w io.Writer, m events.Message) error {
			if err := tmpl.Execute(w, m); err != nil {
				return err
			}
			_, err := fmt.Fprintln(w)
			return err
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	res := api.Events(ctx, client.EventsListOptions{Since: since, Until: until, Filters: filters})
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return nil
			}
			if err := exec(cli.Out(), m); err != nil {
				return err
			}
		case err := <-res.Err:
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// printEvent writes docker's default line:
// "2024-01-02T15:04:05.000000000Z container start <id> (image=busybox, name=x)".
func printEvent(w io.Writer, m events.Message) error {
	if m.TimeNano != 0 {
		fmt.Fprintf(w, "%s ", time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00"))
	} else if m.Time != 0 {
		fmt.Fprintf(w, "%s ", time.Unix(m.Time, 0).Format("2006-01-02T15:04:05.000000000Z07:00"))
	}
	fmt.Fprintf(w, "%s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(w, " (%s)", strings.Join(attrs, ", "))
	}
	_, err := fmt.Fprint(w, "\n")
	return err
}
