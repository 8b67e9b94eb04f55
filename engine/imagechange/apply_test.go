package imagechange

import (
	"reflect"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestApplyChanges(t *testing.T) {
	cfg := dockerspec.DockerOCIImageConfig{}
	cfg.WorkingDir = "/srv"
	err := Apply(&cfg, []string{
		`CMD ["sh", "-c", "echo hi"]`,
		"ENTRYPOINT /bin/init --flag",
		"ENV A=1 B=2",
		"LABEL team=x",
		"EXPOSE 80 53/UDP",
		"WORKDIR app",
		`VOLUME ["/data"]`,
		"USER nobody",
		"STOPSIGNAL SIGINT",
		"ONBUILD RUN true",
		"",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Cmd, []string{"sh", "-c", "echo hi"}) || len(cfg.Entrypoint) == 0 {
		t.Errorf("cmd %q entrypoint %q", cfg.Cmd, cfg.Entrypoint)
	}
	if !reflect.DeepEqual(cfg.Env, []string{"A=1", "B=2"}) || cfg.Labels["team"] != "x" {
		t.Errorf("env %q labels %v", cfg.Env, cfg.Labels)
	}
	if _, ok := cfg.ExposedPorts["53/udp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("ports %v", cfg.ExposedPorts)
	}
	if cfg.WorkingDir != "/srv/app" || cfg.User != "nobody" || cfg.StopSignal != "SIGINT" || len(cfg.OnBuild) != 1 {
		t.Errorf("workdir %q user %q stopsignal %q onbuild %q", cfg.WorkingDir, cfg.User, cfg.StopSignal, cfg.OnBuild)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", cfg.Volumes)
	}
	for _, bad := range []string{"RUN true", "WORKDIR", `VOLUME [""]`, "FROM busybox"} {
		if err := Apply(&cfg, []string{bad}); !errdefs.IsInvalid(err) {
			t.Errorf("%q: want an invalid-argument error, got %v", bad, err)
		}
	}
}

// FuzzApplyChanges: any --change text is applied or refused with an
// invalid-argument error, never a panic.
func FuzzApplyChanges(f *testing.F) {
	for _, s := range []string{`CMD ["a"]`, "ENV A=1", "LABEL a=\"b c\"", "EXPOSE 80/tcp", "WORKDIR ../x", "VOLUME /a /b", "USER\tme"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, change string) {
		var cfg dockerspec.DockerOCIImageConfig
		if err := Apply(&cfg, []string{change}); err != nil && !errdefs.IsInvalid(err) {
			t.Fatalf("%q: %v", change, err)
		}
	})
}
