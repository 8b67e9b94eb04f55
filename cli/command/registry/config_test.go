package registry

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func setHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("BERTH_CONFIG", "")
	t.Setenv("DOCKER_CONFIG", "")
	return home
}

func TestStoreEraseAndDockerFallback(t *testing.T) {
	home := setHome(t)
	// Docker's file has Hub credentials and an unrelated key.
	dockerDir := filepath.Join(home, ".docker")
	os.MkdirAll(dockerDir, 0o700)
	os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"`+
		base64.StdEncoding.EncodeToString([]byte("hub:pw"))+`"}}}`), 0o600)

	if a, ok, err := Credentials("docker.io"); err != nil || !ok || a.Username != "hub" || a.Password != "pw" {
		t.Fatalf("docker fallback: %+v %v %v", a, ok, err)
	}
	if _, ok, _ := Credentials("127.0.0.1:5000"); ok {
		t.Fatal("credentials for a registry never logged in to")
	}
	// A berth file with other settings keeps them.
	os.MkdirAll(filepath.Join(home, ".berth"), 0o700)
	os.WriteFile(filepath.Join(home, ".berth", "config.json"), []byte(`{"detachKeys":"ctrl-x"}`), 0o600)
	where, err := Store("http://127.0.0.1:5000/v2/", AuthConfig{Username: "alice", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if where != filepath.Join(home, ".berth", "config.json") {
		t.Fatalf("stored in %s", where)
	}
	raw, _ := os.ReadFile(where)
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	auth := f["auths"].(map[string]any)["127.0.0.1:5000"].(map[string]any)["auth"]
	if auth != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) || f["detachKeys"] != "ctrl-x" {
		t.Fatalf("file %s", raw)
	}
	if fi, _ := os.Stat(where); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if a, ok, _ := Credentials("127.0.0.1:5000"); !ok || a.Password != "s3cret" || a.ServerAddress != "127.0.0.1:5000" {
		t.Fatalf("read back %+v", a)
	}
	hdr := AuthHeaderFor("127.0.0.1:5000")
	dec, _ := base64.URLEncoding.DecodeString(hdr)
	if !strings.Contains(string(dec), `"username":"alice"`) {
		t.Fatalf("header %s", dec)
	}
	if found, err := Erase("127.0.0.1:5000"); !found || err != nil {
		t.Fatalf("erase: %v %v", found, err)
	}
	if found, _ := Erase("127.0.0.1:5000"); found {
		t.Fatal("erased twice")
	}
	if AuthHeaderFor("127.0.0.1:5000") != "e30=" {
		t.Fatal("anonymous header expected after logout")
	}
}

// A credential helper (the docker-credential-* protocol) stores and
// returns the secret; nothing goes into the file.
func TestCredentialHelper(t *testing.T) {
	home := setHome(t)
	bin := filepath.Join(home, "bin")
	os.MkdirAll(bin, 0o755)
	store := filepath.Join(home, "helper-store")
	script := `#!/bin/sh
case "$1" in
store) cat > "` + store + `" ;;
get) read server; if [ -f "` + store + `" ]; then cat "` + store + `"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f "` + store + `" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-testhelper"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	os.MkdirAll(filepath.Join(home, ".berth"), 0o700)
	os.WriteFile(filepath.Join(home, ".berth", "config.json"), []byte(`{"credHelpers":{"127.0.0.1:5000":"testhelper"}}`), 0o600)

	if _, ok, err := Credentials("127.0.0.1:5000"); ok || err != nil {
		t.Fatalf("empty helper: %v %v", ok, err)
	}
	where, err := Store("127.0.0.1:5000", AuthConfig{Username: "bob", Password: "pw2"})
	if err != nil || !strings.Contains(where, "testhelper") {
		t.Fatalf("store: %s %v", where, err)
	}
	if b, _ := os.ReadFile(store); !strings.Contains(string(b), `"Secret":"pw2"`) {
		t.Fatalf("helper got %s", b)
	}
	if raw, _ := os.ReadFile(filepath.Join(home, ".berth", "config.json")); strings.Contains(string(raw), "pw2") {
		t.Fatal("secret written to the file despite the helper")
	}
	if a, ok, err := Credentials("127.0.0.1:5000"); !ok || err != nil || a.Username != "bob" || a.Password != "pw2" {
		t.Fatalf("get: %+v %v %v", a, ok, err)
	}
	if found, err := Erase("127.0.0.1:5000"); !found || err != nil {
		t.Fatalf("erase: %v %v", found, err)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatal("helper not asked to erase")
	}
}
