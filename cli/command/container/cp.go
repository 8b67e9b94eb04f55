package container

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/cli/client"
	"github.com/berth-dev/berth/cli/command"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

type cpOptions struct {
	followLink, archive, quiet bool
	src, dst                   string
}

func newCpCommand(cli *command.Cli) *cobra.Command {
	var o cpOptions
	cmd := &cobra.Command{
		Use: `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
	docker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
		Short: "Copy files/folders between a container and the local filesystem",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.src, o.dst = args[0], args[1]
			return runCp(cmd.Context(), cli, o)
		},
		Annotations: map[string]string{"aliases": "docker container cp, docker cp"},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	f.BoolVarP(&o.archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return cmd
}

// splitCpArg splits "container:path"; a local path containing a colon must
// start with "/" or "." to be read as local, as in docker.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	c, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg
	}
	return c, p
}

func runCp(ctx context.Context, cli *command.Cli, o cpOptions) error {
	srcCtr, srcPath := splitCpArg(o.src)
	dstCtr, dstPath := splitCpArg(o.dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errors.New("copying between containers is not supported")
	case srcCtr == "" && dstCtr == "":
		return errors.New("must specify at least one container source")
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	if srcCtr != "" {
		return copyFromContainer(ctx, cli, api, srcCtr, srcPath, dstPath, o.followLink)
	}
	return copyToContainer(ctx, cli, api, srcPath, dstCtr, dstPath, o.archive)
}

func copyFromContainer(ctx context.Context, cli *command.Cli, api client.APIClient, ctr, src, dst string, followLink bool) error {
	// -L copies what a symlink points to, named after the link (as docker
	// does). The daemon reports the link's target resolved inside the
	// container, and the copy asks for that path, so following a link
	// never leaves the container.
	linkName := ""
	if followLink {
		st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: src})
		if err == nil && st.Stat.Mode&fs.ModeSymlink != 0 && st.Stat.LinkTarget != "" {
			target := st.Stat.LinkTarget
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(src), target)
			}
			linkName = path.Base(src)
			src = target
		}
	}
	res, err := api.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	if dst == "-" {
		_, err := io.Copy(cli.Out(), res.Content)
		return err
	}
	// The archive's top entry is the source's base name. Copied into an
	// existing directory it keeps that name; otherwise it is renamed to
	// the destination's base name.
	srcBase := res.Stat.Name
	if srcBase == "" {
		srcBase = path.Base(src)
	}
	root, rename := dst, ""
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		rename = srcBase
		if linkName != "" {
			rename = linkName
		}
	} else if err == nil || errors.Is(err, fs.ErrNotExist) {
		if strings.HasSuffix(dst, string(os.PathSeparator)) && err != nil {
			return fmt.Errorf("destination directory %s does not exist", dst)
		}
		root, rename = filepath.Dir(dst), filepath.Base(dst)
	} else {
		return err
	}
	return extractTar(res.Content, root, srcBase, rename)
}

// extractTar unpacks r below dir through an os.Root, so hostile entries
// ("../x", absolute symlinks) cannot escape dir; the leading component
// from is replaced by to.
func extractTar(r io.Reader, dir, from, to string) error {
	rt, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer rt.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if name == from || strings.HasPrefix(name, from+"/") {
			name = to + strings.TrimPrefix(name, from)
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := rt.MkdirAll(name, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if d := path.Dir(name); d != "." {
				if err := rt.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			f, err := rt.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = rt.Remove(name)
			if err := rt.Symlink(hdr.Linkname, name); err != nil {
				return err
			}
		}
	}
}

func copyToContainer(ctx context.Context, cli *command.Cli, api client.APIClient, src, ctr, dst string, archive bool) error {
	if src == "-" {
		_, err := api.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{DestinationPath: dst, Content: cli.In(), CopyUIDGID: archive})
		return err
	}
	if _, err := os.Lstat(src); err != nil {
		return err
	}
	// Into an existing directory: keep the source's name. Otherwise the
	// copy is named after the destination and unpacked in its parent.
	name, destDir := filepath.Base(src), dst
	st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dst})
	if err != nil {
		if !cerrdefs.IsNotFound(err) {
			return err
		}
		name, destDir = path.Base(dst), path.Dir(dst)
	} else if !st.Stat.Mode.IsDir() {
		name, destDir = path.Base(dst), path.Dir(dst)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, src, name)) }()
	_, err = api.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{DestinationPath: destDir, Content: pr, CopyUIDGID: archive})
	pr.Close()
	return err
}

// writeTar archives src (file or tree) with its top entry called name.
func writeTar(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(src, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		entry := path.Join(name, filepath.ToSlash(rel))
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = entry
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
