// Package registry holds `berth login` and `berth logout` and the client's
// registry credentials: ~/.berth/config.json in Docker's config.json
// format (auths with base64 "user:password", credsStore, credHelpers), with
// Docker's own ~/.docker/config.json read when Berth's has no entry.
package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DockerHubServer is the key Docker stores Docker Hub credentials under.
const DockerHubServer = "https://index.docker.io/v1/"

// AuthConfig is one registry's credentials.
type AuthConfig struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	ServerAddress string `json:"serveraddress,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// ConfigFile is a config.json. Keys Berth does not know are kept as they
// were, so a file shared with docker loses nothing.
type ConfigFile struct {
	Path        string
	Auths       map[string]AuthConfig
	CredsStore  string
	CredHelpers map[string]string
	other       map[string]json.RawMessage
}

// ConfigDir is where Berth keeps its client config: $BERTH_CONFIG, else
// ~/.berth.
func ConfigDir() string {
	if d := os.Getenv("BERTH_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(homeDir(), ".berth")
}

// DockerConfigDir is docker's: $DOCKER_CONFIG, else ~/.docker.
func DockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(homeDir(), ".docker")
}

func homeDir() string {
	if h := os.Getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// LoadConfig reads dir/config.json; a missing file is an empty config.
func LoadConfig(dir string) (*ConfigFile, error) {
	cf := &ConfigFile{Path: filepath.Join(dir, "config.json"), Auths: map[string]AuthConfig{}, CredHelpers: map[string]string{}, other: map[string]json.RawMessage{}}
	data, err := os.ReadFile(cf.Path)
	if errors.Is(err, os.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return cf, nil
	}
	if err := json.Unmarshal(data, &cf.other); err != nil {
		return nil, fmt.Errorf("loading config file %s: %w", cf.Path, err)
	}
	if raw, ok := cf.other["auths"]; ok {
		if err := json.Unmarshal(raw, &cf.Auths); err != nil {
			return nil, fmt.Errorf("loading config file %s: auths: %w", cf.Path, err)
		}
	}
	if raw, ok := cf.other["credsStore"]; ok {
		_ = json.Unmarshal(raw, &cf.CredsStore)
	}
	if raw, ok := cf.other["credHelpers"]; ok {
		_ = json.Unmarshal(raw, &cf.CredHelpers)
	}
	if cf.Auths == nil {
		cf.Auths = map[string]AuthConfig{}
	}
	if cf.CredHelpers == nil {
		cf.CredHelpers = map[string]string{}
	}
	for k, a := range cf.Auths {
		// The file keeps "auth" (base64 user:password); callers see both.
		if a.Auth != "" && a.Username == "" {
			if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if u, p, ok := strings.Cut(string(dec), ":"); ok {
					a.Username, a.Password = u, p
				}
			}
		}
		a.ServerAddress = k
		cf.Auths[k] = a
	}
	return cf, nil
}

// Save writes the file atomically (mode 0600, directory 0700).
func (cf *ConfigFile) Save() error {
	auths := map[string]map[string]string{}
	for k, a := range cf.Auths {
		e := map[string]string{}
		if a.Username != "" || a.Password != "" {
			e["auth"] = base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))
		}
		if a.IdentityToken != "" {
			e["identitytoken"] = a.IdentityToken
		}
		auths[k] = e
	}
	out := map[string]any{}
	for k, v := range cf.other {
		out[k] = v
	}
	out["auths"] = auths
	if cf.CredsStore != "" {
		out["credsStore"] = cf.CredsStore
	}
	if len(cf.CredHelpers) > 0 {
		out["credHelpers"] = cf.CredHelpers
	}
	data, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return err
	}
	dir := filepath.Dir(cf.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".config.json-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), cf.Path)
}

// ServerKey is the config.json key for a registry: Docker Hub's v1 URL
// for Docker Hub, else the host[:port] without scheme or path.
func ServerKey(server string) string {
	h := Hostname(server)
	if h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io" {
		return DockerHubServer
	}
	return h
}

// Hostname strips scheme and path from a server address.
func Hostname(server string) string {
	s := strings.TrimSpace(server)
	if s == "" {
		return "docker.io"
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	s, _, _ = strings.Cut(s, "/")
	return strings.ToLower(s)
}

// helperFor is the credential helper configured for key ("" for none).
func (cf *ConfigFile) helperFor(key string) string {
	if h := cf.CredHelpers[Hostname(key)]; h != "" {
		return h
	}
	if h := cf.CredHelpers[key]; h != "" {
		return h
	}
	return cf.CredsStore
}

// get returns the stored credentials for key, from its helper or auths.
func (cf *ConfigFile) get(key string) (AuthConfig, bool, error) {
	if h := cf.helperFor(key); h != "" {
		a, err := helperGet(h, key)
		if err != nil {
			return AuthConfig{}, false, err
		}
		return a, a.Username != "" || a.IdentityToken != "", nil
	}
	if a, ok := cf.Auths[key]; ok {
		return a, true, nil
	}
	// Keys written by other tools may carry a scheme or path.
	for k, a := range cf.Auths {
		if ServerKey(k) == key {
			return a, true, nil
		}
	}
	return AuthConfig{}, false, nil
}
