// Package images is the engine's image database: image records and their
// references (tags and digests), resolve, history, tag, rmi, prune and GC,
// image creation from a config over layers the layer store holds
// (CreateImage, CreateImageRaw), and container root filesystems (prepare,
// mount, diff, size, export) on an image's layers.
//
// Layers, their holds and their blobs are the layer store
// (engine/snapshots.Store, handed out by LayerStore): the service and the
// store share one lock, and the service's bbolt transactions write the
// store's records with its own, so registering an image, rmi and GC see
// layers and images change as one.
//
// Blobs live in the content store (engine/content); pull and push are
// engine/distribution, save, load and `docker import` engine/imagearchive,
// `docker commit` engine/commit, all over the image verbs here
// (CreateImage, References, RawConfig, ...) and the layer store. Who uses
// an image and where events go are given at construction (Options), never
// set later.
//
// Callers may rely on: blobs are verified against their digest while
// streaming and never trusted before that; removing an image never removes a
// layer another image, a container or a transfer in progress still uses;
// references follow Docker's normalisation (engine/images/reference).
package images
