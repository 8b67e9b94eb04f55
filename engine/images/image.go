package images

import (
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/berth-dev/berth/engine/images/platform"
)

// Image is one local image as the engine sees it.
type Image struct {
	// ID is "sha256:<hex>", the digest of the image's config blob.
	ID string
	// RepoTags are the references that name this image ("busybox:latest").
	RepoTags []string
	// RepoDigests are "name@sha256:<manifest digest>" for pulled images.
	RepoDigests []string
	// Parent is the ID of the parent image (local builds and commits), or "".
	Parent string
	// Created is when the image was made (from its config).
	Created time.Time
	// Size is the sum of the uncompressed sizes of its layers.
	Size int64
	// Config is the image config blob, decoded: OS, architecture, rootfs
	// diff IDs, history, and the container defaults (Env, Cmd, ...).
	Config dockerspec.DockerOCIImage
	// Comment is the config's legacy "comment" (import message, commit
	// comment).
	Comment string
	// Layers are the chain IDs of the image's layers, bottom first.
	Layers []string
}

// MatchPlatform checks a create's --platform against a local image, with
// dockerd's error (a not-found, so clients pull the wanted variant) when
// they differ; ref is named as the client gave it. An empty platform
// matches any image.
func MatchPlatform(img *Image, ref, plat string) error {
	if plat == "" {
		return nil
	}
	want, err := platform.Parse(plat)
	if err != nil {
		return err
	}
	return platform.Check(ref, img.Config.OS, img.Config.Architecture, img.Config.Variant, want)
}
