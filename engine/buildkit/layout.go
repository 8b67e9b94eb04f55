package buildkit

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var specsVersion2 = specs.Versioned{SchemaVersion: 2}

// walkTar calls fn for each regular file of a tar stream, by cleaned name.
// Saved images come from Berth itself, but the walk still refuses names
// that climb out ("../x") rather than trusting them.
func walkTar(r io.Reader, fn func(name string, size int64, body io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || len(name) > 2 && name[:3] == "../" {
			return fmt.Errorf("archive member %q escapes the archive", h.Name)
		}
		if err := fn(name, h.Size, tr); err != nil {
			return err
		}
	}
}

// writeOCILayout writes target and everything it references as an OCI
// image layout tar; tag, when set, names the index entry
// (io.containerd.image.name, which Berth's loader tags by).
func writeOCILayout(ctx context.Context, cs content.Provider, target ocispec.Descriptor, tag string, w io.Writer) error {
	var blobs []ocispec.Descriptor
	seen := map[string]bool{}
	collect := images.HandlerFunc(func(ctx context.Context, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if !seen[d.Digest.String()] {
			seen[d.Digest.String()] = true
			blobs = append(blobs, d)
		}
		return nil, nil
	})
	if err := images.Walk(ctx, images.Handlers(collect, images.ChildrenHandler(cs)), target); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	entry := target
	if tag != "" {
		entry.Annotations = map[string]string{images.AnnotationImageName: tag, ocispec.AnnotationRefName: tag}
	}
	idx, err := json.Marshal(ocispec.Index{Versioned: specsVersion2, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{entry}})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {ocispec.ImageIndexFile, idx}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	for _, d := range blobs {
		ra, err := cs.ReaderAt(ctx, d)
		if err != nil {
			return fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		err = tw.WriteHeader(&tar.Header{Name: "blobs/" + d.Digest.Algorithm().String() + "/" + d.Digest.Encoded(), Mode: 0o444, Size: ra.Size(), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		if err == nil {
			_, err = io.Copy(tw, io.NewSectionReader(ra, 0, ra.Size()))
		}
		ra.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}
