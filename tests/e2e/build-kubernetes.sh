#!/bin/sh
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy v1.20.2 from
# Debian bookworm's source package (the only Kubernetes server source reachable here) into
# OUT/bin. Cold build: ~12-15 min on 2 cores, ~5 GiB of build cache under OUT/gopath.
#
#   tests/e2e/build-kubernetes.sh OUT REFLECT2_REPO
#
# REFLECT2_REPO: a git repository of github.com/modern-go/reflect2 with tag v1.0.2. The tree
# vendors v1.0.1, whose map iteration faults under Go >= 1.18 (the API server dies with "fatal
# error: fault" in mapiterinit on the first custom resource, e.g. a VolumeSnapshotClass); v1.0.2
# is the upstream fix, API-compatible, and replaces the vendored copy before building.
#
# Needs: golang-go (1.19), dpkg-dev, rsync, make, a deb-src line for bookworm.
set -eu
out=$(realpath -m "${1:?usage: build-kubernetes.sh OUT REFLECT2_REPO}")
reflect2=$(realpath "${2:?usage: build-kubernetes.sh OUT REFLECT2_REPO (github.com/modern-go/reflect2, for v1.0.2)}")
mkdir -p "$out/bin" "$out/src"
want="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
missing=""
# .reflect2-v1.0.2: the binaries were built with the fixed reflect2 (see above)
for b in $want; do [ -x "$out/bin/$b" ] && [ -f "$out/bin/.reflect2-v1.0.2" ] || missing="$missing $b"; done
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
vendored=vendor/github.com/modern-go/reflect2
if ! grep -q 'v1.0.2' "$vendored/.version" 2>/dev/null; then
  echo "replacing the vendored reflect2 v1.0.1 with v1.0.2 (Go >= 1.18 fix)"
  rm -rf "$vendored" && mkdir -p "$vendored"
  git -C "$reflect2" archive v1.0.2 | tar -x -C "$vendored"
  echo v1.0.2 > "$vendored/.version"
fi
# The tree's scripts build in GOPATH mode; a plain `go build` misses generated openapi code.
export GOPATH="$out/gopath" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_BUILD_PLATFORMS=linux/amd64
for b in $missing; do
  echo "building $b"
  make WHAT="cmd/$b"
  cp "_output/local/bin/linux/amd64/$b" "$out/bin/$b"
done
touch "$out/bin/.reflect2-v1.0.2"
ls -la "$out/bin"
