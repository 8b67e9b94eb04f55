package compose

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berth-dev/berth/cli/command"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

type imageRow struct {
	ID            string     `json:"ID"`
	ContainerName string     `json:"ContainerName"`
	Repository    string     `json:"Repository"`
	Tag           string     `json:"Tag"`
	Platform      string     `json:"Platform"`
	Size          int64      `json:"Size"`
	Created       *time.Time `json:"Created,omitempty"`
}

// newImagesCommand is `compose images`: the image of each of the project's
// containers, in docker compose's columns.
func newImagesCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List images used by the created containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("berth compose images does not support --format %q (table, json)", format)
			}
			ctrs, err := serviceContainers(cmd.Context(), c, po, args, true)
			if err != nil {
				return err
			}
			api, _ := c.Client()
			var rows []imageRow
			for _, ctr := range ctrs {
				insp, err := api.ImageInspect(cmd.Context(), ctr.ImageID)
				if err != nil {
					return err
				}
				r := imageRow{ID: insp.ID, ContainerName: canonicalName(ctr), Size: insp.Size,
					Platform: insp.Os + "/" + insp.Architecture}
				if insp.Variant != "" {
					r.Platform += "/" + insp.Variant
				}
				if t, err := time.Parse(time.RFC3339Nano, insp.Created); err == nil {
					r.Created = &t
				}
				r.Repository, r.Tag = repoTag(ctr.Image, insp.RepoTags)
				rows = append(rows, r)
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i].ContainerName < rows[j].ContainerName })
			switch {
			case quiet:
				seen := map[string]bool{}
				for _, r := range rows {
					id := strings.TrimPrefix(r.ID, "sha256:")
					if !seen[id] {
						seen[id] = true
						fmt.Fprintln(c.Out(), id)
					}
				}
				return nil
			case format == "json":
				if rows == nil {
					rows = []imageRow{}
				}
				return json.NewEncoder(c.Out()).Encode(rows)
			}
			w := tabwriter.NewWriter(c.Out(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(w, "CONTAINER\tREPOSITORY\tTAG\tPLATFORM\tIMAGE ID\tSIZE\tCREATED")
			for _, r := range rows {
				created := "N/A"
				if r.Created != nil {
					created = units.HumanDuration(time.Since(*r.Created)) + " ago"
				}
				id := strings.TrimPrefix(r.ID, "sha256:")
				if len(id) > 12 {
					id = id[:12]
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ContainerName, orNone(r.Repository), orNone(r.Tag),
					r.Platform, id, units.HumanSizeWithPrecision(float64(r.Size), 3), created)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	cmd.Flags().StringVar(&format, "format", "table", "Format the output. Values: [table | json]")
	return cmd
}

// repoTag splits the image a container was created from into repository
// and tag; an image referred to by ID falls back to its first tag.
func repoTag(img string, tags []string) (string, string) {
	if strings.HasPrefix(img, "sha256:") {
		if len(tags) == 0 {
			return "", ""
		}
		img = tags[0]
	}
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img, ""
	}
	named = reference.TagNameOnly(named)
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return reference.FamiliarName(named), tag
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
