package cri

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func toCRIImage(img *Image) *runtimeapi.Image {
	out := &runtimeapi.Image{Id: img.ID, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests,
		Size: uint64(img.Size), Spec: &runtimeapi.ImageSpec{Image: img.ID, Annotations: img.Annotations}}
	user := img.User
	if u, _, _ := strings.Cut(user, ":"); u != "" {
		var uid int64
		if _, err := fmt.Sscan(u, &uid); err == nil && fmt.Sprint(uid) == u {
			out.Uid = &runtimeapi.Int64Value{Value: uid}
		} else {
			out.Username = u
		}
	}
	return out
}

// ListImages lists the store's images (the Docker API's too).
func (s *Server) ListImages(ctx context.Context, r *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	imgs, err := s.imgs.List(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	want := r.GetFilter().GetImage().GetImage()
	var wantID string
	if want != "" {
		img, err := s.imgs.Get(ctx, want)
		if err != nil {
			if isNotFound(grpcErr(err)) {
				return &runtimeapi.ListImagesResponse{}, nil
			}
			return nil, grpcErr(err)
		}
		wantID = img.ID
	}
	resp := &runtimeapi.ListImagesResponse{}
	for i := range imgs {
		if wantID != "" && imgs[i].ID != wantID {
			continue
		}
		resp.Images = append(resp.Images, toCRIImage(&imgs[i]))
	}
	return resp, nil
}

// ImageStatus reports one image; a missing one is a nil image, not an
// error, as the CRI defines.
func (s *Server) ImageStatus(ctx context.Context, r *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref := r.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image must not be empty")
	}
	img, err := s.imgs.Get(ctx, ref)
	if err != nil {
		if isNotFound(grpcErr(err)) {
			return &runtimeapi.ImageStatusResponse{}, nil
		}
		return nil, grpcErr(err)
	}
	resp := &runtimeapi.ImageStatusResponse{Image: toCRIImage(img)}
	if r.Verbose {
		info, _ := json.Marshal(map[string]any{"env": img.Env, "entrypoint": img.Entrypoint, "cmd": img.Cmd,
			"workingDir": img.WorkingDir, "user": img.User, "labels": img.Labels})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

// PullImage pulls through the configured mirrors of the image's registry
// (then the registry itself), with the request's credentials.
func (s *Server) PullImage(ctx context.Context, r *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref := r.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image must not be empty")
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, invalid("invalid image reference %q: %v", ref, err)
	}
	named = reference.TagNameOnly(named)
	auth, err := registryAuth(r.Auth, reference.Domain(named))
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, mirror := range s.cfg.Mirrors[reference.Domain(named)] {
		mref := strings.TrimSuffix(stripScheme(mirror), "/") + "/" + reference.Path(named)
		switch t := named.(type) {
		case reference.Digested:
			mref += "@" + t.Digest().String()
		case reference.Tagged:
			mref += ":" + t.Tag()
		}
		_, err := s.imgs.Get(ctx, mref)
		hadMirrorTag := err == nil
		id, err := s.imgs.Pull(ctx, mref, auth)
		if err != nil {
			errs = append(errs, fmt.Sprintf("mirror %s: %v", mirror, err))
			continue
		}
		// The image answers to the name kubelet asked for, not the
		// mirror's (unless the mirror's name was there before).
		if _, ok := named.(reference.Tagged); ok {
			if err := s.imgs.Tag(ctx, mref, reference.FamiliarString(named)); err != nil {
				return nil, grpcErr(err)
			}
			if !hadMirrorTag {
				if err := s.imgs.Untag(ctx, mref); err != nil {
					return nil, grpcErr(err)
				}
			}
		}
		return &runtimeapi.PullImageResponse{ImageRef: id}, nil
	}
	if s.cfg.MirrorsOnly && len(errs) > 0 {
		return nil, status.Errorf(codes.NotFound, "pull %s: no mirror has it and registry-mirrors-only is set: %s", ref, strings.Join(errs, "; "))
	}
	id, err := s.imgs.Pull(ctx, reference.FamiliarString(named), auth)
	if err != nil {
		if len(errs) > 0 {
			err = fmt.Errorf("%w (after %s)", err, strings.Join(errs, "; "))
		}
		return nil, grpcErr(err)
	}
	return &runtimeapi.PullImageResponse{ImageRef: id}, nil
}

func stripScheme(h string) string {
	h = strings.TrimPrefix(h, "https://")
	return strings.TrimPrefix(h, "http://")
}

// registryAuth turns the CRI's AuthConfig into Docker's X-Registry-Auth.
func registryAuth(a *runtimeapi.AuthConfig, server string) (string, error) {
	if a == nil {
		return "", nil
	}
	user, pass := a.Username, a.Password
	if a.Auth != "" && user == "" {
		raw, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return "", invalid("auth is not base64: %v", err)
		}
		u, p, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", invalid("auth must be base64 of user:password")
		}
		user, pass = u, p
	}
	if a.ServerAddress != "" {
		server = a.ServerAddress
	}
	b, err := json.Marshal(map[string]string{"username": user, "password": pass, "serveraddress": server,
		"identitytoken": a.IdentityToken, "registrytoken": a.RegistryToken})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// RemoveImage removes an image; removing a missing one succeeds.
func (s *Server) RemoveImage(ctx context.Context, r *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref := r.GetImage().GetImage()
	if ref == "" {
		return nil, invalid("image must not be empty")
	}
	img, err := s.imgs.Get(ctx, ref)
	if err != nil {
		if isNotFound(grpcErr(err)) {
			return &runtimeapi.RemoveImageResponse{}, nil
		}
		return nil, grpcErr(err)
	}
	if err := s.imgs.Remove(ctx, img.ID); err != nil && !isNotFound(grpcErr(err)) {
		return nil, grpcErr(err)
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsInfo reports the image store's filesystem use.
func (s *Server) ImageFsInfo(ctx context.Context, r *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	mp, used, inodes, err := s.imgs.FsInfo(ctx)
	if err != nil {
		return nil, grpcErr(err)
	}
	u := &runtimeapi.FilesystemUsage{Timestamp: nowNano(), FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: mp},
		UsedBytes: &runtimeapi.UInt64Value{Value: used}, InodesUsed: &runtimeapi.UInt64Value{Value: inodes}}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{u}, ContainerFilesystems: []*runtimeapi.FilesystemUsage{u}}, nil
}
