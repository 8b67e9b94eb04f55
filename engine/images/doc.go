// Package images is the engine's image service: the local image database
// (records, references), the content store of blobs addressed by digest, the
// per-layer snapshots shared by every image that has the layer, and the
// writable layer of each container on top of them (overlayfs).
//
// Callers may rely on: blobs are verified against their digest while
// streaming and never trusted before that; removing an image never removes a
// layer another image or a container still uses; references follow Docker's
// normalisation (engine/images/reference).
package images
