// Package distribution moves images between registries and the local
// image store, like dockerd's distribution package: pull (index to
// platform, parallel layer downloads streamed through decompression,
// digest checks and extraction), push (layer uploads, cross-repository
// mounts, manifests), login, search and distribution inspect, and the
// daemon's registry settings (mirrors, insecure registries, concurrency).
//
// It talks to registries through go-containerregistry, to the image
// database through ImageStore and to the layer store (engine/snapshots)
// through LayerStore, and reads and writes layer blobs through the content
// store. Callers may rely on: nothing becomes visible locally
// before its digest is verified; an image is registered only when all its
// layers are present; errors read like Docker's, typed for the API.
package distribution
