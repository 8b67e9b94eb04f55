package build

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/opts"
	"github.com/berth-dev/berth/internal/buildopt"
)

// Builds that need a client session: BuildKit in berthd reaches the
// client's ssh agent, writes -o type=local|tar outputs and reads and writes
// type=local caches only through a session the client opens (as buildx
// does, over /grpc and /session). The BuildKit client library that holds
// such a session is large and slow to initialise, so `berth` does not link
// it: it runs buildProgram (cmd/berth-build), which is `berth build` with a
// SessionBuilder, in its own place. Other BuildKit builds stay on
// POST /build?version=2 (context in the request body).

// buildProgram is the program that runs builds needing a client session.
const buildProgram = "berth-build"

// SessionBuilder runs b over a BuildKit client session and returns the
// image ID ("" when the build exports no image).
type SessionBuilder func(ctx context.Context, cli *command.Cli, b *SessionBuild) (string, error)

// SessionBuild is a build as the session side needs it: every flag is
// parsed and checked here, the session side only maps it to BuildKit.
type SessionBuild struct {
	// ContextDir is the context folder; with ContextTar set (a tar on
	// stdin) it is "" and the frontend reads the context from the tar.
	ContextDir string
	ContextTar io.Reader
	// DockerfileDir holds the Dockerfile, named by Attrs["filename"].
	DockerfileDir string
	// Attrs are the Dockerfile frontend's attributes.
	Attrs map[string]string
	// Secrets by id, as read from the client's files and environment.
	Secrets map[string][]byte
	SSH     []SSHAgent
	// Exports: none means the image lands in Berth's store.
	Exports            []Export
	CacheFrom, CacheTo []Cache
	Allow              []string
	// Status receives each BuildKit status update, encoded as a
	// StatusResponse.
	Status func([]byte) error
}

// SSHAgent is one --ssh value: an agent socket or key files under an id.
type SSHAgent struct {
	ID    string
	Paths []string
}

// Export is one --output: a local folder (Dir), a file or stdout (File,
// with Stdout: tar, oci, docker), or an image in Berth's store (Type
// image).
type Export struct {
	Type   string
	Attrs  map[string]string
	Dir    string
	File   string
	Stdout io.Writer
}

// Cache is one --cache-from/--cache-to value.
type Cache struct {
	Type  string
	Attrs map[string]string
}

// Export types as buildx names them.
const (
	exportLocal  = "local"
	exportTar    = "tar"
	exportOCI    = "oci"
	exportDocker = "docker"
	exportImage  = "image"
)

// needsSession reports whether o's build needs a client session.
func (o options) needsSession() (bool, error) {
	if len(o.ssh) > 0 {
		return true, nil
	}
	for _, s := range o.outputs {
		out, err := parseOutput(s)
		if err != nil {
			return false, err
		}
		if clientOutput(out.Type, out.Attrs["dest"]) {
			return true, nil
		}
	}
	return buildopt.AnyLocalCache(o.cacheFrom, o.cacheTo)
}

// clientOutput reports whether an output of type typ writes to the
// client's files or stdout: local, tar and oci always, docker with a dest.
func clientOutput(typ, dest string) bool {
	switch typ {
	case exportLocal, exportTar, exportOCI:
		return true
	case exportDocker:
		return dest != ""
	}
	return false
}

// runSession builds over a client session: in berth-build with its
// SessionBuilder, in berth by running berth-build with the same arguments.
func runSession(ctx context.Context, cli *command.Cli, o options) (string, error) {
	if o.session == nil {
		return "", command.ExecProgram(buildProgram, "'build' with "+o.sessionFlags(), os.Args[1:])
	}
	b, cleanup, err := o.sessionBuild(cli)
	if err != nil {
		return "", err
	}
	defer cleanup()
	disp := newDisplay(cli, o)
	b.Status = func(raw []byte) error {
		st, err := decodeStatus(raw)
		if err != nil {
			return fmt.Errorf("reading build progress: %w", err)
		}
		disp.update(st)
		return nil
	}
	id, err := o.session(ctx, cli, b)
	disp.done()
	return id, err
}

// sessionFlags names the flags that need a session, for the error when
// berth-build is missing.
func (o options) sessionFlags() string {
	var names []string
	for _, f := range []struct {
		set  bool
		name string
	}{{len(o.ssh) > 0, "--ssh"}, {len(o.outputs) > 0, "--output"}, {len(o.cacheFrom) > 0, "--cache-from"}, {len(o.cacheTo) > 0, "--cache-to"}} {
		if f.set {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// sessionBuild checks every flag and reads the secrets; cleanup removes
// what it made (a folder for a Dockerfile read from stdin).
func (o options) sessionBuild(cli *command.Cli) (*SessionBuild, func(), error) {
	if err := o.checkProgress(); err != nil {
		return nil, nil, err
	}
	secrets, err := readSecrets(o.secrets)
	if err != nil {
		return nil, nil, err
	}
	b := &SessionBuild{Secrets: secrets, Allow: o.allow}
	if b.SSH, err = parseSSH(o.ssh); err != nil {
		return nil, nil, err
	}
	if b.Exports, err = parseExports(o.outputs, o.tags, cli.Out(), cli.Out().IsTerminal()); err != nil {
		return nil, nil, err
	}
	if b.CacheFrom, err = parseCaches(o.cacheFrom); err != nil {
		return nil, nil, err
	}
	if b.CacheTo, err = parseCaches(o.cacheTo); err != nil {
		return nil, nil, err
	}
	filename, cleanup, err := b.setContext(o.context, o.dockerfile, cli.In())
	if err != nil {
		return nil, nil, err
	}
	if b.Attrs, err = o.frontendAttrs(filename); err != nil {
		cleanup()
		return nil, nil, err
	}
	return b, cleanup, nil
}

// parseSSH reads --ssh values: "default" or "ID[=SOCKET|KEY[,KEY...]]"; an
// id without paths is the agent at $SSH_AUTH_SOCK.
func parseSSH(list []string) ([]SSHAgent, error) {
	var out []SSHAgent
	seen := map[string]bool{}
	for _, s := range list {
		id, paths, _ := strings.Cut(s, "=")
		if id == "" {
			return nil, fmt.Errorf("invalid ssh %q: id required", s)
		}
		if seen[id] {
			return nil, fmt.Errorf("duplicate agent ID %q", id)
		}
		seen[id] = true
		a := SSHAgent{ID: id}
		if paths != "" {
			a.Paths = strings.Split(paths, ",")
		} else {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, errors.New("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set")
			}
			a.Paths = []string{sock}
		}
		for _, p := range a.Paths {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("failed to parse ssh %q: %w", s, err)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// parseExports reads --output values for a session build. A build without
// one, or with type=image|docker, names its image with tags in Berth's
// store; type=local writes a folder, type=tar a file or stdout (never a
// terminal), as buildx.
func parseExports(list, tags []string, stdout io.Writer, stdoutTerminal bool) ([]Export, error) {
	if len(list) > 1 {
		return nil, errors.New("multiple outputs are not supported")
	}
	var out []Export
	for _, s := range list {
		o, err := parseOutput(s)
		if err != nil {
			return nil, err
		}
		e := Export{Type: o.Type, Attrs: map[string]string{}}
		dest := o.Attrs["dest"]
		for k, v := range o.Attrs {
			if k != "dest" {
				e.Attrs[k] = v
			}
		}
		switch o.Type {
		case exportLocal:
			err = e.localDest(dest)
		case exportTar, exportOCI:
			err = e.fileDest(dest, stdout, stdoutTerminal)
		case exportDocker, exportImage, "moby":
			if o.Type == exportDocker && dest != "" {
				err = e.fileDest(dest, stdout, stdoutTerminal)
				break
			}
			if dest != "" {
				return nil, fmt.Errorf("output type=%s with dest is not supported: the image lands in Berth's store", o.Type)
			}
			e.Type = exportImage
		default:
			return nil, fmt.Errorf("output type %q is not supported (local, tar, oci, image, docker)", o.Type)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(out) == 0 || out[0].Type == exportImage {
		names := append([]string(nil), tags...)
		if len(out) == 0 {
			out = append(out, Export{Type: exportImage, Attrs: map[string]string{}})
		}
		if n := out[0].Attrs["name"]; n != "" {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			out[0].Attrs["name"] = strings.Join(names, ",")
		}
	}
	return out, nil
}

// localDest checks a type=local destination folder.
func (e *Export) localDest(dest string) error {
	switch dest {
	case "":
		return errors.New("dest is required for local exporter")
	case "-":
		return errors.New("dest cannot be stdout for local exporter")
	}
	fi, err := os.Stat(dest)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("invalid destination directory: %s: %w", dest, err)
	}
	if err == nil && !fi.IsDir() {
		return fmt.Errorf("destination directory %s is a file", dest)
	}
	e.Dir = dest
	return nil
}

// fileDest checks the destination of an export that writes one file
// (tar, oci, docker): a file, or stdout ("-" or none) unless it is a
// terminal.
func (e *Export) fileDest(dest string, stdout io.Writer, stdoutTerminal bool) error {
	if dest == "" || dest == "-" {
		if stdoutTerminal {
			return fmt.Errorf("dest file is required for %s exporter. refusing to write to console", e.Type)
		}
		e.File, e.Stdout = "-", stdout
		return nil
	}
	fi, err := os.Stat(dest)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("invalid destination file: %s: %w", dest, err)
	}
	if err == nil && fi.IsDir() {
		return fmt.Errorf("destination file %s is a directory", dest)
	}
	e.File = dest
	return nil
}

// toStdout reports whether an export writes to stdout.
func toStdout(exports []Export) bool {
	for _, e := range exports {
		if e.Stdout != nil {
			return true
		}
	}
	return false
}

func parseCaches(list []string) ([]Cache, error) {
	var out []Cache
	for _, s := range list {
		typ, attrs, err := buildopt.Cache(s)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "local", "registry", "inline":
		default:
			return nil, fmt.Errorf("cache type %q is not supported (local, inline, registry)", typ)
		}
		out = append(out, Cache{Type: typ, Attrs: attrs})
	}
	return out, nil
}

// setContext sets the context and the Dockerfile's folder of b, as
// makeContext reads them: a folder (with -f anywhere, or "-f -"), a tar on
// stdin, or a lone Dockerfile on stdin. It returns the Dockerfile's name.
func (b *SessionBuild) setContext(arg, dockerfile string, stdin io.Reader) (string, func(), error) {
	nothing := func() {}
	if arg == "-" {
		if dockerfile == "-" {
			return "", nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		br := bufio.NewReader(stdin)
		if isTarStream(br) {
			b.ContextTar = br
			if dockerfile == "" {
				dockerfile = "Dockerfile"
			}
			return dockerfile, nothing, nil
		}
		return b.stdinDockerfile(br, "")
	}
	dir, err := contextDir(arg)
	if err != nil {
		return "", nil, err
	}
	b.ContextDir = dir
	if dockerfile == "-" {
		return b.stdinDockerfile(stdin, dir)
	}
	abs := filepath.Join(dir, "Dockerfile")
	if dockerfile != "" {
		if abs, err = filepath.Abs(dockerfile); err != nil {
			return "", nil, err
		}
	}
	if _, err := os.Stat(abs); err != nil {
		return "", nil, fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat %s: no such file or directory", abs)
	}
	b.DockerfileDir = filepath.Dir(abs)
	return filepath.Base(abs), nothing, nil
}

// stdinDockerfile puts the Dockerfile read from r in a folder of its own;
// with ctx "" the context is an empty folder.
func (b *SessionBuild) stdinDockerfile(r io.Reader, ctx string) (string, func(), error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "berth-build-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	b.DockerfileDir = filepath.Join(tmp, "dockerfile")
	if ctx == "" {
		ctx = filepath.Join(tmp, "context")
	}
	b.ContextDir = ctx
	for _, d := range []string{b.DockerfileDir, b.ContextDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(b.DockerfileDir, "Dockerfile"), data, 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	return "Dockerfile", cleanup, nil
}

// frontend is the Dockerfile frontend's options for o's flags.
func (o options) frontend(filename string) (buildopt.Frontend, error) {
	f := buildopt.Frontend{
		Filename: filename, Target: o.target, NoCache: o.noCache, Pull: o.pull, Platform: o.platform,
		BuildArgs: buildArgs(o.buildArgs), Labels: labels(o.labels), ExtraHosts: o.addHosts,
		Network: o.network, Allow: o.allow, Ulimits: o.ulimits,
	}
	for _, h := range o.addHosts {
		if !strings.ContainsAny(h, ":=") {
			return f, fmt.Errorf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)
		}
	}
	for _, u := range o.ulimits {
		if _, err := opts.ParseUlimits([]string{u}); err != nil {
			return f, fmt.Errorf("invalid argument %q for \"--ulimit\" flag: %w", u, err)
		}
	}
	shm, err := opts.ParseBytes(o.shmSize)
	if err != nil {
		return f, fmt.Errorf("invalid argument %q for \"--shm-size\" flag: %w", o.shmSize, err)
	}
	f.ShmSize = shm
	return f, nil
}

// frontendAttrs are the Dockerfile frontend's attributes for o's flags.
func (o options) frontendAttrs(filename string) (map[string]string, error) {
	f, err := o.frontend(filename)
	if err != nil {
		return nil, err
	}
	return f.Attrs()
}
