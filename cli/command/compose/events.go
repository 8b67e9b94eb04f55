package compose

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	"github.com/moby/moby/api/types/events"
	"github.com/spf13/cobra"
)

// newEventsCommand is `compose events`: the engine's container events for
// the project's service containers, in compose's line or --json format.
func newEventsCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var asJSON bool
	var since, until string
	cmd := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Receive real time events from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, _, err := po.projectName(cmd.Context())
			if err != nil {
				return err
			}
			api, err := c.Client()
			if err != nil {
				return err
			}
			res := api.Events(cmd.Context(), client.EventsListOptions{Filters: projectFilter(name), Since: since, Until: until})
			for {
				select {
				case m, ok := <-res.Messages:
					if !ok {
						return nil
					}
					if err := printEvent(c, m, args, asJSON); err != nil {
						return err
					}
				case err := <-res.Err:
					if errors.Is(err, io.EOF) { // --until reached
						return nil
					}
					return err
				}
			}
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "Output events as a stream of json objects")
	f.StringVar(&since, "since", "", "Show all events created since timestamp")
	f.StringVar(&until, "until", "", "Stream events until this timestamp")
	return cmd
}

func printEvent(c *command.Cli, m events.Message, services []string, asJSON bool) error {
	if m.Type != events.ContainerEventType || m.Actor.Attributes[labelOneoff] == "True" {
		return nil
	}
	service := m.Actor.Attributes[labelService]
	if len(services) > 0 && !slices.Contains(services, service) {
		return nil
	}
	attrs := map[string]string{}
	for k, v := range m.Actor.Attributes {
		if !strings.HasPrefix(k, "com.docker.compose.") {
			attrs[k] = v
		}
	}
	ts := time.Unix(m.Time, 0)
	if m.TimeNano != 0 {
		ts = time.Unix(0, m.TimeNano)
	}
	if asJSON {
		b, err := json.Marshal(map[string]any{"time": ts, "type": "container", "service": service,
			"id": m.Actor.ID, "action": string(m.Action), "attributes": attrs})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(c.Out(), string(b))
		return err
	}
	var kv []string
	for k, v := range attrs {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	_, err := fmt.Fprintf(c.Out(), "%s container %s %s (%s)\n\n", ts.Format("2006-01-02 15:04:05.000000"), m.Action, m.Actor.ID, strings.Join(kv, ", "))
	return err
}
