#!/bin/sh
# Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubelet v1.20.2 from
# Debian bookworm's source package (the only Kubernetes server source reachable here) into
# OUT/bin. Cold build: ~12-15 min on 2 cores, ~5 GiB of build cache under OUT/gopath.
#
#   tests/e2e/build-kubernetes.sh OUT        (fetches the source with apt-get source)
#
# Needs: golang-go (1.19), dpkg-dev, rsync, make, a deb-src line for bookworm.
set -eu
out=$(realpath -m "${1:?usage: build-kubernetes.sh OUT}")
mkdir -p "$out/bin" "$out/src"
want="kube-apiserver kube-controller-manager kube-scheduler kubelet"
missing=""
for b in $want; do [ -x "$out/bin/$b" ] || missing="$missing $b"; done
if [ -z "$missing" ]; then echo "kubernetes binaries already in $out/bin"; exit 0; fi

cd "$out/src"
if ! ls kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
  apt-get source --download-only kubernetes
fi
tree="$out/gopath/src/k8s.io/kubernetes"
if [ ! -f "$tree/Makefile" ]; then
  mkdir -p "$tree"
  tar -xzf kubernetes_*.orig.tar.gz -C "$tree" --strip-components=1
fi
cd "$tree"
# The tree's scripts build in GOPATH mode; a plain `go build` misses generated openapi code.
export GOPATH="$out/gopath" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_BUILD_PLATFORMS=linux/amd64
for b in $missing; do
  echo "building $b"
  make WHAT="cmd/$b"
  cp "_output/local/bin/linux/amd64/$b" "$out/bin/$b"
done
ls -la "$out/bin"
