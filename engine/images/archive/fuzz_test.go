package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary tar streams to Extract and checks that nothing
// ever appears outside the layer root.
func FuzzExtract(f *testing.F) {
	f.Add(buildTar(f, ent{name: "a", body: "x"}))
	f.Add(buildTar(f, ent{name: "l", typ: tar.TypeSymlink, link: "../outside"}, ent{name: "l/x", body: "x"}))
	f.Add(buildTar(f, ent{name: "h", typ: tar.TypeLink, link: "../outside/secret"}))
	f.Add(buildTar(f, ent{name: "../../x", body: "x"}, ent{name: "d/.wh..", body: ""}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		root := filepath.Join(dir, "layer")
		outside := filepath.Join(dir, "outside")
		os.Mkdir(root, 0o755)
		os.Mkdir(outside, 0o755)
		os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
		_, _ = Extract(bytes.NewReader(data), root, Options{MaxSize: 1 << 20, MaxEntries: 1000})
		ents, _ := os.ReadDir(outside)
		if len(ents) != 1 {
			t.Fatalf("outside changed: %v", ents)
		}
		if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "s" {
			t.Fatal("outside file changed")
		}
		top, _ := os.ReadDir(dir)
		for _, e := range top {
			if e.Name() != "layer" && e.Name() != "outside" && !strings.HasPrefix(e.Name(), ".") {
				t.Fatalf("stray entry %s next to the layer", e.Name())
			}
		}
	})
}
