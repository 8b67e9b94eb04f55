package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func ptr[T any](v T) *T { return &v }

// The config hash must equal docker compose's for the same service, or
// each tool would recreate the other's containers. The expected value is
// the one docker compose v5.6.0 computes for this service.
func TestServiceHashMatchesDockerCompose(t *testing.T) {
	var s types.ServiceConfig
	s.Name = "web"
	s.Image = "nginx:latest"
	s.Command = types.ShellCommand{"nginx", "-g", "daemon off;"}
	s.User = "nobody"
	s.Tty = true
	s.StdinOpen = true
	s.Restart = types.RestartPolicyAlways
	s.Environment = types.MappingWithEquals{"A": ptr("1"), "B": nil}
	s.Labels = types.Labels{"com.example": "v"}
	s.Annotations = types.Mapping{"note": "x"}
	s.CapAdd = []string{"NET_ADMIN"}
	s.ExtraHosts = types.HostsList{"alpha": []string{"10.0.0.1"}}
	s.Deploy = &types.DeployConfig{Replicas: ptr(3)}
	s.Ports = []types.ServicePortConfig{{Target: 80, Published: "8080", Protocol: "tcp"}}
	s.HealthCheck = &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}
	s.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeVolume, Source: "data", Target: "/data"}}
	s.Networks = map[string]*types.ServiceNetworkConfig{"default": nil}
	h, err := ServiceHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h != "75bc312132c71fac4971d123202631b6978ac9d796336621af744d46611b42a2" {
		t.Fatalf("hash %s differs from docker compose's", h)
	}
}

// Scale, replicas, depends_on, build, pull_policy and profiles do not call
// for a new container; everything else does.
func TestServiceHashIgnores(t *testing.T) {
	base := types.ServiceConfig{Name: "a"}
	base.Image = "busybox"
	base.Deploy = &types.DeployConfig{Replicas: ptr(1)}
	h0, _ := ServiceHash(base)
	same := base
	same.Scale = ptr(4)
	same.Deploy = &types.DeployConfig{Replicas: ptr(4)}
	same.DependsOn = types.DependsOnConfig{"b": {Condition: types.ServiceConditionStarted}}
	same.Profiles = []string{"x"}
	same.PullPolicy = types.PullPolicyAlways
	same.Build = &types.BuildConfig{Context: "."}
	if h, _ := ServiceHash(same); h != h0 {
		t.Fatal("hash changed with scale/replicas/depends_on/profiles/pull_policy/build")
	}
	diff := base
	diff.Environment = types.MappingWithEquals{"X": ptr("1")}
	if h, _ := ServiceHash(diff); h == h0 {
		t.Fatal("hash did not change with environment")
	}
	if *base.Deploy.Replicas != 1 {
		t.Fatal("ServiceHash modified its argument")
	}
}

func TestReorderKeys(t *testing.T) {
	out, err := reorderKeys([]byte(`{"z":1,"image":"x","command":["a"],"a":true}`), []string{"command", "image"})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"command":["a"],"image":"x","a":true,"z":1}` {
		t.Fatalf("got %s", out)
	}
}

func TestNamesAndDependsOnLabel(t *testing.T) {
	s := types.ServiceConfig{Name: "web"}
	if n := containerName("proj", s, 2); n != "proj-web-2" {
		t.Fatal(n)
	}
	s.ContainerName = "custom"
	if n := containerName("proj", s, 1); n != "custom" {
		t.Fatal(n)
	}
	s.DependsOn = types.DependsOnConfig{
		"db":    {Condition: types.ServiceConditionHealthy, Restart: true},
		"cache": {Condition: types.ServiceConditionStarted},
	}
	if l := dependsOnLabel(s); l != "cache:service_started:false,db:service_healthy:true" {
		t.Fatal(l)
	}
}

// load gives compose's project model: project_default network,
// project_data volume, .env interpolation with defaults, x- ignored,
// profiles, and compose's errors for bad input.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docker-compose.yml", `
x-common: &common
  image: busybox
services:
  web:
    <<: *common
    environment:
      - GREETING=${GREETING:-hi}
      - TAG=${TAG}
    volumes: [data:/data]
  debug:
    <<: *common
    profiles: [debug]
volumes:
  data: {}
`)
	write(".env", "TAG=v1\n")
	po := &projectOptions{projectDir: dir, name: "my_proj"}
	p, err := po.load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "my_proj" {
		t.Fatalf("name %q", p.Name)
	}
	if got := p.ServiceNames(); strings.Join(got, ",") != "web" {
		t.Fatalf("services %v (debug is in a disabled profile)", got)
	}
	web := p.Services["web"]
	if *web.Environment["GREETING"] != "hi" || *web.Environment["TAG"] != "v1" {
		t.Fatalf("env %v", web.Environment)
	}
	if p.Networks["default"].Name != "my_proj_default" || p.Volumes["data"].Name != "my_proj_data" {
		t.Fatalf("names %q %q", p.Networks["default"].Name, p.Volumes["data"].Name)
	}
	if web.CustomLabels[labelProject] != "my_proj" || web.CustomLabels[labelOneoff] != "False" ||
		web.CustomLabels[labelWorkingDir] != dir || web.CustomLabels[labelConfigFiles] != filepath.Join(dir, "docker-compose.yml") {
		t.Fatalf("labels %v", web.CustomLabels)
	}
	po.profiles = []string{"debug"}
	if p, err = po.load(context.Background(), nil); err != nil || len(p.Services) != 2 {
		t.Fatalf("with profile: %v %v", err, p)
	}

	write("docker-compose.yml", "services:\n  a:\n    image: ${IMG:?image required}\n")
	if _, err := po.load(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "image required") {
		t.Fatalf("interpolation error: %v", err)
	}
}

func TestCheckSupported(t *testing.T) {
	s := types.ServiceConfig{Name: "a"}
	s.Image = "busybox"
	s.Deploy = &types.DeployConfig{Replicas: ptr(2)}
	if err := checkSupported(s); err != nil {
		t.Fatal(err)
	}
	s.Pid = "host"
	s.Deploy.Mode = "global"
	err := checkSupported(s)
	if err == nil || !strings.Contains(err.Error(), "pid") || !strings.Contains(err.Error(), "deploy") {
		t.Fatalf("got %v", err)
	}
}

func FuzzRestartPolicy(f *testing.F) {
	for _, s := range []string{"", "no", "always", "on-failure:3", "unless-stopped", "on-failure:x", "bogus"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rp, err := restartPolicy(s)
		if err == nil && rp.Name == "" {
			t.Fatalf("accepted %q without a policy", s)
		}
	})
}

func TestCheckBuild(t *testing.T) {
	s := types.ServiceConfig{Name: "a"}
	s.Build = &types.BuildConfig{Context: "/ctx", Dockerfile: "Dockerfile.dev",
		Args: types.MappingWithEquals{"A": ptr("1")}, Target: "final", Tags: []string{"x:1"}}
	if err := checkSupported(s); err != nil {
		t.Fatal(err)
	}
	s.Build.CacheFrom = []string{"x:cache"}
	s.Build.SSH = types.SSHConfig{{ID: "default"}}
	if err := checkSupported(s); err != nil {
		t.Fatal(err)
	}
	s.Build.NoCacheFilter = []string{"a"}
	s.Build.Privileged = true
	err := checkSupported(s)
	if err == nil || !strings.Contains(err.Error(), "build.no_cache_filter") || !strings.Contains(err.Error(), "build.privileged") {
		t.Fatalf("got %v", err)
	}
	s.Build = &types.BuildConfig{Context: "https://example.invalid/repo.git"}
	if err := checkSupported(s); err == nil || !strings.Contains(err.Error(), "URL") {
		t.Fatalf("got %v", err)
	}
	p := &types.Project{Name: "proj"}
	if got := imageName(p, types.ServiceConfig{Name: "web"}); got != "proj-web" {
		t.Fatalf("default image name %q", got)
	}
}

func TestBuildArgsSessionFlags(t *testing.T) {
	t.Setenv("E2E_BUILD_TOK", "x")
	p := &types.Project{Name: "p", WorkingDir: "/proj", Secrets: types.Secrets{
		"f": {File: "/run/f.txt"}, "e": {Environment: "E2E_BUILD_TOK"}, "c": {Content: "inline"},
	}}
	s := types.ServiceConfig{Name: "web"}
	s.Build = &types.BuildConfig{Context: "/ctx",
		SSH:       types.SSHConfig{{ID: "default"}, {ID: "k", Path: "/keys/id"}},
		Secrets:   []types.ServiceSecretConfig{{Source: "f"}, {Source: "e", Target: "tok"}},
		CacheFrom: []string{"type=local,src=/c"}, CacheTo: []string{"type=local,dest=c,mode=max"},
		ExtraHosts: types.HostsList{"h": {"10.0.0.1"}}, ShmSize: 1 << 20,
		Ulimits: map[string]*types.UlimitsConfig{"nofile": {Soft: 10, Hard: 20}, "nproc": {Single: 5}},
	}
	got, err := buildArgs(p, s, buildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "-t p-web -f /ctx/Dockerfile --label com.docker.compose.image.builder=classic --ssh default --ssh k=/keys/id " +
		"--cache-from type=local,src=/c --cache-to type=local,dest=/proj/c,mode=max --secret id=f,src=/run/f.txt --secret id=tok,env=E2E_BUILD_TOK " +
		"--add-host h:10.0.0.1 --shm-size 1048576 --ulimit nofile=10:20 --ulimit nproc=5:5 /ctx"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if ok, err := needsSession(s.Build); !ok || err != nil {
		t.Errorf("needsSession: %v %v", ok, err)
	}
	if ok, _ := needsSession(&types.BuildConfig{CacheFrom: []string{"img:cache"}}); ok {
		t.Error("a registry cache needs no session")
	}
	for _, bad := range []types.ServiceSecretConfig{{Source: "c"}, {Source: "missing"}} {
		s.Build.Secrets = []types.ServiceSecretConfig{bad}
		if _, err := buildArgs(p, s, buildOptions{}); err == nil {
			t.Errorf("secret %q accepted", bad.Source)
		}
	}
}
