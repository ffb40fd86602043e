#!/bin/sh
# Builds the CSI sidecars the e2e suite runs, from their public repositories' sources (no
# registry serves their images here, Debian does not package them). Nothing of them is
# committed to Ballast: SOURCES holds one git repository (bare or not) per sidecar, named as on
# GitHub (kubernetes-csi/<name>), for example made with `git clone --mirror`.
#
#   tests/e2e/build-sidecars.sh SOURCES OUT
#
# Writes static binaries to OUT/bin and the snapshot CRDs and snapshot-controller RBAC to
# OUT/snapshot/. Tags: the newest that build with Debian bookworm's Go 1.19 and talk to a 1.20
# API server (see tests/e2e/README.md).
set -eu
src=$(realpath "${1:?usage: build-sidecars.sh SOURCES OUT}")
out=$(realpath -m "${2:?usage: build-sidecars.sh SOURCES OUT}")
mkdir -p "$out/bin" "$out/checkout" "$out/snapshot"

# repository tag command...
SIDECARS="external-provisioner v4.0.1 csi-provisioner
external-attacher v4.5.1 csi-attacher
node-driver-registrar v2.10.1 csi-node-driver-registrar
external-resizer v1.10.1 csi-resizer
external-snapshotter v6.3.4 csi-snapshotter,snapshot-controller
livenessprobe v2.12.0 livenessprobe"

gitdir() {
  for d in "$src/$1" "$src/$1.git" "$src/kubernetes-csi+$1/repo"; do
    if [ -d "$d" ] && git -C "$d" rev-parse --git-dir >/dev/null 2>&1; then echo "$d"; return; fi
  done
  echo "no git repository for $1 under $src (tried $1, $1.git, kubernetes-csi+$1/repo)" >&2
  exit 1
}

echo "$SIDECARS" | while read -r repo tag cmds; do
  tree="$out/checkout/$repo-$tag"
  if [ ! -d "$tree" ]; then
    mkdir -p "$tree.tmp"
    git -C "$(gitdir "$repo")" archive "$tag" | tar -x -C "$tree.tmp"
    mv "$tree.tmp" "$tree"
  fi
  for cmd in $(echo "$cmds" | tr , ' '); do
    if [ -x "$out/bin/$cmd" ]; then continue; fi
    echo "building $cmd $tag"
    (cd "$tree" && CGO_ENABLED=0 GOFLAGS=-mod=vendor go build -o "$out/bin/$cmd" \
      -ldflags "-X main.version=$tag -s -w" "./cmd/$cmd")
  done
done
snap="$out/checkout/external-snapshotter-v6.3.4"
for f in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
  cp "$snap/client/config/crd/snapshot.storage.k8s.io_$f.yaml" "$out/snapshot/"
done
cp "$snap/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml" "$out/snapshot/"
ls -la "$out/bin"
