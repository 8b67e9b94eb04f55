package client

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/moby/moby/api/types/container"
)

type (
	ContainerStatPathOptions struct{ Path string }
	ContainerStatPathResult  struct{ Stat container.PathStat }
	CopyToContainerOptions   struct {
		DestinationPath                       string
		Content                               io.Reader
		AllowOverwriteDirWithFile, CopyUIDGID bool
	}
	CopyToContainerResult    struct{}
	CopyFromContainerOptions struct{ SourcePath string }
	CopyFromContainerResult  struct {
		Content io.ReadCloser
		Stat    container.PathStat
	}
)

// ContainerStatPath stats a path inside a container.
func (c *Client) ContainerStatPath(ctx context.Context, id string, o ContainerStatPathOptions) (ContainerStatPathResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return ContainerStatPathResult{}, err
	}
	resp, err := c.send(ctx, http.MethodHead, "/containers/"+id+"/archive", pathQuery(o.Path), nil, nil)
	if err != nil {
		return ContainerStatPathResult{}, err
	}
	defer ensureReaderClosed(resp)
	st, err := pathStat(resp.Header)
	return ContainerStatPathResult{Stat: st}, err
}

// CopyToContainer extracts a tar stream into a container.
func (c *Client) CopyToContainer(ctx context.Context, id string, o CopyToContainerOptions) (CopyToContainerResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return CopyToContainerResult{}, err
	}
	q := pathQuery(o.DestinationPath)
	if !o.AllowOverwriteDirWithFile {
		q.Set("noOverwriteDirNonDir", "true")
	}
	if o.CopyUIDGID {
		q.Set("copyUIDGID", "true")
	}
	body := o.Content
	if body == nil {
		body = http.NoBody
	}
	resp, err := c.send(ctx, http.MethodPut, "/containers/"+id+"/archive", q, nil, body)
	if err != nil {
		return CopyToContainerResult{}, err
	}
	ensureReaderClosed(resp)
	return CopyToContainerResult{}, nil
}

// CopyFromContainer returns a tar stream of a path in a container and
// its stat.
func (c *Client) CopyFromContainer(ctx context.Context, id string, o CopyFromContainerOptions) (CopyFromContainerResult, error) {
	id, err := trimID("container", id)
	if err != nil {
		return CopyFromContainerResult{}, err
	}
	resp, err := c.send(ctx, http.MethodGet, "/containers/"+id+"/archive", pathQuery(o.SourcePath), nil, nil)
	if err != nil {
		return CopyFromContainerResult{}, err
	}
	st, err := pathStat(resp.Header)
	if err != nil {
		ensureReaderClosed(resp)
		return CopyFromContainerResult{Stat: st}, fmt.Errorf("unable to get resource stat from response: %s", err)
	}
	return CopyFromContainerResult{Content: resp.Body, Stat: st}, nil
}
