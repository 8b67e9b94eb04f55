package runtime

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// applySecurityOpts handles --security-opt: seccomp (Docker's default
// profile unless "unconfined" or a custom profile is given), and
// no-new-privileges. AppArmor and SELinux labels are accepted and ignored
// when the host has neither.
func applySecurityOpts(s *specs.Spec, hc *container.HostConfig) error {
	profile := "builtin"
	for _, opt := range hc.SecurityOpt {
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			k, v, ok = strings.Cut(opt, ":")
		}
		switch k {
		case "no-new-privileges":
			s.Process.NoNewPrivileges = !ok || v == "true" || v == ""
		case "seccomp":
			profile = v
		case "apparmor", "label", "systempaths", "mask":
			if k == "systempaths" && v == "unconfined" {
				s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			}
		default:
			return fmt.Errorf("invalid --security-opt: %q", opt)
		}
	}
	if hc.Privileged || profile == "unconfined" {
		return nil
	}
	var (
		sc  *specs.LinuxSeccomp
		err error
	)
	switch {
	case profile == "builtin" || profile == "":
		sc, err = defaultSeccomp(s)
	case strings.HasPrefix(strings.TrimSpace(profile), "{"):
		sc, err = seccomp.LoadProfile(profile, s)
	default:
		data, rerr := os.ReadFile(profile)
		if rerr != nil {
			return fmt.Errorf("opening seccomp profile (%s) failed: %v", profile, rerr)
		}
		sc, err = seccomp.LoadProfile(string(data), s)
	}
	if err != nil {
		return fmt.Errorf("seccomp profile: %v", err)
	}
	s.Linux.Seccomp = sc
	return nil
}

// applyDevices adds --device host devices and their cgroup permissions.
func applyDevices(s *specs.Spec, hc *container.HostConfig) error {
	for _, d := range hc.Devices {
		dst := d.PathInContainer
		if dst == "" {
			dst = d.PathOnHost
		}
		// Create checks this; a record from an older berthd may not.
		if !path.IsAbs(dst) || !path.IsAbs(d.PathOnHost) {
			return fmt.Errorf("device %q: %q is not an absolute path", d.PathOnHost, dst)
		}
		dst = path.Clean(dst)
		perms := d.CgroupPermissions
		if perms == "" {
			perms = "rwm"
		}
		dev, err := deviceFromPath(d.PathOnHost)
		if err != nil {
			return fmt.Errorf("error gathering device information while adding custom device %q: %v", d.PathOnHost, err)
		}
		dev.Path = dst
		s.Linux.Devices = append(s.Linux.Devices, *dev)
		major, minor := dev.Major, dev.Minor
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: perms,
		})
	}
	return nil
}
