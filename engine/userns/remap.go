// Package userns implements daemon.json "userns-remap", as Docker's: every
// container (unless --userns=host) runs in a user namespace whose root is
// an unprivileged range of host ids, the subordinate ids of one user in
// /etc/subuid and /etc/subgid ("default" creates the berth-remap user and
// gives it a range).
//
// Unlike Docker, image layers are not chown-copied per mapping: the
// container's overlay is mounted on idmapped layers (mount_setattr
// MOUNT_ATTR_IDMAP, see idmap_linux.go), so on disk the layers and the
// container's writable layer keep the image's ids, shared with every
// other container, and commit, cp and diff read them as they are.
package userns

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
)

// DefaultUser is the user "userns-remap": "default" maps containers to
// (Docker's is dockremap).
const DefaultUser = "berth-remap"

// span is the number of ids given to a container's namespace, and to the
// remap user when berthd allocates its range (Docker's 65536).
const span = 65536

// firstSubID is where berthd starts allocating subordinate ids when the
// files have none (useradd's SUB_UID_MIN).
const firstSubID = 100000

// Range is a run of host ids [Start, Start+Size).
type Range struct{ Start, Size uint32 }

// Remap is the daemon's user namespace mapping: container id 0..Size-1 is
// host id Start..Start+Size-1, separately for users and groups.
type Remap struct {
	User, Group string
	UID, GID    Range

	mu sync.Mutex
	ns *os.File // a user namespace with this mapping, for idmapped mounts
}

// ParseSpec splits a "userns-remap" value: "default", "user" or
// "user:group" (names or numeric ids). The group defaults to the user.
func ParseSpec(v string) (usr, group string, err error) {
	if v == "" {
		return "", "", nil
	}
	usr, group, _ = strings.Cut(v, ":")
	if usr == "default" {
		if group != "" && group != "default" {
			return "", "", fmt.Errorf("userns-remap %q: \"default\" takes no group", v)
		}
		return DefaultUser, DefaultUser, nil
	}
	if group == "" {
		group = usr
	}
	for _, s := range []string{usr, group} {
		if s == "" || strings.ContainsAny(s, " \t\n:/") || s == "root" || s == "0" {
			return "", "", fmt.Errorf("invalid userns-remap %q: want \"default\", \"user\" or \"user:group\" of an unprivileged user", v)
		}
	}
	return usr, group, nil
}

// subIDRanges returns the ranges of /etc/subuid-style content granted to
// name (or to its numeric id), in file order.
func subIDRanges(content, name, id string) []Range {
	var out []Range
	for _, line := range strings.Split(content, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || (f[0] != name && (id == "" || f[0] != id)) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		size, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 || start == 0 || start+size > 1<<32 {
			continue
		}
		out = append(out, Range{uint32(start), uint32(size)})
	}
	return out
}

// nextFreeStart is where a new range of span ids can go: past every range
// the content grants (never below firstSubID).
func nextFreeStart(content string) (uint32, error) {
	end := uint64(firstSubID)
	for _, line := range strings.Split(content, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		size, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		if start+size > end {
			end = start + size
		}
	}
	if end+span > 1<<32-1 {
		return 0, fmt.Errorf("no room for %d more subordinate ids", span)
	}
	return uint32(end), nil
}

// Setup resolves a "userns-remap" value into the mapping, creating the
// berth-remap user and its subordinate ranges for "default" (idempotent:
// an existing user and ranges are reused). A named user must exist and
// have ranges, as with Docker. It returns nil for "".
func Setup(v, subuidPath, subgidPath string) (*Remap, error) {
	usr, group, err := ParseSpec(v)
	if err != nil || usr == "" {
		return nil, err
	}
	if usr == DefaultUser {
		if err := ensureUser(DefaultUser); err != nil {
			return nil, err
		}
	}
	u, err := lookupUser(usr)
	if err != nil {
		return nil, fmt.Errorf("userns-remap: %w", err)
	}
	g, err := lookupGroup(group)
	if err != nil {
		return nil, fmt.Errorf("userns-remap: %w", err)
	}
	r := &Remap{User: u.Username, Group: g.Name}
	if r.UID, err = subRange(subuidPath, u.Username, u.Uid, usr == DefaultUser); err != nil {
		return nil, err
	}
	if r.GID, err = subRange(subgidPath, g.Name, g.Gid, usr == DefaultUser); err != nil {
		return nil, err
	}
	return r, nil
}

// subRange returns the first range path grants to name of at least span
// ids (cut to span), allocating one at the end of the file if allowed.
func subRange(path, name, id string, allocate bool) (Range, error) {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return Range{}, err
	}
	for _, r := range subIDRanges(string(b), name, id) {
		if r.Size >= span {
			return Range{r.Start, span}, nil
		}
	}
	if !allocate {
		return Range{}, fmt.Errorf("userns-remap: no subordinate id range of %d ids for %q in %s", span, name, path)
	}
	start, err := nextFreeStart(string(b))
	if err != nil {
		return Range{}, fmt.Errorf("userns-remap: %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Range{}, err
	}
	defer f.Close()
	line := fmt.Sprintf("%s:%d:%d\n", name, start, span)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return Range{}, err
	}
	return Range{start, span}, f.Sync()
}

// ensureUser creates a system user (and its group) without home or login
// shell when it does not exist.
func ensureUser(name string) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		// Another berthd may have created it meanwhile.
		if _, lerr := user.Lookup(name); lerr == nil {
			return nil
		}
		return fmt.Errorf("userns-remap: create user %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupId(s)
	}
	return user.Lookup(s)
}

func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return user.LookupGroupId(s)
	}
	return user.LookupGroup(s)
}

// HostRoot is the host uid and gid of the container's root.
func (r *Remap) HostRoot() (uid, gid int) { return int(r.UID.Start), int(r.GID.Start) }

// String is how info and logs show the mapping ("berth-remap:berth-remap").
func (r *Remap) String() string { return r.User + ":" + r.Group }

// SubUIDFile and SubGIDFile are where subordinate ids are granted.
const (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)
