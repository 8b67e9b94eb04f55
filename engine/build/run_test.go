package build

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestCheckRunOptions(t *testing.T) {
	good := Options{ExtraHosts: []string{"a:10.0.0.1", "b=::1", "c:host-gateway"}, ShmSize: 1 << 20,
		Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}, nil}}
	if err := checkRunOptions(good); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{ExtraHosts: []string{"nohost"}}, "add-host"},
		{Options{ExtraHosts: []string{"h:not-an-ip"}}, "add-host"},
		{Options{ShmSize: -1}, "shmsize"},
		{Options{Ulimits: []*container.Ulimit{{Name: "bogus", Soft: 1, Hard: 1}}}, "ulimit"},
		{Options{Ulimits: []*container.Ulimit{{Name: "nofile", Soft: 20, Hard: 10}}}, "ulimit"},
	} {
		if err := checkRunOptions(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.o, err, c.want)
		}
	}
}
