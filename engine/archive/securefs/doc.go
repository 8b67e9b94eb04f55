// Package securefs resolves paths inside a directory tree that hostile code
// may control (a container's root with its volumes and bind mounts grafted
// on), and reads and writes that tree through file descriptors only.
//
// Every path is walked one component at a time with openat(O_PATH|O_NOFOLLOW)
// from a descriptor already inside the tree; symlinks are read and expanded
// by this package as if the tree's root were "/", and ".." pops the walk's
// own stack, never the kernel's. So no symlink, absolute or relative, nor one
// swapped in while a walk runs, can lead outside the tree: the worst a race
// achieves is a different place inside it. Grafts (mount points) are roots of
// their own: ".." from a graft's root returns to the folder holding it.
//
// Callers may rely on: a View never follows a symlink or ".." out of its root
// or a graft, even while the tree changes under it; every operation works on
// descriptors, so checking and using a path cannot be split by a race.
package securefs
