// Package snapshots holds the engine's filesystem snapshots: the unpacked
// layers, one directory per chain ID shared by every image whose chain
// contains it (<root>/layers/<chain hex>), and each container's root
// filesystem on top of them (<root>/overlay/<id>/{init,upper,work,merged}:
// the overlay mount, its writable layer, its diff for `docker diff` and
// commit, its size).
//
// The package keeps no lock and opens no transaction of its own. Layer and
// root filesystem records live in buckets of the image metadata DB
// (BucketLayers, BucketRootfs) and are read and written only through the
// functions here that take the caller's *bbolt.Tx: engine/images opens
// those transactions under its one lock, so that "is this layer still used"
// and "register image", GC and rmi stay one atomic step. A builder or CRI
// that wants Prepare/View/Commit/Mounts-style access asks engine/images,
// which takes its lock and calls in here.
package snapshots
