// Package archive reads and writes layer tarballs. Every tarball it reads is
// treated as hostile: see Extract. It is the one place in Berth that turns a
// tar stream into files, so every path that unpacks a layer (pull, load,
// import, commit) gets the same checks.
//
// Callers may rely on: Extract never writes outside its destination, whatever
// names, links or device entries the tarball holds, and caps sizes; whiteouts
// are applied as overlayfs expects.
package archive
