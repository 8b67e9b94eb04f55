package snapshots

import (
	"encoding/json"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the metadata DB whose records this package defines. They are
// created and opened by engine/images, in its transactions.
const (
	BucketLayers = "layers" // chain ID -> Layer
	BucketRootfs = "rootfs" // container ID -> Rootfs
)

// Blob names the tarball a layer came from, kept in the content store so
// save and push send the exact bytes whose digest the config records.
type Blob struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// Layer is one extracted layer snapshot, <root>/layers/<chain hex>,
// shared by every image whose layer chain contains it.
type Layer struct {
	ChainID string `json:"chainID"`
	DiffID  string `json:"diffID"`
	Parent  string `json:"parent,omitempty"`
	Size    int64  `json:"size"`
	TarSize int64  `json:"tarSize"` // length of the uncompressed tar
	Blob    *Blob  `json:"blob,omitempty"`
}

// ChainIDs computes the OCI chain IDs of a list of diff IDs (bottom first):
// chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)).
func ChainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	parent := ""
	for i, d := range diffIDs {
		parent = ChildChainID(parent, d)
		out[i] = parent
	}
	return out
}

// Layout names the directories of the snapshots below one root.
type Layout struct{ Root string }

// LayersDir holds one directory per registered layer.
func (l Layout) LayersDir() string { return filepath.Join(l.Root, "layers") }

// LayerDir is the unpacked layer chainID.
func (l Layout) LayerDir(chainID string) string {
	return filepath.Join(l.Root, "layers", strings.TrimPrefix(chainID, "sha256:"))
}

// HasLayer reports whether chainID is registered.
func HasLayer(tx *bolt.Tx, chainID string) bool {
	return tx.Bucket([]byte(BucketLayers)).Get([]byte(chainID)) != nil
}

// GetLayer returns the record of the registered layer chainID.
func GetLayer(tx *bolt.Tx, chainID string) (Layer, bool, error) {
	var r Layer
	v := tx.Bucket([]byte(BucketLayers)).Get([]byte(chainID))
	if v == nil {
		return r, false, nil
	}
	err := json.Unmarshal(v, &r)
	return r, err == nil, err
}

// PutLayer registers (or updates) the layer r.ChainID.
func PutLayer(tx *bolt.Tx, r Layer) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket([]byte(BucketLayers)).Put([]byte(r.ChainID), data)
}

// DeleteLayer unregisters chainID (its directory is the caller's to remove).
func DeleteLayer(tx *bolt.Tx, chainID string) error {
	return tx.Bucket([]byte(BucketLayers)).Delete([]byte(chainID))
}

// ForEachLayer calls fn for every registered layer; a record that does not
// decode is passed as a zero Layer. fn must not change the bucket.
func ForEachLayer(tx *bolt.Tx, fn func(chainID string, r Layer) error) error {
	return tx.Bucket([]byte(BucketLayers)).ForEach(func(k, v []byte) error {
		var r Layer
		_ = json.Unmarshal(v, &r)
		return fn(string(k), r)
	})
}
