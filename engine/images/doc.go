// Package images is the engine's local image store: the image database
// (records, references, tags and digests, resolve, history, rmi, prune and
// GC), the holds that keep layers in use, commit and `docker import`
// (their --change instructions are parsed by engine/imagechange).
// Layer snapshots and container root filesystems are engine/snapshots; the
// service's one lock and its bbolt transactions cover their records too,
// so registering an image, rmi and GC see layers and images change as one.
//
// Blobs live in the content store (engine/content); pull and push are
// engine/distribution, save and load engine/imagearchive, both over the
// exported layer and reference verbs of Service (EnsureLayer, HoldLayer,
// ReleaseLayers, CreateImageRaw, References, ...). Who uses an image and
// where events go are given at construction (Options), never set later.
//
// Callers may rely on: blobs are verified against their digest while
// streaming and never trusted before that; removing an image never removes a
// layer another image, a container or a transfer in progress still uses;
// references follow Docker's normalisation (engine/images/reference).
package images
