package compose

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	clibuild "github.com/berth-dev/berth/cli/command/build"
	"github.com/berth-dev/berth/internal/buildopt"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

// labelBuilder is what compose stamps on images it builds classically.
const labelBuilder = "com.docker.compose.image.builder"

// imageName is the image a service's containers run: its image, or for a
// build-only service compose's default name, project-service.
func imageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return p.Name + "-" + s.Name
}

// supportedBuildKeys are the build: attributes `berth build` takes as
// flags; any other is refused by name.
var supportedBuildKeys = map[string]bool{
	"context": true, "dockerfile": true, "args": true, "labels": true, "target": true,
	"no_cache": true, "pull": true, "network": true, "tags": true,
	"ssh": true, "secrets": true, "cache_from": true, "cache_to": true,
	"extra_hosts": true, "shm_size": true, "ulimits": true,
}

func checkBuild(b *types.BuildConfig) []string {
	raw, err := json.Marshal(b)
	if err != nil {
		return []string{"build"}
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	var bad []string
	for k := range m {
		if !supportedBuildKeys[k] {
			bad = append(bad, "build."+k)
		}
	}
	if strings.Contains(b.Context, "://") || strings.HasPrefix(b.Context, "git@") {
		bad = append(bad, "build.context from a URL")
	}
	return bad
}

type buildOptions struct {
	noCache, pull, quiet bool
	args                 []string
}

// newBuildCommand is `compose build [SERVICE...]`.
func newBuildCommand(c *command.Cli, po *projectOptions) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := po.load(cmd.Context(), args)
			if err != nil {
				return err
			}
			for _, name := range p.ServiceNames() {
				if err := checkSupported(p.Services[name]); err != nil {
					return err
				}
			}
			for _, name := range p.ServiceNames() {
				s := p.Services[name]
				if s.Build == nil || (len(args) > 0 && !contains(args, name)) {
					continue
				}
				if err := buildService(cmd.Context(), c, p, s, o); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the image")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the build output")
	f.StringArrayVar(&o.args, "build-arg", nil, "Set build-time variables for services")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// buildService builds s's image with berth's own build command (the
// classic /build endpoint), tagged with compose's image name and tags.
func buildService(ctx context.Context, c *command.Cli, p *types.Project, s types.ServiceConfig, o buildOptions) error {
	args, err := buildArgs(p, s, o)
	if err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	bc := c
	if o.quiet {
		// BuildKit's progress goes to stderr; a failed build still returns
		// its error.
		bc = command.NewCli(io.NopCloser(c.In()), io.Discard, io.Discard)
		bc.Host, bc.TLS, bc.Debug = c.Host, c.TLS, c.Debug
	} else {
		fmt.Fprintf(c.Err(), " %s Building\n", s.Name)
	}
	if err := runBuild(ctx, bc, s.Build, args); err != nil {
		return fmt.Errorf("failed to build service %q: %w", s.Name, err)
	}
	if !o.quiet {
		fmt.Fprintf(c.Err(), " %s Built\n", s.Name)
	}
	return nil
}

// runBuild runs `berth build args`: in this process, or in berth-build
// when the build needs a client session (which berth-compose does not
// link), as `berth build` itself does.
func runBuild(ctx context.Context, c *command.Cli, b *types.BuildConfig, args []string) error {
	session, err := needsSession(b)
	if err != nil {
		return err
	}
	if session {
		return runSessionBuild(ctx, c, args)
	}
	cmd := clibuild.NewBuildCommand(c)
	if err := cmd.ParseFlags(args); err != nil {
		return err
	}
	cmd.SetContext(ctx)
	return cmd.RunE(cmd, cmd.Flags().Args())
}

// needsSession: ssh agents and local cache stores are reached only over a
// client session.
func needsSession(b *types.BuildConfig) (bool, error) {
	if len(b.SSH) > 0 {
		return true, nil
	}
	return buildopt.AnyLocalCache(b.CacheFrom, b.CacheTo)
}

// runSessionBuild runs berth-build with c's daemon and TLS options.
func runSessionBuild(ctx context.Context, c *command.Cli, args []string) error {
	path, err := command.FindProgram("berth-build", "'compose build' with build.ssh or a local cache")
	if err != nil {
		return err
	}
	var global []string
	for _, f := range []struct {
		set  bool
		args []string
	}{{c.Host != "", []string{"-H", c.Host}}, {c.Debug, []string{"-D"}}, {c.TLS.TLS, []string{"--tls"}}, {c.TLS.Verify, []string{"--tlsverify"}},
		{c.TLS.CACert != "", []string{"--tlscacert", c.TLS.CACert}}, {c.TLS.Cert != "", []string{"--tlscert", c.TLS.Cert}}, {c.TLS.Key != "", []string{"--tlskey", c.TLS.Key}}} {
		if f.set {
			global = append(global, f.args...)
		}
	}
	cmd := exec.CommandContext(ctx, path, append(append(global, "build"), args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.In(), c.Out(), c.Err()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return command.StatusError{Status: "berth-build exited with status " + strconv.Itoa(ee.ExitCode()), StatusCode: ee.ExitCode()}
		}
		return err
	}
	return nil
}

// buildArgs is the `berth build` command line of service s: its tags,
// Dockerfile, build arguments and labels (sorted), options, then context.
func buildArgs(p *types.Project, s types.ServiceConfig, o buildOptions) ([]string, error) {
	b := s.Build
	args := []string{"-t", imageName(p, s)}
	for _, t := range b.Tags {
		args = append(args, "-t", t)
	}
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	args = append(args, "-f", df)
	args = append(args, buildArgFlags(p, b, o)...)
	labels := map[string]string{labelBuilder: "classic"}
	for k, v := range b.Labels {
		labels[k] = v
	}
	for _, k := range sortedKeys(labels) {
		args = append(args, "--label", k+"="+labels[k])
	}
	args = append(args, buildFlags(b, o)...)
	caches, err := cacheFlags(p.WorkingDir, b)
	if err != nil {
		return nil, err
	}
	secrets, err := secretFlags(p, b)
	if err != nil {
		return nil, err
	}
	args = append(args, caches...)
	return append(append(append(args, secrets...), runFlags(b)...), b.Context), nil
}

// buildFlags are the flags of b's build options.
func buildFlags(b *types.BuildConfig, o buildOptions) []string {
	var args []string
	if b.Target != "" {
		args = append(args, "--target", b.Target)
	}
	if b.NoCache || o.noCache {
		args = append(args, "--no-cache")
	}
	if b.Pull || o.pull {
		args = append(args, "--pull")
	}
	if b.Network != "" {
		args = append(args, "--network", b.Network)
	}
	if b.Network == "host" {
		// As docker compose: network: host grants the build the entitlement.
		args = append(args, "--allow", "network.host")
	}
	for _, k := range b.SSH {
		v := k.ID
		if k.Path != "" {
			v += "=" + k.Path
		}
		args = append(args, "--ssh", v)
	}
	return args
}

// cacheFlags are the --cache-from and --cache-to flags; a local cache's
// relative folder is the project's, as every path of a compose file.
func cacheFlags(dir string, b *types.BuildConfig) ([]string, error) {
	var args []string
	for _, c := range []struct {
		flag string
		list []string
	}{{"--cache-from", b.CacheFrom}, {"--cache-to", b.CacheTo}} {
		for _, v := range c.list {
			typ, attrs, err := buildopt.Cache(v)
			if err != nil {
				return nil, err
			}
			if typ == "local" && dir != "" {
				v = absLocalCache(dir, attrs)
			}
			args = append(args, c.flag, v)
		}
	}
	return args, nil
}

// absLocalCache writes a type=local cache value with its src and dest
// under dir when relative.
func absLocalCache(dir string, attrs map[string]string) string {
	fields := []string{"type=local"}
	for _, k := range sortedKeys(attrs) {
		v := attrs[k]
		if (k == "src" || k == "dest") && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(dir, v)
		}
		fields = append(fields, k+"="+v)
	}
	var buf strings.Builder
	w := csv.NewWriter(&buf)
	_ = w.Write(fields)
	w.Flush()
	return strings.TrimSuffix(buf.String(), "\n")
}

// runFlags are the flags of b's RUN steps' hosts and limits.
func runFlags(b *types.BuildConfig) []string {
	var args []string
	hosts := b.ExtraHosts.AsList(":")
	sort.Strings(hosts)
	for _, h := range hosts {
		args = append(args, "--add-host", h)
	}
	if b.ShmSize > 0 {
		args = append(args, "--shm-size", strconv.FormatInt(int64(b.ShmSize), 10))
	}
	for _, name := range sortedKeys(b.Ulimits) {
		u := b.Ulimits[name]
		soft, hard := u.Soft, u.Hard
		if u.Single != 0 {
			soft, hard = u.Single, u.Single
		}
		args = append(args, "--ulimit", fmt.Sprintf("%s=%d:%d", name, soft, hard))
	}
	return args
}

// secretFlags are the --secret flags of b's secrets, read from the
// project's file or environment secrets, under their target name (as
// docker compose) or their name.
func secretFlags(p *types.Project, b *types.BuildConfig) ([]string, error) {
	var args []string
	for _, ref := range b.Secrets {
		sec, ok := p.Secrets[ref.Source]
		if !ok {
			return nil, fmt.Errorf("build secret %q is not defined in the project's secrets", ref.Source)
		}
		id := ref.Source
		if ref.Target != "" {
			id = ref.Target
		}
		switch {
		case sec.File != "":
			args = append(args, "--secret", "id="+id+",src="+sec.File)
		case sec.Environment != "":
			if _, set := os.LookupEnv(sec.Environment); !set {
				v, ok := p.Environment[sec.Environment]
				if !ok {
					return nil, fmt.Errorf("build secret %q: environment variable %s is not set", ref.Source, sec.Environment)
				}
				// berth build reads env secrets from its environment.
				os.Setenv(sec.Environment, v)
			}
			args = append(args, "--secret", "id="+id+",env="+sec.Environment)
		default:
			return nil, fmt.Errorf("build secret %q: only file and environment secrets can be given to a build", ref.Source)
		}
	}
	return args, nil
}

// buildArgFlags are the --build-arg flags: the service's args (a key
// without a value takes the project's environment), then the command's.
func buildArgFlags(p *types.Project, b *types.BuildConfig, o buildOptions) []string {
	var args []string
	for _, k := range sortedKeys(b.Args) {
		if v := b.Args[k]; v != nil {
			args = append(args, "--build-arg", k+"="+*v)
		} else if v, ok := p.Environment[k]; ok {
			args = append(args, "--build-arg", k+"="+v)
		}
	}
	for _, a := range o.args {
		args = append(args, "--build-arg", a)
	}
	return args
}
