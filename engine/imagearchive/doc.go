// Package imagearchive moves images between the local store and tar
// streams: `docker save` (an OCI image layout plus Docker's manifest.json,
// uncompressed layers), `docker load` (either format, nested indexes
// resolved to the host's platform) and `docker import` (a root filesystem
// tarball, plain or compressed, as a one-layer image with --change
// instructions applied).
//
// An archive is hostile input: it is unpacked with the hostile-tar rules
// into a private temp directory before anything in it is read, every file
// it names is resolved inside that directory, JSON files are size-capped
// and configs and manifests are checked against their digests. Layers go
// through the layer store's extraction (engine/snapshots; diff IDs
// verified) and are held until the image database (engine/images)
// registers the image, so an image is registered only once all its layers
// are present.
package imagearchive
