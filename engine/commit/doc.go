// Package commit makes an image of a container's writable layer: `docker
// commit` (engine/containers' CommitContainer pauses the container, merges
// the request's config and calls in here) and each step of the classic
// builder.
//
// A commit is three steps over the engine's stores: the container's upper
// directory becomes a layer on top of its image's chain (the layer store,
// engine/snapshots, holds it and its blob), the new config is the image's
// (or a fresh one when the image was removed with force) with the
// container's config and --change instructions applied (engine/imagechange),
// and the image database (engine/images) registers the image and the held
// layer in one transaction. The parent's layers are held meanwhile, so an
// rmi -f of the parent cannot take them away.
package commit
