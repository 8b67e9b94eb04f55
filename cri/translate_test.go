package cri

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestApplySecurity(t *testing.T) {
	cfg, hc := &container.Config{}, &container.HostConfig{}
	err := applySecurity(cfg, hc, &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, RunAsGroup: &runtimeapi.Int64Value{Value: 2000},
		SupplementalGroups: []int64{3000}, NoNewPrivs: true, ReadonlyRootfs: true,
		Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}},
		MaskedPaths:  []string{"/proc/kcore"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "1000:2000" || !slices.Equal(hc.GroupAdd, []string{"3000"}) || !hc.ReadonlyRootfs ||
		!slices.Equal(hc.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(hc.CapDrop, []string{"ALL"}) ||
		!slices.Equal(hc.MaskedPaths, []string{"/proc/kcore"}) {
		t.Fatalf("translated to %+v / %+v", cfg.User, hc)
	}
	// The CRI's nil seccomp profile is unconfined; no-new-privs is kept.
	if !slices.Contains(hc.SecurityOpt, "seccomp=unconfined") || !slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Fatalf("security opts %v", hc.SecurityOpt)
	}
	hc = &container.HostConfig{}
	applySecurity(&container.Config{}, hc, &runtimeapi.LinuxContainerSecurityContext{
		Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}})
	if len(hc.SecurityOpt) != 0 {
		t.Fatalf("RuntimeDefault gave %v, want Berth's default profile", hc.SecurityOpt)
	}
	// Refused, never ignored.
	for _, sc := range []*runtimeapi.LinuxContainerSecurityContext{
		{RunAsGroup: &runtimeapi.Int64Value{Value: 1}},
		{Capabilities: &runtimeapi.Capability{AddAmbientCapabilities: []string{"NET_RAW"}}},
		{SelinuxOptions: &runtimeapi.SELinuxOption{Type: "container_t"}},
		{Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/nonexistent/profile.json"}},
	} {
		if err := applySecurity(&container.Config{}, &container.HostConfig{}, sc); err == nil {
			t.Errorf("%v: accepted", sc)
		}
	}
}

func TestApplyResourcesRefusesWhatItCannotApply(t *testing.T) {
	var r container.Resources
	if err := applyResources(&r, &runtimeapi.LinuxContainerResources{CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if r.CPUQuota != 50000 || r.CPUPeriod != 100000 || r.Memory != 64<<20 {
		t.Fatalf("%+v", r)
	}
	if err := applyResources(&r, &runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.high": "1"}}); err == nil {
		t.Error("unified resources accepted")
	}
	if err := applyResources(&r, &runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 1 << 21}}}); err == nil {
		t.Error("hugepage limits accepted")
	}
}

func TestRegistryAuth(t *testing.T) {
	got, err := registryAuth(&runtimeapi.AuthConfig{Auth: base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))}, "127.0.0.1:5000")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.URLEncoding.DecodeString(got)
	var m map[string]string
	json.Unmarshal(raw, &m)
	if m["username"] != "alice" || m["password"] != "s3cret" || m["serveraddress"] != "127.0.0.1:5000" {
		t.Fatalf("X-Registry-Auth %s", raw)
	}
	if _, err := registryAuth(&runtimeapi.AuthConfig{Auth: "not base64!"}, "x"); err == nil {
		t.Error("bad auth accepted")
	}
	if a, _ := registryAuth(nil, "x"); a != "" {
		t.Errorf("no auth gave %q", a)
	}
}

func TestLabelsMatchAndState(t *testing.T) {
	if !labelsMatch(map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1"}) ||
		labelsMatch(map[string]string{"a": "1"}, map[string]string{"a": "2"}) ||
		labelsMatch(nil, map[string]string{"a": ""}) {
		t.Error("label selector")
	}
	for st, want := range map[string]runtimeapi.ContainerState{
		"created": runtimeapi.ContainerState_CONTAINER_CREATED, "running": runtimeapi.ContainerState_CONTAINER_RUNNING,
		"exited": runtimeapi.ContainerState_CONTAINER_EXITED, "bogus": runtimeapi.ContainerState_CONTAINER_UNKNOWN,
	} {
		if got := criState(&container.State{Status: container.ContainerState(st)}); got != want {
			t.Errorf("%s: %v", st, got)
		}
	}
}
