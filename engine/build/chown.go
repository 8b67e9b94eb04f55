package build

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/berth-dev/berth/internal/errdefs"
)

// resolveChown turns a --chown value ("user", "user:group", names or
// numbers) into IDs, looking names up in the image's /etc/passwd and
// /etc/group. A user without a group takes the group of the same name or
// number, as Docker's classic builder does. Empty means root.
func resolveChown(rootfs, spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	user, group, ok := strings.Cut(spec, ":")
	if !ok {
		group = user
	}
	uid, err = lookupID(rootfs, "/etc/passwd", user)
	if err != nil {
		return 0, 0, errdefs.Invalid("unable to convert uid/gid chown string to host mapping: can't find uid for user %s: %s", user, err.Error())
	}
	gid, err = lookupID(rootfs, "/etc/group", group)
	if err != nil {
		if !ok {
			// "--chown=user" with no group of that name: the user's
			// primary group.
			if g, perr := primaryGroup(rootfs, user); perr == nil {
				return uid, g, nil
			}
		}
		return 0, 0, errdefs.Invalid("unable to convert uid/gid chown string to host mapping: can't find gid for group %s: %s", group, err.Error())
	}
	return uid, gid, nil
}

func lookupID(rootfs, file, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		if n < 0 {
			return 0, errdefs.Invalid("negative id %d", n)
		}
		return n, nil
	}
	var id = -1
	err := scanDB(rootfs, file, func(f []string) bool {
		if len(f) >= 3 && f[0] == name {
			id, _ = strconv.Atoi(f[2])
			return true
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	if id < 0 {
		return 0, errdefs.NotFound("no such entry in %s", file)
	}
	return id, nil
}

func primaryGroup(rootfs, user string) (int, error) {
	gid := -1
	err := scanDB(rootfs, "/etc/passwd", func(f []string) bool {
		if len(f) >= 4 && (f[0] == user || f[2] == user) {
			gid, _ = strconv.Atoi(f[3])
			return true
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	if gid < 0 {
		return 0, errdefs.NotFound("no such user %s", user)
	}
	return gid, nil
}

// scanDB reads a colon-separated file of the image, resolved inside it and
// capped in size.
func scanDB(rootfs, file string, fn func(fields []string) bool) error {
	p, err := securejoin.SecureJoin(rootfs, file)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	for sc.Scan() {
		if fn(strings.Split(sc.Text(), ":")) {
			return nil
		}
	}
	return sc.Err()
}
