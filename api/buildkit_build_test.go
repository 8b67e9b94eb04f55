package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/internal/buildopt"
)

// TestBuildKitOptionsFromClient: a /build?version=2 request as berth's
// client writes it gives the frontend the same attributes as the same
// options given to buildopt.Frontend directly (which berth-build sends).
func TestBuildKitOptionsFromClient(t *testing.T) {
	var got map[string]string
	var gotErr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, _, err := buildKitOptions(r)
		if err == nil {
			got, err = o.Attrs()
		}
		gotErr = err
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := client.New(client.WithHost("tcp://" + strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	v := "1"
	_, err = c.ImageBuild(context.Background(), strings.NewReader(""), client.ImageBuildOptions{
		Version: build.BuilderBuildKit, Dockerfile: "my.Dockerfile", Target: "t", NoCache: true, PullParent: true,
		BuildArgs: map[string]*string{"A": &v}, Labels: map[string]string{"l": "x"}, NetworkMode: "none",
		ExtraHosts: []string{"h1:10.0.0.1"}, ShmSize: 64 << 20,
		Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 100, Hard: 200}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := buildopt.Frontend{
		Filename: "my.Dockerfile", Target: "t", NoCache: true, Pull: true,
		BuildArgs: map[string]*string{"A": &v}, Labels: map[string]string{"l": "x"}, Network: "none",
		ExtraHosts: []string{"h1:10.0.0.1"}, ShmSize: 64 << 20, Ulimits: []string{"nofile=100:200"},
	}.Attrs()
	if err != nil || gotErr != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("attrs from the request: %v, %v\nwant %v, %v", got, gotErr, want, err)
	}
}
