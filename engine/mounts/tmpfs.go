package mounts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/mount"
)

// tmpfsOptionsString renders --mount tmpfs options as mount options, as
// Docker: the size with the largest unit dividing it, the mode in octal.
func tmpfsOptionsString(o *mount.TmpfsOptions, ro bool) string {
	var opts []string
	if o != nil {
		if size := o.SizeBytes; size != 0 {
			suffix := ""
			for _, u := range []struct {
				s string
				d int64
			}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
				if size%u.d == 0 {
					size, suffix = size/u.d, u.s
					break
				}
			}
			opts = append(opts, fmt.Sprintf("size=%d%s", size, suffix))
		}
		if o.Mode != 0 {
			opts = append(opts, fmt.Sprintf("mode=%o", o.Mode))
		}
		for _, kv := range o.Options {
			opts = append(opts, strings.Join(kv, "="))
		}
	}
	if ro {
		opts = append(opts, "ro")
	}
	return strings.Join(opts, ",")
}

// tmpfsFlags are the --tmpfs option words that are mount flags.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true, "nodev": true,
	"sync": true, "async": true, "atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true, "mand": true, "nomand": true,
	"dirsync": true, "remount": true, "private": true, "rprivate": true, "shared": true, "rshared": true,
	"slave": true, "rslave": true, "bind": false, "tmpcopyup": true, "notmpcopyup": true,
}

// validateTmpfsOptions checks a --tmpfs option list: flags and size=,
// mode=, uid=, gid=, nr_inodes=, nr_blocks=.
func validateTmpfsOptions(opts string) error {
	if opts == "" {
		return nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, hasValue := strings.Cut(o, "=")
		if !hasValue {
			if !tmpfsFlags[k] {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
			continue
		}
		switch k {
		case "size":
			if strings.HasSuffix(v, "%") {
				if _, err := strconv.ParseUint(strings.TrimSuffix(v, "%"), 10, 8); err != nil {
					return fmt.Errorf("invalid tmpfs option %q", o)
				}
			} else if _, err := units.RAMInBytes(v); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		case "mode":
			if _, err := strconv.ParseUint(v, 8, 32); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		case "uid", "gid", "nr_inodes", "nr_blocks":
			if _, err := units.RAMInBytes(v); err != nil {
				return fmt.Errorf("invalid tmpfs option %q", o)
			}
		default:
			return fmt.Errorf("invalid tmpfs option %q", o)
		}
	}
	return nil
}
