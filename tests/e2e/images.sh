#!/bin/bash
# Container images for the e2e suite, built locally (no registry here) and imported into the
# suite's containerd: the pause image (compiled from the Kubernetes tree), busybox (Debian's
# static build), each CSI sidecar (its static binary alone), and Ballast's own image archive.
# Sourced by run.sh after cluster.sh.

# image_from_rootfs NAME:TAG ROOTFS ENTRYPOINT...: packs ROOTFS as a one-layer image and imports it.
image_from_rootfs() {
  local ref=$1 rootfs=$2; shift 2
  local dir=$E2E_WORK/oci/${ref//[:\/]/_}
  rm -rf "$dir" && mkdir -p "$dir"
  umoci init --layout "$dir/layout" >/dev/null
  umoci new --image "$dir/layout:img" >/dev/null
  umoci unpack --rootless --image "$dir/layout:img" "$dir/bundle" >/dev/null 2>&1 \
    || umoci unpack --image "$dir/layout:img" "$dir/bundle" >/dev/null
  cp -a "$rootfs/." "$dir/bundle/rootfs/"
  umoci repack --image "$dir/layout:img" "$dir/bundle" >/dev/null
  local args=()
  for e in "$@"; do args+=(--config.entrypoint "$e"); done
  umoci config --image "$dir/layout:img" "${args[@]}" >/dev/null
  skopeo copy --quiet "oci:$dir/layout:img" "docker-archive:$dir/image.tar:$ref"
  ctr_ images import "$dir/image.tar" >/dev/null
  rm -rf "$dir"
}

build_images() {
  local kube=$1 sidecars=$2 ballast_image=$3
  local r=$E2E_WORK/rootfs
  rm -rf "$r" && mkdir -p "$r"

  log "image e2e.local/pause:1 (build/pause/linux/pause.c, static)"
  mkdir -p "$r/pause"
  gcc -static -O2 -o "$r/pause/pause" "$kube/gopath/src/k8s.io/kubernetes/build/pause/linux/pause.c"
  image_from_rootfs e2e.local/pause:1 "$r/pause" /pause

  log "image e2e.local/busybox:1 (Debian busybox-static)"
  mkdir -p "$r/busybox/bin" "$r/busybox/tmp"
  cp /bin/busybox "$r/busybox/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/busybox/bin/$a"; done
  image_from_rootfs e2e.local/busybox:1 "$r/busybox" /bin/sh

  local line name tag
  while read -r name tag; do
    log "image registry.k8s.io/sig-storage/$name:$tag"
    mkdir -p "$r/$name/tmp"
    cp "$sidecars/bin/$name" "$r/$name/$name"
    image_from_rootfs "registry.k8s.io/sig-storage/$name:$tag" "$r/$name" "/$name"
  done <<EOF
csi-provisioner v4.0.1
csi-attacher v4.5.1
csi-node-driver-registrar v2.10.1
csi-resizer v1.10.1
csi-snapshotter v6.3.4
snapshot-controller v6.3.4
livenessprobe v2.12.0
EOF
  log "image ballast:0.1.0 ($ballast_image)"
  ctr_ images import "$ballast_image" >/dev/null
  rm -rf "$r"
}
