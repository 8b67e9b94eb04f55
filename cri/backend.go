package cri

import (
	"context"
	"io"
	"time"

	"github.com/moby/moby/api/types/container"
)

// Containers is what the CRI server needs from the container engine.
// Errors carry containerd/errdefs kinds (not found, conflict, invalid).
type Containers interface {
	Create(ctx context.Context, req CreateRequest) (id string, err error)
	Start(ctx context.Context, id string) error
	// Stop signals the container and kills it after timeout.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove removes the container, killing it first if it runs.
	Remove(ctx context.Context, id string) error
	Inspect(ctx context.Context, id string) (*container.InspectResponse, error)
	Update(ctx context.Context, id string, u container.UpdateConfig) error
	// Exec runs a process in the running container and returns its exit
	// code once it ends and its output is copied.
	Exec(ctx context.Context, id string, io StreamIO) (int, error)
	// Attach connects to the container's main process until it ends or
	// ctx does.
	Attach(ctx context.Context, id string, io StreamIO) error
	// Stats is one sample of the container's resource use.
	Stats(ctx context.Context, id string) (*container.StatsResponse, error)
	// ReopenLog makes the container's log writer open its file again
	// (kubelet renamed it to rotate it).
	ReopenLog(ctx context.Context, id string) error
	// Events delivers container lifecycle events until ctx ends.
	Events(ctx context.Context) <-chan ContainerEvent
}

// CreateRequest is a container to create inside a pod sandbox.
type CreateRequest struct {
	Name       string
	Config     *container.Config
	HostConfig *container.HostConfig
	// Namespaces maps an OCI namespace type to a pinned namespace to join.
	Namespaces map[string]string
	// The sandbox's host files ("": none).
	HostnamePath, HostsPath, ResolvConfPath string
	// LogPath is where the CRI-format log goes ("": none).
	LogPath string
}

// StreamIO is a process's standard streams.
type StreamIO struct {
	Cmd    []string // for Exec
	Tty    bool
	Stdin  io.Reader // nil: no input
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded (with Tty, everything goes to Stdout)
	Resize <-chan TerminalSize
}

// TerminalSize is a TTY's size.
type TerminalSize struct{ Width, Height uint16 }

// ContainerEvent is a container's lifecycle step: "create", "start",
// "die", "destroy".
type ContainerEvent struct {
	ID     string
	Action string
	Time   time.Time
}

// Images is what the CRI server needs from the image store, the one the
// Docker API uses.
type Images interface {
	List(ctx context.Context) ([]Image, error)
	// Get resolves a reference or ID; not found is an errdefs NotFound.
	Get(ctx context.Context, ref string) (*Image, error)
	// Pull fetches ref (registryAuth is Docker's X-Registry-Auth value)
	// and returns the image ID.
	Pull(ctx context.Context, ref, registryAuth string) (string, error)
	// Tag names an image by another reference.
	Tag(ctx context.Context, source, target string) error
	// Untag removes one name of an image that has others.
	Untag(ctx context.Context, ref string) error
	// Remove deletes the image (all its tags) if no container uses it.
	Remove(ctx context.Context, id string) error
	// FsInfo tells where images are stored and how much they use.
	FsInfo(ctx context.Context) (mountpoint string, usedBytes, inodes uint64, err error)
}

// Image is an image as the CRI shows it.
type Image struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Size        int64
	User        string
	Env         []string
	Entrypoint  []string
	Cmd         []string
	WorkingDir  string
	Labels      map[string]string
	Annotations map[string]string
}

// Store keeps the CRI server's records (bbolt in berthd).
type Store interface {
	EnsureBuckets(buckets ...string) error
	Put(bucket, key string, v any) error
	Delete(bucket, key string) error
	ForEach(bucket string, fn func(key string, value []byte) error) error
}
