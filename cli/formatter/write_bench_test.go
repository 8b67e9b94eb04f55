package formatter

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

// psRows are n containers as `ps` lists them after `run -d busybox sleep 1d`.
func psRows(n int) []container.Summary {
	list := make([]container.Summary, n)
	for i := range list {
		list[i] = container.Summary{
			ID: fmt.Sprintf("%064x", i*7919+1), Names: []string{fmt.Sprintf("/name_%d", i)},
			Image: "busybox", ImageID: "sha256:" + fmt.Sprintf("%064x", 42), Command: "sleep 1d",
			Created: time.Now().Add(-time.Duration(i) * time.Minute).Unix(), State: "running",
			Status: fmt.Sprintf("Up %d minutes", i),
			Ports:  []container.PortSummary{{PrivatePort: 80, PublicPort: uint16(8000 + i), Type: "tcp"}},
		}
	}
	return list
}

// BenchmarkWriteContainers is `ps` of 200 with the default table.
func BenchmarkWriteContainers(b *testing.B) {
	list := psRows(200)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx := Context{Output: io.Discard, Format: ContainerFormat("", false, false)}
		if err := WriteContainers(ctx, list, true); err != nil {
			b.Fatal(err)
		}
	}
}
