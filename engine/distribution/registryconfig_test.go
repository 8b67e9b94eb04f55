package distribution

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/engine/imagearchive"
	"github.com/berth-dev/berth/engine/images"
	"github.com/berth-dev/berth/engine/images/imagetest"
	"github.com/berth-dev/berth/engine/images/platform"
	"github.com/berth-dev/berth/internal/errdefs"
)

func TestRegistryConfigInsecure(t *testing.T) {
	s, _, _ := newTestService(t)
	if err := s.SetRegistryConfig([]string{"10.1.0.0/16", "myreg.example:5000", "plainhost"}, nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	c := s.registryCfg()
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.9.9.9": true, "localhost:1234": true, "[::1]:5000": true,
		"10.1.2.3:5000": true, "10.2.0.1": false, "myreg.example:5000": true, "myreg.example": false,
		"plainhost:443": true, "registry.example.invalid": false,
	} {
		if got := c.insecure(host); got != want {
			t.Errorf("insecure(%q) = %v, want %v", host, got, want)
		}
	}
	if c.maxDownloads != 3 || c.maxUploads != 5 {
		t.Errorf("defaults %d/%d, want 3/5", c.maxDownloads, c.maxUploads)
	}
	if err := s.SetRegistryConfig(nil, []string{"ftp://x"}, 0, 0); !errdefs.IsInvalid(err) {
		t.Errorf("bad mirror accepted: %v", err)
	}
	if err := s.SetRegistryConfig([]string{"http://x"}, nil, 0, 0); !errdefs.IsInvalid(err) {
		t.Errorf("insecure registry with scheme accepted: %v", err)
	}
	if err := s.SetRegistryConfig(nil, nil, 7, 1); err != nil {
		t.Fatal(err)
	}
	if c := s.registryCfg(); c.maxDownloads != 7 || c.maxUploads != 1 {
		t.Errorf("limits %d/%d, want 7/1", c.maxDownloads, c.maxUploads)
	}
}

// A Docker Hub pull goes to the first mirror that answers; a dead one is
// skipped.
func TestPullThroughMirror(t *testing.T) {
	host := startRegistry(t)
	img := testImage(t, platform.Host().Architecture, "m")
	if err := remote.Write(mustRef(t, host+"/library/mirrored:1"), img); err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	s, _, _ := newTestService(t)
	if err := s.SetRegistryConfig(nil, []string{dead.URL, "http://" + host}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Pull(context.Background(), "mirrored:1", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(context.Background(), "mirrored:1")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if len(got.RepoDigests) != 1 || got.RepoDigests[0] != "mirrored@"+d.String() {
		t.Fatalf("repo digests %v, want mirrored@%s", got.RepoDigests, d)
	}
}

func TestPullAllTagsAndPlatforms(t *testing.T) {
	host := startRegistry(t)
	ctx := context.Background()
	arch := platform.Host().Architecture
	for _, tag := range []string{"a", "b"} {
		if err := remote.Write(mustRef(t, host+"/multi/tags:"+tag), testImage(t, arch, "f"+tag)); err != nil {
			t.Fatal(err)
		}
	}
	s, _, _ := newTestService(t)
	var st []string
	if err := s.Pull(ctx, host+"/multi/tags", PullOptions{AllTags: true}, func(e images.ProgressEvent) { st = append(st, e.Status) }); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b"} {
		if _, err := s.Resolve(ctx, host+"/multi/tags:"+tag); err != nil {
			t.Fatalf("tag %s not pulled: %v", tag, err)
		}
	}
	if last := st[len(st)-1]; last != "Status: Downloaded newer image for "+host+"/multi/tags" {
		t.Fatalf("last status %q", last)
	}
	if err := s.Pull(ctx, host+"/multi/tags:a", PullOptions{AllTags: true}, nil); !errdefs.IsInvalid(err) {
		t.Fatalf("--all-tags with a tag: %v", err)
	}

	// Only for arm64 (or only for amd64 on an arm64 host).
	other := "arm64"
	if arch == "arm64" {
		other = "amd64"
	}
	foreign := testImage(t, other, "x")
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: foreign,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}})
	if err := remote.WriteIndex(mustRef(t, host+"/only/index:1"), idx); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, host+"/only/single:1"), foreign); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{host + "/only/index:1", host + "/only/single:1"} {
		err := s.Pull(ctx, ref, PullOptions{}, nil)
		if err == nil || !strings.Contains(err.Error(), "linux/"+arch) || !strings.Contains(err.Error(), "linux/"+other) {
			t.Errorf("pull %s: want an error naming linux/%s and linux/%s, got %v", ref, arch, other, err)
		}
		if err := s.Pull(ctx, ref, PullOptions{Platform: "linux/" + other}, nil); err != nil {
			t.Errorf("pull %s --platform linux/%s: %v", ref, other, err)
		}
	}

	// By digest.
	d, _ := foreign.Digest()
	s2, _, _ := newTestService(t)
	if err := s2.Pull(ctx, host+"/only/single@"+d.String(), PullOptions{Platform: "linux/" + other}, nil); err != nil {
		t.Fatal(err)
	}
	if img, err := s2.Resolve(ctx, host+"/only/single@"+d.String()); err != nil || len(img.RepoTags) != 0 {
		t.Fatalf("by digest: %v %+v", err, img)
	}
}

func TestPullZstdLayers(t *testing.T) {
	host := startRegistry(t)
	img := empty.Image
	for _, f := range []string{"z1", "z2"} {
		data := imagetest.Tar(t, imagetest.Entry{Name: f, Body: strings.Repeat(f, 5000)})
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", platform.Host().Architecture
	img, _ = mutate.ConfigFile(img, cf)
	if err := remote.Write(mustRef(t, host+"/zstd:1"), img); err != nil {
		t.Fatal(err)
	}
	s, _, _ := newTestService(t)
	if err := s.Pull(context.Background(), host+"/zstd:1", PullOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Resolve(context.Background(), host+"/zstd:1")
	if got == nil || len(got.Layers) != 2 || got.Size < 10000 {
		t.Fatalf("zstd image %+v", got)
	}
}

func TestPushSkipsExistingAndGzips(t *testing.T) {
	host := startRegistry(t)
	ctx := context.Background()
	s, _, _ := newTestService(t)
	if _, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "f", Body: strings.Repeat("x", 10000)})), imagearchive.ImportOptions{Ref: host + "/p:1"}); err != nil {
		t.Fatal(err)
	}
	push := func(ref string) map[string]int {
		st := map[string]int{}
		var mu sync.Mutex
		if err := s.Push(ctx, ref, PushOptions{}, func(e images.ProgressEvent) { mu.Lock(); st[e.Status]++; mu.Unlock() }); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := push(host + "/p:1"); st["Pushed"] != 1 || st["Preparing"] != 1 {
		t.Fatalf("first push %v", st)
	}
	if err := s.Tag(ctx, host+"/p:1", host+"/p:2"); err != nil {
		t.Fatal(err)
	}
	if st := push(host + "/p:2"); st["Layer already exists"] != 1 || st["Pushed"] != 0 {
		t.Fatalf("second push %v", st)
	}
	// Another repository of the same registry: not uploaded again
	// (go-containerregistry's registry shares blobs between repositories,
	// so it has the layer; Debian's registry mounts it, see tests/e2e).
	if err := s.Tag(ctx, host+"/p:1", host+"/other/q:1"); err != nil {
		t.Fatal(err)
	}
	if st := push(host + "/other/q:1"); st["Mounted from p"]+st["Layer already exists"] != 1 || st["Pushed"] != 0 {
		t.Fatalf("cross-repository push %v", st)
	}
	desc, err := remote.Get(mustRef(t, host+"/p:1"))
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.DockerManifestSchema2 || m.Layers[0].MediaType != types.DockerLayer || m.Layers[0].Size >= 10000 {
		t.Fatalf("pushed manifest %s, layer %s of %d bytes: want a gzip Docker layer", m.MediaType, m.Layers[0].MediaType, m.Layers[0].Size)
	}
	// The compressed blob replaced the tarball: save still works.
	if err := s.Save(ctx, []string{host + "/p:1"}, io.Discard); err != nil {
		t.Fatal(err)
	}
}

// basicAuth wraps a registry with HTTP basic auth, as a registry with
// htpasswd auth answers.
func basicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func authHeader(user, pass string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	return base64.URLEncoding.EncodeToString(b)
}

func TestLoginAndAuthenticatedTransfers(t *testing.T) {
	srv := httptest.NewServer(basicAuth(registry.New(registry.Logger(log.New(io.Discard, "", 0))), "alice", "s3cret"))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host := u.Host
	ctx := context.Background()
	s, _, _ := newTestService(t)
	if err := s.Login(ctx, AuthConfig{Username: "alice", Password: "s3cret", ServerAddress: "http://" + host}); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	err := s.Login(ctx, AuthConfig{Username: "alice", Password: "wrong", ServerAddress: host})
	var ue *UnauthorizedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "f", Body: "f"})), imagearchive.ImportOptions{Ref: host + "/private:1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Push(ctx, host+"/private:1", PushOptions{}, nil); err == nil {
		t.Fatal("anonymous push to an authenticated registry succeeded")
	}
	if err := s.Push(ctx, host+"/private:1", PushOptions{RegistryAuth: authHeader("alice", "s3cret")}, nil); err != nil {
		t.Fatal(err)
	}
	s2, _, _ := newTestService(t)
	if err := s2.Pull(ctx, host+"/private:1", PullOptions{}, nil); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "pull access denied") {
		t.Fatalf("anonymous pull: %v", err)
	}
	if err := s2.Pull(ctx, host+"/private:1", PullOptions{RegistryAuth: authHeader("alice", "s3cret")}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestImageEvents(t *testing.T) {
	host := startRegistry(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	s, _, _ := newTestServiceOpts(t, images.Options{Events: func(action, id string, attrs map[string]string) {
		mu.Lock()
		got = append(got, action+" "+attrs["name"])
		mu.Unlock()
	}})
	img, err := s.Import(ctx, bytes.NewReader(imagetest.Tar(t, imagetest.Entry{Name: "f", Body: "f"})), imagearchive.ImportOptions{Ref: host + "/ev:1", Changes: []string{"LABEL team=x"}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Tag(ctx, img.ID, host+"/ev:2"))
	must(s.Push(ctx, host+"/ev:2", PushOptions{}, nil))
	must(s.Save(ctx, []string{img.ID}, io.Discard))
	_, err = s.Delete(ctx, host+"/ev:2", false, true)
	must(err)
	var buf bytes.Buffer
	must(s.Save(ctx, []string{host + "/ev:1"}, &buf))
	_, err = s.Delete(ctx, img.ID, true, true)
	must(err)
	must(s.Load(ctx, &buf, nil))
	must(s.Pull(ctx, host+"/ev:2", PullOptions{}, nil))
	want := []string{
		"import " + img.ID, "tag " + host + "/ev:2", "push " + host + "/ev", "save " + img.ID,
		"untag " + img.ID, "save " + img.ID,
		"untag " + img.ID, "untag " + img.ID, // ev:1 and the digest reference from the push
		"delete " + img.ID, "load " + img.ID, "pull " + host + "/ev",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
