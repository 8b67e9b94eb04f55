package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestHasState(t *testing.T) {
	root := t.TempDir()
	r := &Runtime{Name: "crun", Path: "/nonexistent/crun", Root: root}
	if r.HasState("abc") {
		t.Fatal("HasState with no state directory = true")
	}
	if err := os.Mkdir(filepath.Join(root, "abc"), 0o700); err != nil {
		t.Fatal(err)
	}
	if !r.HasState("abc") {
		t.Fatal("HasState with a state directory = false")
	}
	// Unsure answers ask the runtime.
	for _, id := range []string{"", ".", "..", "a/b", "../abc"} {
		if !r.HasState(id) {
			t.Errorf("HasState(%q) = false, want true (unsure)", id)
		}
	}
	for _, args := range [][]string{{"--root", "/elsewhere"}, {"--root=/elsewhere"}} {
		o := &Runtime{Name: "crun", Path: "/nonexistent/crun", Root: root, Args: args}
		if !o.HasState("missing") {
			t.Errorf("HasState with runtimeArgs %q = false, want true", args)
		}
	}
	if (&Runtime{Path: "/nonexistent/crun"}).HasState("missing") != true {
		t.Error("HasState with no root = false, want true")
	}
}

// Delete of a container the runtime holds nothing of runs no runtime: the
// binary here does not exist, so any call would fail.
func TestDeleteWithoutStateRunsNothing(t *testing.T) {
	r := &Runtime{Name: "crun", Path: "/nonexistent/crun", Root: t.TempDir()}
	if err := r.Delete(context.Background(), "missing", true); err != nil {
		t.Fatalf("Delete without state: %v", err)
	}
	if err := os.Mkdir(filepath.Join(r.Root, "present"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(context.Background(), "present", true); err == nil {
		t.Fatal("Delete with state did not call the runtime")
	}
}
