// Package bksession runs `berth build` over a BuildKit client session, as
// buildx does against the docker driver: BuildKit's control API over the
// daemon's hijacked POST /grpc, the session over POST /session. The session
// serves the context folders (file sync: symlinks are sent as symlinks,
// nothing outside the folders is reachable), the secrets, the ssh agents,
// the local and tar outputs and the local cache stores. Only berth-build
// links it (and with it BuildKit's client library).
package bksession

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/cli/command"
	"github.com/berth-dev/berth/cli/command/build"
)

// exporterMoby is the exporter that stores the image in the daemon's image
// store, as buildx's docker driver names it.
const exporterMoby = "moby"

// Build is a build.SessionBuilder.
func Build(ctx context.Context, cli *command.Cli, b *build.SessionBuild) (string, error) {
	so, err := solveOpt(b)
	if err != nil {
		return "", err
	}
	api, err := cli.Client()
	if err != nil {
		return "", err
	}
	c, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return api.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return api.DialHijack(ctx, "/session", proto, meta)
		}))
	if err != nil {
		return "", err
	}
	defer c.Close()
	ch := make(chan *bkclient.SolveStatus)
	var resp *bkclient.SolveResponse
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		resp, err = c.Solve(ectx, nil, so, ch)
		return err
	})
	eg.Go(func() error { return relayStatus(ch, b.Status) })
	if err := eg.Wait(); err != nil {
		return "", err
	}
	if len(b.Exports) != 1 || b.Exports[0].Type != "image" {
		return "", nil
	}
	if id := resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]; id != "" {
		return id, nil
	}
	return resp.ExporterResponse[exptypes.ExporterImageDigestKey], nil
}

// relayStatus hands every status update to status, encoded as BuildKit's
// StatusResponse; it drains ch to its end whatever happens.
func relayStatus(ch chan *bkclient.SolveStatus, status func([]byte) error) error {
	var first error
	for st := range ch {
		for _, sr := range st.Marshal() {
			if first != nil {
				continue
			}
			raw, err := sr.MarshalVT()
			if err == nil {
				err = status(raw)
			}
			first = err
		}
	}
	return first
}

// solveOpt is the Solve request for b.
func solveOpt(b *build.SessionBuild) (bkclient.SolveOpt, error) {
	so := bkclient.SolveOpt{
		Frontend:            "dockerfile.v0",
		FrontendAttrs:       map[string]string{},
		LocalMounts:         map[string]fsutil.FS{},
		AllowedEntitlements: b.Allow,
	}
	for k, v := range b.Attrs {
		so.FrontendAttrs[k] = v
	}
	if err := setContext(&so, b); err != nil {
		return so, err
	}
	if len(b.Secrets) > 0 {
		so.Session = append(so.Session, secretsprovider.FromMap(b.Secrets))
	}
	if len(b.SSH) > 0 {
		a, err := sshAgents(b.SSH)
		if err != nil {
			return so, err
		}
		so.Session = append(so.Session, a)
	}
	for _, e := range b.Exports {
		so.Exports = append(so.Exports, exportEntry(e))
	}
	so.CacheImports, so.CacheExports = cacheEntries(b.CacheFrom), cacheEntries(b.CacheTo)
	return so, nil
}

// cacheEntries maps --cache-from/--cache-to values; BuildKit's client
// serves type=local stores over the session itself.
func cacheEntries(list []build.Cache) []bkclient.CacheOptionsEntry {
	out := make([]bkclient.CacheOptionsEntry, len(list))
	for i, c := range list {
		out[i] = bkclient.CacheOptionsEntry{Type: c.Type, Attrs: c.Attrs}
	}
	return out
}

// setContext serves the context: folders by file sync, a tar on stdin by
// upload (the frontend reads it as a remote context, as buildx sends it).
func setContext(so *bkclient.SolveOpt, b *build.SessionBuild) error {
	if b.ContextTar != nil {
		up := uploadprovider.New()
		so.FrontendAttrs["context"] = up.Add(io.NopCloser(b.ContextTar))
		so.Session = append(so.Session, up)
		return nil
	}
	for name, dir := range map[string]string{"context": b.ContextDir, "dockerfile": b.DockerfileDir} {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return err
		}
		so.LocalMounts[name] = fs
	}
	return nil
}

// sshAgents is the session's ssh forwarding; BuildKit's provider checks the
// paths (a missing socket or key fails here, before the build).
func sshAgents(list []build.SSHAgent) (session.Attachable, error) {
	confs := make([]sshprovider.AgentConfig, 0, len(list))
	for _, a := range list {
		confs = append(confs, sshprovider.AgentConfig{ID: a.ID, Paths: a.Paths})
	}
	return sshprovider.NewSSHAgentProvider(confs)
}

// exportEntry maps one output to BuildKit's exporters: a folder and a file
// are written by this process over the session.
func exportEntry(e build.Export) bkclient.ExportEntry {
	switch e.Type {
	case "local":
		return bkclient.ExportEntry{Type: bkclient.ExporterLocal, Attrs: e.Attrs, OutputDir: e.Dir}
	case "tar", "oci", "docker":
		out := bkclient.ExportEntry{Type: e.Type, Attrs: e.Attrs}
		if e.Stdout != nil {
			w := nopCloser{e.Stdout}
			out.Output = func(map[string]string) (io.WriteCloser, error) { return w, nil }
		} else {
			path := e.File
			out.Output = func(map[string]string) (io.WriteCloser, error) { return createFile(path) }
		}
		return out
	}
	return bkclient.ExportEntry{Type: exporterMoby, Attrs: e.Attrs}
}

// createFile creates an output file when the export starts (not before: a
// failed build leaves no empty file behind), with its folder.
func createFile(path string) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
