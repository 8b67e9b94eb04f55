package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// TestDecodeBody decodes a large body of known length (read whole into
// one buffer) and a small or unsized one (json.Decoder) to the same
// values, and fails on a body shorter than its Content-Length.
func TestDecodeBody(t *testing.T) {
	list := make([]container.Summary, 300)
	for i := range list {
		list[i] = container.Summary{ID: fmt.Sprintf("%064x", i), Names: []string{fmt.Sprintf("/c%d", i)}, Image: "busybox", Command: "sleep 1d", Status: "Up 2 minutes"}
	}
	body, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	body = append(body, '\n')
	if len(body) < bigBody {
		t.Fatalf("test body of %d bytes is not big", len(body))
	}
	for _, tc := range []struct {
		name string
		body string
		size int64
	}{
		{"big, sized", string(body), int64(len(body))},
		{"big, chunked", string(body), -1},
		{"small", `[{"Id":"x"}]`, 12},
	} {
		var got []container.Summary
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(tc.body)), ContentLength: tc.size}
		if err := decodeBody(resp, &got); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var want []container.Summary
		if err := json.Unmarshal([]byte(tc.body), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %d items, not as json.Unmarshal does", tc.name, len(got))
		}
	}
	var got []container.Summary
	short := &http.Response{Body: io.NopCloser(strings.NewReader(string(body[:len(body)/2]))), ContentLength: int64(len(body))}
	if err := decodeBody(short, &got); err == nil {
		t.Error("a body shorter than its Content-Length decoded without error")
	}
}
