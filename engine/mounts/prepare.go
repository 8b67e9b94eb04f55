package mounts

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"

	"github.com/moby/moby/api/types/volume"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/archive/securefs"
	"github.com/berth-dev/berth/engine/volumes"
	"github.com/berth-dev/berth/internal/errdefs"
)

// tmpfsDefaults are the options every tmpfs mount starts with (Docker's);
// user options come after them and win ("exec" undoes "noexec").
var tmpfsDefaults = []string{"noexec", "nosuid", "nodev"}

// Prepare runs at container start. It creates the volumes that do not exist
// yet (anonymous ones labelled as such), mounts -o device volumes (pair with
// Release), creates missing -v host folders (a --mount bind source must
// exist), copies the image's content at a volume's destination into the
// volume if the volume is empty (Docker's copy-up; not with NoCopy), and
// returns the OCI mounts, parents before children. It fills mps[i].Source of
// volume mount points with the volume's host folder: the caller keeps the
// updated slice (the cp endpoints need it). rootfs is the container's mounted
// root; "" skips copy-up.
func Prepare(ctx context.Context, vols Volumes, rootfs string, mps []MountPoint) ([]specs.Mount, error) {
	sortMounts(mps)
	out := make([]specs.Mount, 0, len(mps))
	for i := range mps {
		mp := &mps[i]
		switch mp.Type {
		case TypeBind:
			if _, err := os.Stat(mp.Source); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("bind source %s: %w", mp.Source, err)
				}
				if !mp.CreateSource {
					return nil, errdefs.Invalid("%v", errMountConfig(TypeBind, fmt.Errorf("bind source path does not exist: %s", mp.Source)))
				}
				if err := os.MkdirAll(mp.Source, 0o755); err != nil {
					return nil, fmt.Errorf("error while creating mount source path '%s': %w", mp.Source, err)
				}
			}
			if err := checkBindPropagation(mp); err != nil {
				return nil, err
			}
			out = append(out, bindMount(mp))
		case TypeVolume:
			if vols == nil {
				return nil, fmt.Errorf("volume %s: no volume service", mp.Name)
			}
			if err := ensureVolume(ctx, vols, mp); err != nil {
				return nil, err
			}
			src, err := vols.Mountpoint(ctx, mp.Name)
			if err != nil {
				return nil, err
			}
			mp.Source = src
			if mp.Driver == "" {
				mp.Driver = volumes.DriverLocal
			}
			if !mp.NoCopy && rootfs != "" {
				if err := copyUp(ctx, rootfs, mp.Destination, src); err != nil {
					return nil, fmt.Errorf("copy image content of %s into volume %s: %w", mp.Destination, mp.Name, err)
				}
			}
			out = append(out, bindMount(mp))
		case TypeTmpfs:
			opts := append([]string{}, tmpfsDefaults...)
			for _, o := range strings.Split(mp.TmpfsOptions, ",") {
				if o != "" && o != "tmpcopyup" && o != "notmpcopyup" {
					opts = append(opts, o)
				}
			}
			out = append(out, specs.Mount{Destination: mp.Destination, Type: "tmpfs", Source: "tmpfs", Options: opts})
		default:
			return nil, errdefs.Invalid("mount type unknown: %q", mp.Type)
		}
	}
	return out, nil
}

func bindMount(mp *MountPoint) specs.Mount {
	rw := "rw"
	if !mp.RW {
		rw = "ro"
	}
	prop := mp.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	return specs.Mount{Destination: mp.Destination, Type: "bind", Source: mp.Source, Options: []string{"rbind", rw, prop}}
}

// EnsureVolumes creates the named and anonymous volumes of a container
// that do not exist yet, as Docker does at create (copy-up waits for the
// first start, when the image's files are mounted).
func EnsureVolumes(ctx context.Context, vols Volumes, mps []MountPoint) error {
	for i := range mps {
		if mps[i].Type != TypeVolume {
			continue
		}
		if vols == nil {
			return fmt.Errorf("volume %s: no volume service", mps[i].Name)
		}
		if err := ensureVolume(ctx, vols, &mps[i]); err != nil {
			return err
		}
	}
	return nil
}

func ensureVolume(ctx context.Context, vols Volumes, mp *MountPoint) error {
	_, err := vols.Get(ctx, mp.Name)
	if !errdefs.IsNotFound(err) {
		return err
	}
	labels := maps.Clone(mp.VolumeLabels)
	if mp.Anonymous {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[volumes.AnonymousLabel] = ""
	}
	_, err = vols.Create(ctx, volume.CreateRequest{Name: mp.Name, Driver: mp.Driver, DriverOpts: mp.VolumeOptions, Labels: labels})
	return err
}

// Release gives back what Prepare took for a stopped container (unmounts
// -o device volumes no other container uses).
func Release(ctx context.Context, vols Volumes, mps []MountPoint) error {
	var errs []error
	for _, mp := range mps {
		if mp.Type == TypeVolume && vols != nil {
			errs = append(errs, vols.Release(ctx, mp.Name))
		}
	}
	return errors.Join(errs...)
}

// RemoveAnonymous removes the anonymous volumes of a removed container
// (rm -v, run --rm); named volumes are never touched. The container must no
// longer be reported as a user of them.
func RemoveAnonymous(ctx context.Context, vols Volumes, mps []MountPoint) error {
	var errs []error
	for _, mp := range mps {
		if mp.Type == TypeVolume && mp.Anonymous && vols != nil {
			errs = append(errs, vols.Remove(ctx, mp.Name, true))
		}
	}
	return errors.Join(errs...)
}

// copyUp copies the image's folder at dest (inside rootfs) into an empty
// volume, with ownership and permissions, and gives the volume's root the
// folder's owner and mode (Docker's copyExistingContents+copyOwnership).
// Both trees are walked through securefs: the image's content cannot
// redirect the copy outside either.
func copyUp(ctx context.Context, rootfs, dest, volPath string) error {
	if names, err := os.ReadDir(volPath); err != nil || len(names) > 0 {
		return err // not empty: never overwrite a volume's data
	}
	src, err := securefs.Open(rootfs, nil)
	if err != nil {
		return err
	}
	defer src.Close()
	e, err := src.Walk(dest, securefs.WalkOptions{FollowLast: true})
	if err != nil {
		return nil // the image has nothing there (or not a folder path)
	}
	defer e.Close()
	if !e.IsDir() {
		return nil
	}
	dst, err := securefs.Open(volPath, nil)
	if err != nil {
		return err
	}
	defer dst.Close()

	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := src.WriteTar(ctx, e, ".", tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	root := os.Geteuid() == 0
	err = dst.Extract(ctx, "/", pr, securefs.ExtractOptions{NoChown: !root, AllowDevices: root})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return err
	}
	if root {
		if err := unix.Lchown(volPath, int(e.Stat.Uid), int(e.Stat.Gid)); err != nil {
			return err
		}
	}
	return unix.Chmod(volPath, e.Stat.Mode&0o7777)
}
