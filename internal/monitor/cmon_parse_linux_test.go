package monitor_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/monitor"
)

// cmonParse runs `berth-cmon --parse mode` on in: what the C monitor
// understood, as JSON, or ok=false when it refused the input.
func cmonParse(t *testing.T, mode string, in []byte) (out []byte, ok bool) {
	t.Helper()
	cmd := exec.Command(cmonBinary(t), "--parse", mode)
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		// LeakSanitizer cannot run under the fuzzing worker (the
		// worker dies); address and UB checks still do.
		cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0")
	}
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if stderr.Len() > 0 {
		// A sanitizer report, or anything else the parser should not say.
		t.Fatalf("berth-cmon --parse %s wrote to stderr on %q:\n%s", mode, short(in), stderr.Bytes())
	}
	if err != nil {
		ee, isExit := err.(*exec.ExitError)
		if !isExit || ee.ExitCode() != 1 || !bytes.HasPrefix(out, []byte("error: ")) {
			t.Fatalf("berth-cmon --parse %s on %q: %v, output %q", mode, short(in), err, out)
		}
		return nil, false
	}
	return out, true
}

var (
	cmonOnce sync.Once
	cmonDir  string
	cmonErr  error
)

// cmonBinary builds the C monitor alone (with AddressSanitizer when
// BERTH_MONITOR_TEST_ASAN is set), once per test process.
func cmonBinary(t testing.TB) string {
	t.Helper()
	cmonOnce.Do(func() {
		if cmonDir, cmonErr = os.MkdirTemp("", "berth-cmon-bin"); cmonErr != nil {
			return
		}
		target := "all"
		if os.Getenv("BERTH_MONITOR_TEST_ASAN") != "" {
			target = "asan"
		}
		out, err := exec.Command("make", "-s", "-C", filepath.Join(repoRoot(), "cmon"), target, "O="+cmonDir).CombinedOutput()
		if err != nil {
			cmonErr = fmt.Errorf("build berth-cmon: %v\n%s", err, out)
		}
	})
	if cmonErr != nil {
		t.Fatal(cmonErr)
	}
	return filepath.Join(cmonDir, monitor.CMonitorName)
}

// short is in for messages, cut to a readable length.
func short(in []byte) string {
	if len(in) > 300 {
		return string(in[:150]) + "..." + string(in[len(in)-150:])
	}
	return string(in)
}

// holdsNUL reports whether any string in v (a struct of strings and
// string slices) contains NUL: the C monitor refuses those strings, which
// no setting of berthd's holds.
func holdsNUL(v any) bool {
	b, _ := json.Marshal(v)
	return bytes.Contains(b, []byte(`\u0000`))
}

// checkParse compares the C monitor's parse of in with encoding/json's
// into the same Go type, as berthd writes and the Go monitor reads it.
func checkParse(t *testing.T, mode string, in []byte) {
	out, ok := cmonParse(t, mode, in)
	var want, got any
	var goErr error
	switch mode {
	case "config":
		// The C monitor refuses settings it does not know (a newer
		// berthd's), where the Go monitor's Unmarshal ignores them.
		var c monitor.Config
		goErr = unmarshalStrict(in, &c)
		c.LogOpts = nil // the Go monitor's drivers only
		if c.RuntimeArgs == nil {
			c.RuntimeArgs = []string{}
		}
		if c.Cgroups == nil {
			c.Cgroups = []string{}
		}
		want, got = c, &monitor.Config{}
	case "ctl":
		var r monitor.CtlRequest
		goErr = json.Unmarshal(in, &r)
		want, got = r, &monitor.CtlRequest{}
	case "attach":
		var r monitor.AttachOptions
		goErr = json.Unmarshal(in, &r)
		want, got = r, &monitor.AttachOptions{}
	case "release":
		// Refused when unknown, as monitor.json's settings.
		var r monitor.ReleaseRequest
		goErr = unmarshalStrict(in, &r)
		want, got = r, &monitor.ReleaseRequest{}
	}
	if goErr != nil {
		if ok {
			t.Fatalf("%s %q: Go refuses it (%v), the C monitor parsed %s", mode, short(in), goErr, out)
		}
		return
	}
	if !ok {
		if holdsNUL(want) {
			return
		}
		t.Fatalf("%s %q: Go parses it as %+v, the C monitor refused it", mode, short(in), want)
	}
	if err := json.Unmarshal(out, got); err != nil {
		t.Fatalf("%s %q: the C monitor printed %q: %v", mode, short(in), out, err)
	}
	if g := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(g, want) {
		t.Fatalf("%s %q:\nC  %+v\nGo %+v", mode, short(in), g, want)
	}
}

// unmarshalStrict is json.Unmarshal refusing unknown object keys.
func unmarshalStrict(in []byte, v any) error {
	if err := json.Unmarshal(in, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var parseSeeds = []struct{ mode, in string }{
	{"config", `{"id":"abc","runtime":"/usr/bin/crun","runtimeArgs":["--root","/run/x"],"bundle":"/b","stateDir":"/s","logPath":"/l","logMaxSize":1024,"logMaxFiles":3,"logDriver":"json-file","logCompress":true,"logOpts":{"tag":"x"},"tty":true,"openStdin":true,"stdinOnce":false}`},
	{"config", `{"ID":"a","TTY":true,"tty":false,"Runtimeargs":null,"logOpts":{"a":[1,2.5e3,"\ud83d\ude00"]}}`},
	{"config", `{"id":"a","futureSetting":true}`},
	{"config", `{"id":"a","runtimeState":"/run/x/a","cgroups":["/sys/fs/cgroup/pids/berth/a",""]}`},
	{"config", `{"runtimeState":"x","runtimeState":null,"cgroups":["a"],"cgroups":["b","c"]}`},
	{"config", `{"cgroups":["a"],"cgroups":null,"runtimeState":""}`},
	{"config", `{"cgroups":[1],"runtimeState":true}`},
	{"config", `{"id":"a","exitNoSync":true}`},
	{"config", `{"exitNoSync":1}`},
	{"config", `null`},
	{"config", `{"logMaxSize":1.5}`},
	{"config", `{"logMaxFiles":-0,"logMaxSize":-9223372036854775808}`},
	{"config", `{"id":"\u00e9\ud800x\udc00\u212a"}`},
	{"config", "{\"id\":\"\xff\xfe\xe2\x82\"}"},
	{"config", `{"\u212Aey":1,"ſtdinOnce":true}`},
	{"config", `{"id":"a\u0000b"}`},
	{"config", `{"runtimeArgs":["a",null,"c"]}`},
	{"config", `{"id":"x"} x`},
	{"config", `[1]`},
	{"config", `{"id":"a","start":true,"attach":[{"stdin":true,"stdout":true},null,{"stderr":true}]}`},
	{"config", `{"attach":[{"stdin":true},{"stdout":true}],"attach":[null,{"stderr":true},{}]}`},
	{"config", `{"attach":[{"stdin":true}],"attach":null,"attach":[null]}`},
	{"config", `{"attach":[]}`},
	{"config", `{"attach":[{"stdin":true,"tty":true}]}`},
	{"config", `{"attach":[1]}`},
	{"config", `{"attach":{}}`},
	{"config", `{"start":"yes"}`},
	{"ctl", `{"op":"resize","height":24,"width":80}`},
	{"ctl", `{"op":"resize","height":70000}`},
	{"ctl", `{"op":"resize","height":-0}`},
	{"ctl", `{"op":"wait"}`},
	{"ctl", `{"op":1}`},
	{"ctl", `{"op":"ping",}`},
	{"ctl", ``},
	{"release", `{"netns":"/run/berth/netns/abc","attach":[{"stdout":true,"stderr":true},{"stdin":true}]}`},
	{"release", `{}`},
	{"release", `{"netns":null,"attach":null}`},
	{"release", `{"attach":[]}`},
	{"release", `{"attach":[{"stdin":true}],"attach":[null,{"stderr":true}]}`},
	{"release", `{"attach":[{"tty":true}]}`},
	{"release", `{"netns":"a\u0000b"}`},
	{"release", `{"netns":1}`},
	{"release", `{"NETNS":"x","futureSetting":true}`},
	{"release", `{"netns":"x"} {}`},
	{"attach", `{"stdin":true,"stdout":true,"stderr":false}`},
	{"attach", `{"STDIN":true,"stdin":null}`},
	{"attach", `{"stdin":"yes"}`},
	{"attach", `{"stdin":tru}`},
	{"attach", " \t\r\n{ \"stdout\" : true } \n"},
	{"attach", `{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}`},
	{"attach", `{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`},
}

// TestCMonitorParse: the C monitor reads monitor.json and request lines
// exactly as encoding/json reads them into internal/monitor's types.
func TestCMonitorParse(t *testing.T) {
	for _, s := range parseSeeds {
		checkParse(t, s.mode, []byte(s.in))
	}
}

// TestCMonitorKnowsConfig: every setting berthd writes to monitor.json is
// one the C monitor knows. A field added to monitor.Config fails here until
// cmon/parse.c implements it (or monitor.CImplements sends the containers
// that use it to the Go monitor).
func TestCMonitorKnowsConfig(t *testing.T) {
	var cfg monitor.Config
	fillSettings(t, "monitor.Config", reflect.ValueOf(&cfg).Elem())
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := cmonParse(t, "config", b); !ok {
		t.Fatalf("berth-cmon refuses monitor.json %s", b)
	} else {
		checkParse(t, "config", b)
		_ = out
	}
}

// fillSettings sets every field of the struct v to a value other than its
// zero (slices get two elements, themselves filled).
func fillSettings(t *testing.T, name string, v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(2)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 2, 2))
			for k := 0; k < 2; k++ {
				fillElem(t, name+"."+v.Type().Field(i).Name, f.Index(k))
			}
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"k": "v"}))
		default:
			t.Fatalf("%s.%s: a %s; teach this test and cmon/parse.c", name, v.Type().Field(i).Name, f.Kind())
		}
	}
}

// fillElem sets a slice element: a string or a struct of settings.
func fillElem(t *testing.T, name string, e reflect.Value) {
	switch e.Kind() {
	case reflect.String:
		e.SetString("a")
	case reflect.Struct:
		fillSettings(t, name, e)
	default:
		t.Fatalf("%s: elements of kind %s; teach this test and cmon/parse.c", name, e.Kind())
	}
}

// FuzzCMonitorParse feeds the C monitor's parsers (config, ctl, attach
// and release requests) and compares them with encoding/json. Build the monitor with
// AddressSanitizer for a fuzz run: BERTH_MONITOR_TEST_ASAN=1.
func FuzzCMonitorParse(f *testing.F) {
	// Built before fuzzing: a build inside the first input would pass the
	// fuzzer's time limit for one input.
	cmonBinary(f)
	modes := []string{"config", "ctl", "attach", "release"}
	for _, s := range parseSeeds {
		for i, m := range modes {
			if m == s.mode {
				f.Add(uint8(i), []byte(s.in))
			}
		}
	}
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		checkParse(t, modes[int(mode)%len(modes)], in)
	})
}
