package images

import (
	"context"
	"io"

	digest "github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/engine/content"
)

// Blob records keep digests as strings (their JSON form); these wrap the
// content store for them.

func (s *Service) openBlob(d string) (io.ReadCloser, error) {
	return content.Open(context.Background(), s.content, digest.Digest(d))
}

func (s *Service) newBlob() (content.Writer, error) {
	return s.content.Writer(context.Background())
}

func commitBlob(w content.Writer, expected string) error {
	return w.Commit(context.Background(), 0, digest.Digest(expected))
}

func (s *Service) deleteBlob(d string) error {
	return s.content.Delete(context.Background(), digest.Digest(d))
}
