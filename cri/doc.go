// Package cri serves the Kubernetes Container Runtime Interface (CRI v1,
// RuntimeService and ImageService) over gRPC, so kubelet and crictl drive
// Berth directly.
//
// A pod sandbox is not a container: it is a set of pinned namespaces
// (network, IPC, UTS: nsfs bind mounts under <exec-root>/cri/sandboxes/<id>,
// which outlive berthd) plus the pod's hostname, hosts and resolv.conf
// files; no pause image is pulled. The network namespace is wired by real
// CNI plugins configured from a CNI config directory (/etc/cni/net.d).
//
// A pod's containers are ordinary Berth containers that join the sandbox's
// namespaces, so `docker ps` lists them too, named as dockershim named
// them (k8s_<container>_<pod>_<namespace>_<uid>_<attempt>) and labelled
// io.kubernetes.*: that is what a Docker user saw on a kubelet node before,
// and it keeps one source of truth for containers. Removing one through the
// Docker API removes it for kubelet as well.
//
// The package reaches the engine only through the small interfaces in
// backend.go; daemon/cri.go adapts the engine services to them.
package cri
