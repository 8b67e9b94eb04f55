package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berth-dev/berth/cli/formatter"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// richList is a list reply with every kind of field ps can show set.
func richList(n int) []container.Summary {
	list := make([]container.Summary, n)
	for i := range list {
		list[i] = container.Summary{
			ID: fmt.Sprintf("%064x", i+1), Names: []string{fmt.Sprintf("/c%d", i), "/other/alias"},
			Image: "busybox:1.36", ImageID: "sha256:" + fmt.Sprintf("%064x", 7), Command: "sleep 1d with a long command line",
			Created: 1700000000 + int64(i), State: container.StateRunning, Status: "Up 2 minutes (healthy)",
			Ports:  []container.PortSummary{{PrivatePort: 80, PublicPort: uint16(8000 + i), Type: "tcp"}, {PrivatePort: 53, Type: "udp"}},
			SizeRw: int64(i) * 1000, SizeRootFs: 4 << 20, Labels: map[string]string{"a": "b"},
			NetworkSettings: &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"bridge": {NetworkID: "n"}}},
		}
	}
	return list
}

// TestContainerListTable checks that the rows ContainerListTable decodes
// render ps's default table (plain, -q, -s, --no-trunc) exactly as the
// whole entries do.
func TestContainerListTable(t *testing.T) {
	body, err := json.Marshal(richList(300))
	if err != nil {
		t.Fatal(err)
	}
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		if strings.HasSuffix(r.URL.Path, "/containers/json") {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}
	})
	ctx := context.Background()
	full, err := c.ContainerList(ctx, ContainerListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	table, err := c.ContainerListTable(ctx, ContainerListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Items) != 300 || len(table.Items) != 300 {
		t.Fatalf("%d and %d items, want 300", len(full.Items), len(table.Items))
	}
	for _, tc := range []struct{ quiet, size, trunc bool }{{false, false, true}, {true, false, true}, {false, true, true}, {false, false, false}} {
		render := func(items []container.Summary) string {
			var out bytes.Buffer
			ctx := formatter.Context{Output: &out, Format: formatter.ContainerFormat("", tc.quiet, tc.size)}
			if err := formatter.WriteContainers(ctx, items, tc.trunc); err != nil {
				t.Fatal(err)
			}
			return out.String()
		}
		if got, want := render(table.Items), render(full.Items); got != want {
			t.Errorf("quiet %v, size %v, trunc %v: table rows render\n%s\nwant\n%s", tc.quiet, tc.size, tc.trunc, got, want)
		}
	}
}
