package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Credentials returns the credentials stored for server (any form:
// "127.0.0.1:5000", "https://index.docker.io/v1/", "docker.io"): Berth's
// config first, then Docker's. ok is false when neither has any.
func Credentials(server string) (a AuthConfig, ok bool, err error) {
	key := ServerKey(server)
	for _, dir := range []string{ConfigDir(), DockerConfigDir()} {
		cf, err := LoadConfig(dir)
		if err != nil {
			return AuthConfig{}, false, err
		}
		a, ok, err := cf.get(key)
		if err != nil {
			return AuthConfig{}, false, err
		}
		if ok {
			a.ServerAddress = key
			return a, true, nil
		}
	}
	return AuthConfig{ServerAddress: key}, false, nil
}

// Store saves credentials for server in Berth's config, through its
// credential helper when one is configured.
func Store(server string, a AuthConfig) (string, error) {
	cf, err := LoadConfig(ConfigDir())
	if err != nil {
		return "", err
	}
	key := ServerKey(server)
	a.ServerAddress = key
	if h := cf.helperFor(key); h != "" {
		return "credential helper docker-credential-" + h, helperStore(h, key, a)
	}
	stored := AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}
	if a.IdentityToken != "" {
		stored.Password = ""
	}
	cf.Auths[key] = stored
	return cf.Path, cf.Save()
}

// Erase removes the credentials for server from Berth's config (and its
// credential helper). found is false when there were none.
func Erase(server string) (found bool, err error) {
	cf, err := LoadConfig(ConfigDir())
	if err != nil {
		return false, err
	}
	key := ServerKey(server)
	if h := cf.helperFor(key); h != "" {
		if _, ok, _ := cf.get(key); ok {
			found = true
		}
		if err := helperErase(h, key); err != nil {
			return found, err
		}
	}
	for k := range cf.Auths {
		if k == key || ServerKey(k) == key {
			delete(cf.Auths, k)
			found = true
		}
	}
	if !found {
		return false, nil
	}
	return true, cf.Save()
}

// EncodeAuth is the X-Registry-Auth header value for a: base64url JSON of
// Docker's AuthConfig.
func EncodeAuth(a AuthConfig) string {
	data, _ := json.Marshal(a)
	return base64.URLEncoding.EncodeToString(data)
}

// AuthHeaderFor returns the X-Registry-Auth value for the registry of
// image reference host (reference's domain, "docker.io" for Docker Hub);
// anonymous ("e30=", `{}`) when nothing is stored.
func AuthHeaderFor(domain string) string {
	a, ok, err := Credentials(domain)
	if err != nil || !ok {
		return "e30="
	}
	return EncodeAuth(a)
}

// The credential helper protocol (docker-credential-helpers): the verb is
// the argument, the payload goes to stdin, JSON comes back on stdout.
type helperCreds struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// tokenUsername marks an identity token stored in a helper, as Docker does.
const tokenUsername = "<token>"

func runHelper(helper, verb string, stdin []byte) ([]byte, error) {
	cmd := exec.Command("docker-credential-"+helper, verb)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String() + " " + errb.String())
		return out.Bytes(), fmt.Errorf("error %s credentials with docker-credential-%s: %v: %s", verbing(verb), helper, err, msg)
	}
	return out.Bytes(), nil
}

func verbing(v string) string {
	switch v {
	case "get":
		return "getting"
	case "store":
		return "storing"
	}
	return "erasing"
}

func helperGet(helper, key string) (AuthConfig, error) {
	out, err := runHelper(helper, "get", []byte(key))
	if err != nil {
		// "credentials not found in native keychain" is not an error.
		if strings.Contains(string(out), "credentials not found") || strings.Contains(err.Error(), "credentials not found") {
			return AuthConfig{}, nil
		}
		return AuthConfig{}, err
	}
	var c helperCreds
	if err := json.Unmarshal(out, &c); err != nil {
		return AuthConfig{}, fmt.Errorf("docker-credential-%s get: invalid answer: %v", helper, err)
	}
	if c.Username == tokenUsername {
		return AuthConfig{IdentityToken: c.Secret, ServerAddress: key}, nil
	}
	return AuthConfig{Username: c.Username, Password: c.Secret, ServerAddress: key}, nil
}

func helperStore(helper, key string, a AuthConfig) error {
	c := helperCreds{ServerURL: key, Username: a.Username, Secret: a.Password}
	if a.IdentityToken != "" {
		c.Username, c.Secret = tokenUsername, a.IdentityToken
	}
	data, _ := json.Marshal(c)
	_, err := runHelper(helper, "store", data)
	return err
}

func helperErase(helper, key string) error {
	_, err := runHelper(helper, "erase", []byte(key))
	if err != nil && strings.Contains(err.Error(), "credentials not found") {
		return nil
	}
	return err
}
