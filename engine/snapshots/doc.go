// Package snapshots is the engine's layer store and its filesystem
// snapshots: the unpacked layers, one directory per chain ID shared by
// every image whose chain contains it (<root>/layers/<chain hex>), the
// blobs they came from (in the content store), and each container's root
// filesystem on top of them (<root>/overlay/<id>/{init,upper,work,merged}:
// the overlay mount, its writable layer, its diff for `docker diff` and
// commit, its size).
//
// Store adds layers and keeps them while they are needed: AddLayer (a
// layer stream on top of a chain: pull, load, `docker import`), DiffLayer
// (a container's writable layer: `docker commit`), AdoptLayer (a directory
// already extracted), EnsureLayer (extract a chain ID at most once at a
// time, from a blob with ExtractBlob or by hard-linking the builder's
// unpacked copy with LinkBlob). Each holds its layer, and the blob, until released; a layer no
// image registers by then goes. Pull, load, import, commit and BuildKit's
// snapshotter and content adapters use it directly.
//
// Layer and root filesystem records live in buckets of the image metadata
// DB (BucketLayers, BucketRootfs). The store shares one lock with its owner,
// engine/images (StoreOptions.Lock), and its methods ending in Tx or Locked
// run under that lock in the caller's *bbolt.Tx: registering an image with
// its held layers, rmi (UnregisterUnusedTx, RemoveLocked) and GC
// (GCLocked) each see images, holds and layers change as one atomic step,
// so no layer an image, container or transfer uses is ever removed.
package snapshots
