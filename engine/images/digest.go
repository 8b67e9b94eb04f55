package images

import (
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

type digestT = digest.Digest

type boltTx = bolt.Tx

type ocispecPlatform = ocispec.Platform
