// Package build is the engine's image builder: a Dockerfile and a context in,
// an image out, the way Docker's classic builder does it. Each RUN runs in a
// temporary container whose changes become a layer; COPY and ADD write into a
// writable layer over the previous image; metadata instructions make
// config-only images ("empty_layer" history entries). Every step is an image
// of its own, so a step whose parent, instruction and copied files are
// unchanged is reused from the cache.
//
// Callers may rely on: the output stream is the classic builder's, which
// docker build parses; each step's result is an image recorded in the image
// service, so a later build with the same parent, instruction and files
// reuses it.
package build
