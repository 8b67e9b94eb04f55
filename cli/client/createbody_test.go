package client

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// fill sets every field reachable from v (a pointer) to a value that is
// not its zero: strings get s (so escaping is exercised), numbers 7,
// slices and maps one element, pointers a filled value. Types that
// marshal themselves (netip.Addr, network.Port) get a parsed value.
func fill(t *testing.T, v reflect.Value, s string) {
	switch x := v.Addr().Interface().(type) {
	case *netip.Addr:
		*x = netip.MustParseAddr("192.0.2.1")
		return
	case *network.Port:
		*x = network.MustParsePort("80/tcp")
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), s)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), s)
	case reflect.Array:
		for i := range v.Len() {
			fill(t, v.Index(i), s)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, s)
		fill(t, e, s)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), s)
			}
		}
	case reflect.Interface:
	default:
		t.Fatalf("fill: kind %s of %s", v.Kind(), v.Type())
	}
}

// TestCreateBodyIsJSONMarshal holds createBody to json.Marshal's bytes:
// a request as `run` makes it, one with every field set (a field added to
// the API types and not written by createBody fails here), one with empty
// but non-nil slices and maps, and strings that need escaping.
func TestCreateBodyIsJSONMarshal(t *testing.T) {
	run := container.CreateRequest{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}, Labels: map[string]string{"x": "1"}},
		HostConfig: &container.HostConfig{NetworkMode: "default", PortBindings: network.PortMap{},
			RestartPolicy: container.RestartPolicy{Name: "no"}},
		NetworkingConfig: &network.NetworkingConfig{},
	}
	var full, fullEsc container.CreateRequest
	fill(t, reflect.ValueOf(&full).Elem(), "a")
	fill(t, reflect.ValueOf(&fullEsc).Elem(), "<é\u2028\"\\\n\x01\xff&>")
	empty := container.CreateRequest{
		Config: &container.Config{Env: []string{}, Cmd: []string{}, Labels: map[string]string{}, Volumes: map[string]struct{}{},
			OnBuild: []string{}, Shell: []string{}, ExposedPorts: network.PortSet{}},
		HostConfig: &container.HostConfig{Binds: []string{}, Annotations: map[string]string{}, Sysctls: map[string]string{},
			Resources: container.Resources{Ulimits: []*container.Ulimit{}, Devices: []container.DeviceMapping{}}},
	}
	// Maps of strings and lists of strings are written without
	// json.Marshal: several entries, keys in an order that is not
	// theirs, keys and values that need escaping.
	multi := container.CreateRequest{
		Config: &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "echo \"$x\" <&>"}, Env: []string{"A=1", "B=\u00e9\x01"},
			Labels: map[string]string{"z": "1", "a": "2", "<k>": "\"v\"", "é": "\xff", "A": ""}},
		HostConfig: &container.HostConfig{Tmpfs: map[string]string{"/b": "", "/a": "size=1m"}, LogConfig: container.LogConfig{Config: map[string]string{}},
			CapAdd: []string{}, DNSSearch: []string{"b.example", "a.example"}},
	}
	for name, r := range map[string]container.CreateRequest{"run": run, "full": full, "escaped": fullEsc, "empty": empty, "zero": {}, "multi": multi} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := createBody(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: createBody\n%s\njson.Marshal\n%s", name, got, want)
		}
	}
}
