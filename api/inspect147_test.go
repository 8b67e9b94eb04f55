package api

import (
	"encoding/json"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
)

// TestImageInspect147Shape: the keys API 1.47 sends as null are present
// (docker-py indexes them); Container/ContainerConfig only before 1.45,
// VirtualSize only before 1.44.
func TestImageInspect147Shape(t *testing.T) {
	resp := &image.InspectResponse{ID: "sha256:x", Config: &dockerspec.DockerOCIImageConfig{}}
	b, _ := json.Marshal(legacyImageInspect(resp, "", "1.47"))
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	for _, k := range []string{"Parent", "Comment", "Created", "DockerVersion", "Author", "RepoTags", "RepoDigests", "GraphDriver", "Metadata"} {
		if _, ok := m[k]; !ok {
			t.Errorf("1.47 image inspect lacks %s: %s", k, b)
		}
	}
	for _, k := range []string{"Container", "ContainerConfig", "VirtualSize"} {
		if _, ok := m[k]; ok {
			t.Errorf("1.47 image inspect has %s", k)
		}
	}
	var cfg map[string]json.RawMessage
	json.Unmarshal(m["Config"], &cfg)
	for _, k := range []string{"Env", "Cmd", "Entrypoint", "Volumes", "WorkingDir", "Labels", "OnBuild", "Image", "User", "Hostname"} {
		if v, ok := cfg[k]; !ok {
			t.Errorf("Config lacks %s", k)
		} else if k == "Env" && string(v) != "null" {
			t.Errorf("Config.Env of an image without env: %s, want null", v)
		}
	}
	b, _ = json.Marshal(legacyImageInspect(resp, "sha256:p", "1.43"))
	for _, want := range []string{`"Container":""`, `"ContainerConfig":{`, `"VirtualSize":0`, `"Parent":"sha256:p"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("1.43 image inspect lacks %s: %s", want, b)
		}
	}
}

func TestContainerInspect147OnBuild(t *testing.T) {
	c := &container.InspectResponse{Config: &container.Config{Image: "busybox"}}
	b, _ := json.Marshal(legacyInspect(c))
	if !strings.Contains(string(b), `"OnBuild":null`) || !strings.Contains(string(b), `"Image":"busybox"`) {
		t.Errorf("container inspect Config: %s", b)
	}
}
