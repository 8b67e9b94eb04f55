package containers

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resolveUser turns "name", "uid", "name:group" or "uid:gid" into IDs using
// the container's own /etc/passwd and /etc/group, read inside its root (a
// symlink in the image cannot point the lookup at the host's files).
func resolveUser(rootfs, user string, groupAdd []string) (specs.User, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return specs.User{}, err
	}
	defer root.Close()
	passwd := readColonFile(root, "etc/passwd")
	groups := readColonFile(root, "etc/group")

	u := specs.User{}
	name, group, hasGroup := strings.Cut(user, ":")
	var username string
	switch {
	case name == "":
		u.UID, u.GID, username = 0, 0, "root"
	case isNumber(name):
		n, _ := strconv.ParseUint(name, 10, 32)
		u.UID = uint32(n)
		for _, f := range passwd {
			if len(f) > 3 && f[2] == name {
				g, _ := strconv.ParseUint(f[3], 10, 32)
				u.GID = uint32(g)
				username = f[0]
				break
			}
		}
	default:
		found := false
		for _, f := range passwd {
			if len(f) > 3 && f[0] == name {
				uid, _ := strconv.ParseUint(f[2], 10, 32)
				gid, _ := strconv.ParseUint(f[3], 10, 32)
				u.UID, u.GID, username, found = uint32(uid), uint32(gid), name, true
				break
			}
		}
		if !found {
			return u, errdefs.Invalid("unable to find user %s: no matching entries in passwd file", name)
		}
	}
	if hasGroup {
		gid, err := lookupGroup(groups, group)
		if err != nil {
			return u, err
		}
		u.GID = gid
	}
	seen := map[uint32]bool{}
	if username != "" {
		for _, f := range groups {
			if len(f) > 3 {
				for _, m := range strings.Split(f[3], ",") {
					if m == username {
						g, _ := strconv.ParseUint(f[2], 10, 32)
						if !seen[uint32(g)] && uint32(g) != u.GID {
							seen[uint32(g)] = true
							u.AdditionalGids = append(u.AdditionalGids, uint32(g))
						}
					}
				}
			}
		}
	}
	for _, g := range groupAdd {
		gid, err := lookupGroup(groups, g)
		if err != nil {
			return u, err
		}
		if !seen[gid] {
			seen[gid] = true
			u.AdditionalGids = append(u.AdditionalGids, gid)
		}
	}
	return u, nil
}

func lookupGroup(groups [][]string, g string) (uint32, error) {
	if isNumber(g) {
		n, _ := strconv.ParseUint(g, 10, 32)
		return uint32(n), nil
	}
	for _, f := range groups {
		if len(f) > 2 && f[0] == g {
			n, _ := strconv.ParseUint(f[2], 10, 32)
			return uint32(n), nil
		}
	}
	return 0, errdefs.Invalid("unable to find group %s: no matching entries in group file", g)
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// readColonFile reads a passwd-style file inside root; a missing file is
// empty. At most 1 MiB is read: an image cannot make berthd read a huge file.
func readColonFile(root *os.Root, name string) [][]string {
	f, err := root.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}
