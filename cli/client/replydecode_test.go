package client

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/moby/moby/api/types/container"
)

var replySeeds = []string{
	`{"Id":"0123abcd","Warnings":[]}`,
	`{"Id":"0123abcd","Warnings":null}` + "\n",
	`{"Id":"x","Warnings":["a","b\u00e9\n"]}`,
	`{"StatusCode":0}` + "\n",
	`{"StatusCode":137,"Error":null}`,
	`{"StatusCode":-1,"Error":{"Message":"container \"x\" not found"}}`,
	`{"StatusCode":1,"Error":{"Message":"a"},"Error":{"Other":1}}`,
	` { "StatusCode" : 2 , "Extra" : [1, {"a": null}] } `,
	`{"statuscode":3}`,
	`{"StatusCode":1.5}`,
	`{"StatusCode":99999999999999999999}`,
	`{"StatusCode":0}x`,
	`{"StatusCode":0`,
	`{"Id":"\xff"}`,
	`[]`,
	``,
}

// decodeBoth decodes data into a fresh T with decodeFast and, when that
// takes it, checks json.Unmarshal gives the same value and no error.
func decodeBoth[T any](t *testing.T, data string) bool {
	var fast, std T
	if !decodeFast([]byte(data), &fast) {
		return false
	}
	if err := json.Unmarshal([]byte(data), &std); err != nil {
		t.Fatalf("decodeFast took %q, json.Unmarshal: %v", data, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%q: decodeFast %#v, json.Unmarshal %#v", data, fast, std)
	}
	return true
}

func TestDecodeFast(t *testing.T) {
	for _, s := range replySeeds {
		decodeBoth[container.CreateResponse](t, s)
		decodeBoth[container.WaitResponse](t, s)
	}
	// The replies berthd sends are decoded here, not left to json.
	for _, s := range replySeeds[:3] {
		if !decodeBoth[container.CreateResponse](t, s) {
			t.Errorf("create reply %q not decoded", s)
		}
	}
	for _, s := range replySeeds[3:8] {
		if !decodeBoth[container.WaitResponse](t, s) {
			t.Errorf("wait reply %q not decoded", s)
		}
	}
	if decodeFast([]byte(`{"StatusCode":0}`), new(container.Summary)) {
		t.Error("decodeFast took a type it does not know")
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, s := range replySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		decodeBoth[container.CreateResponse](t, s)
		decodeBoth[container.WaitResponse](t, s)
	})
}

// TestReadReply reads a reply byte by byte, leaves one it does not
// handle to json.Decoder with the same bytes (and the body's error after
// them), and returns as soon as the value is complete, before the body
// ends (the wait reply's chunked body ends after it).
func TestReadReply(t *testing.T) {
	var r container.WaitResponse
	if _, ok := readReply(iotest.OneByteReader(strings.NewReader(`{"StatusCode":7}`+"\n")), &r); !ok || r.StatusCode != 7 {
		t.Errorf("byte by byte: ok %v, %+v", ok, r)
	}

	odd := `{"StatusCode":7.0}`
	rest, ok := readReply(strings.NewReader(odd), &r)
	if ok {
		t.Fatalf("%s decoded", odd)
	}
	if b, err := io.ReadAll(rest); string(b) != odd || err != nil {
		t.Errorf("rest read %q, %v; want %q", b, err, odd)
	}

	boom := errors.New("boom")
	rest, ok = readReply(io.MultiReader(strings.NewReader(`{"Stat`), iotest.ErrReader(boom)), &r)
	if ok {
		t.Fatal("a cut reply decoded")
	}
	if b, err := io.ReadAll(rest); string(b) != `{"Stat` || err != boom {
		t.Errorf("rest read %q, %v; want the bytes, then boom", b, err)
	}

	pr, pw := io.Pipe()
	defer pr.Close()
	go pw.Write([]byte(`{"StatusCode":0}` + "\n"))
	r = container.WaitResponse{StatusCode: 9}
	if _, ok := readReply(pr, &r); !ok || r.StatusCode != 0 {
		t.Errorf("open body: ok %v, %+v", ok, r)
	}
}
