// Package content is the engine's content-addressed blob store: layer
// tarballs, image configs and manifests, each stored under its sha256
// digest (OCI-layout style, <root>/sha256/<hex>).
//
// Its interface follows containerd's content.Store split so that the image
// service, the registry client, an image builder or a CRI image service can
// share it: a Provider reads blobs by descriptor (io.ReaderAt), an Ingester
// writes new ones by ref with an expected digest and size, a Manager lists,
// inspects and deletes them. Callers may rely on: a blob appears under its
// digest only once it is complete, verified against that digest and synced
// to disk, so a reader never sees half a blob and a crash leaves at most an
// ingest temp file; two writers never share a ref at the same time; what
// is kept and what is collected is the caller's decision (Walk and Delete),
// never a side effect of reads.
package content
