package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WriteSpec's config.json is json.Marshal's, byte for byte, also when its
// buffer held a longer spec before.
func TestWriteSpecAsMarshal(t *testing.T) {
	dir := t.TempDir()
	long := specOf(t, &container.HostConfig{CapAdd: []string{"ALL"}})
	long.Annotations = map[string]string{SeccompBPFAnnotation: strings.Repeat("A+/=", 3000), "html": "<&>"}
	short := specOf(t, &container.HostConfig{SecurityOpt: []string{"seccomp=unconfined"}})
	for i, spec := range []*specs.Spec{long, short, long} {
		if err := WriteSpec(dir, spec); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(spec)
		if string(got) != string(want) {
			t.Fatalf("write %d: config.json differs from json.Marshal's (%d vs %d bytes)", i, len(got), len(want))
		}
	}
}
