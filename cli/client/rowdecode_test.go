package client

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// rowSeeds are list replies decodeRows must decode as json.Unmarshal does
// (or leave to it).
func rowSeeds(t testing.TB) [][]byte {
	list := richList(3)
	list[0].Command = `sh -c "echo \"hi\" \\ there" ünïcode ☃ </script>`
	list[0].Names = []string{"/näme", "/\u2028x"}
	list[1].Ports = []container.PortSummary{{IP: netip.MustParseAddr("127.0.0.1"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"}, {IP: netip.MustParseAddr("::1"), PrivatePort: 53, PublicPort: 5353, Type: "udp"}}
	list[2].Health = &container.HealthSummary{Status: container.Healthy}
	body, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{
		body,
		[]byte("[]"), []byte(" [ ] \n"), []byte("null"), []byte(`[{}]`), []byte(`[null]`),
		[]byte(`[{"Id":"a","id":"b"}]`), []byte(`[{"ID":"a"}]`), []byte(`[{"Id":"a","Id":"b"}]`),
		[]byte(`[{"Names":null}]`), []byte(`[{"Names":["a",1]}]`), []byte(`[{"Created":1.5}]`),
		[]byte(`[{"Created":-0,"SizeRw":9223372036854775807,"SizeRootFs":-9223372036854775808}]`),
		[]byte(`[{"Created":9223372036854775808}]`), []byte(`[{"Ports":[{"PrivatePort":65536}]}]`), []byte(`[{"Ports":[{"PrivatePort":-0,"PublicPort":65535}]}]`),
		[]byte(`[{"Ports":[{"IP":"","PrivatePort":1,"Type":"tcp","x":[1,{"y":null}]}]}]`),
		[]byte(`[{"Ports":[{"IP":"nope"}]}]`), []byte(`[{"Ports":[{"ip":"::1"}]}]`),
		[]byte(`[{"I\u0064":"esc","Labels":{"a":"b\u00e9"},"x":[true,false,null,-1.5e+3,0.0,{}]}]`),
		[]byte("[{\"Id\":\"\xff\"}]"), []byte("[{\"x\":\"\xff\"}]"), []byte("[{\"Id\":\"a\tb\"}]"),
		[]byte(`[{"Id":"a"}] x`), []byte(`[{"Id":"a"},]`), []byte(`[{"Id" "a"}]`), []byte(`[{"x":01}]`),
		[]byte(`[{"x":"\x"}]`), []byte(`[{"x":"\u12"}]`), []byte(`[{"x":-}]`), []byte(`[{"x":1.}]`), []byte(`[{"x":1e}]`),
		[]byte(`[{"State":"running","Status":"Up 2 minutes (healthy)"}]`), []byte(`[{"ſtate":"x"}]`),
	}
}

// checkRows fails if decodeRows accepts data and json.Unmarshal does not
// decode it to the same rows.
func checkRows(t *testing.T, data []byte) {
	rows, ok := decodeRows(data)
	if !ok {
		return
	}
	var want []containerRow
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("decodeRows accepted %q, which json.Unmarshal refuses: %v", data, err)
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("decodeRows(%q) =\n%+v\njson.Unmarshal:\n%+v", data, rows, want)
	}
}

// TestDecodeRows checks decodeRows against json.Unmarshal on the seeds,
// and that it handles the replies daemons send (the fast path is taken).
func TestDecodeRows(t *testing.T) {
	seeds := rowSeeds(t)
	for _, s := range seeds {
		checkRows(t, s)
	}
	for _, s := range [][]byte{seeds[0], []byte("[]\n")} {
		if _, ok := decodeRows(s); !ok {
			t.Errorf("decodeRows does not handle %.200q", s)
		}
	}
	full, err := json.Marshal(richList(5))
	if err != nil {
		t.Fatal(err)
	}
	rows, ok := decodeRows(full)
	if !ok || len(rows) != 5 || rows[4].Ports[0].PublicPort != 8004 || rows[4].Names[1] != "/other/alias" {
		t.Errorf("decodeRows of a full list: %v, %+v", ok, rows)
	}
}

// FuzzDecodeRows checks that whatever decodeRows accepts, json.Unmarshal
// decodes to the same rows.
func FuzzDecodeRows(f *testing.F) {
	for _, s := range rowSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkRows)
}
