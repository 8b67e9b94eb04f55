package client

import (
	"os"
	"testing"
)

// BenchmarkDecodeRows decodes the reply in $BERTH_LIST_JSON (a saved
// /containers/json reply, e.g. of 200 containers).
func BenchmarkDecodeRows(b *testing.B) {
	path := os.Getenv("BERTH_LIST_JSON")
	if path == "" {
		b.Skip("BERTH_LIST_JSON names no saved reply")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, ok := decodeRows(data); !ok {
			b.Fatal("not decoded")
		}
	}
}
