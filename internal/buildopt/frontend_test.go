package buildopt

import (
	"reflect"
	"strings"
	"testing"
)

func TestFrontendAttrs(t *testing.T) {
	v := "1"
	cases := []struct {
		name string
		f    Frontend
		want map[string]string
		err  string
	}{
		{name: "defaults", want: map[string]string{"filename": "Dockerfile"}},
		{name: "default network", f: Frontend{Network: "default"}, want: map[string]string{"filename": "Dockerfile"}},
		{name: "all", f: Frontend{
			Filename: "my.Dockerfile", Target: "t", NoCache: true, Pull: true, Platform: "linux/amd64",
			BuildArgs: map[string]*string{"A": &v, "UNSET": nil}, Labels: map[string]string{"l": "x"},
			ExtraHosts: []string{"h1:10.0.0.1", "h2=10.0.0.2"}, Network: "none",
			ShmSize: 64 << 20, Ulimits: []string{"nofile=100:200", "nproc=50"},
		}, want: map[string]string{
			"filename": "my.Dockerfile", "target": "t", "no-cache": "", "image-resolve-mode": "pull",
			"platform": "linux/amd64", "build-arg:A": "1", "label:l": "x", "add-hosts": "h1=10.0.0.1,h2=10.0.0.2",
			"force-network-mode": "none", "shm-size": "67108864", "ulimit": "nofile=100:200,nproc=50",
		}},
		{name: "host allowed", f: Frontend{Network: "host", Allow: []string{"network.host"}},
			want: map[string]string{"filename": "Dockerfile", "force-network-mode": "host"}},
		{name: "host not allowed", f: Frontend{Network: "host"}, err: "add --allow network.host"},
		{name: "named network", f: Frontend{Network: "mynet"}, err: `network mode "mynet" not supported`},
		{name: "bad add-host", f: Frontend{ExtraHosts: []string{"nohost"}}, err: "invalid add-host"},
		{name: "bad ulimit", f: Frontend{Ulimits: []string{"nofile"}}, err: "nofile"},
		{name: "negative shm", f: Frontend{ShmSize: -1}, err: "invalid shm size"},
	}
	for _, c := range cases {
		got, err := c.f.Attrs()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want error %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, %v\nwant %v", c.name, got, err, c.want)
		}
	}
}
