#!/usr/bin/env bash
# Builds the Ballast image with no Docker daemon and no container registry, from Debian packages
# and Maven Central only: the same image as deploy/Dockerfile.
#   1. the jar (./mvnw package) and a Java runtime cut to Ballast's modules (jlink, modules.txt)
#   2. a Debian bookworm root filesystem with the node's tools (mmdebstrap: util-linux, mount,
#      e2fsprogs, xfsprogs; no docs, man pages or locales; without perl, which only usrmerge's
#      one-time conversion uses, and python3, which only xfs_scrub_all uses: 90 MiB less)
#   3. an OCI image of both (umoci), written as archives (skopeo):
#        target/image/ballast-VERSION.oci.tar      ctr -n k8s.io images import ...
#        target/image/ballast-VERSION.docker.tar   docker load -i ...
# Needs root (mmdebstrap --mode=root) and: apt-get install mmdebstrap umoci skopeo
#
# Usage: deploy/image/build.sh [--out DIR] [--mirror URL] [--keep]   (--keep leaves the unpacked bundle)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
. bin/find-jdk

OUT="$ROOT/target/image" MIRROR="http://deb.debian.org/debian" KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2;;
    --mirror) MIRROR="$2"; shift 2;;
    --keep) KEEP=1; shift;;
    -h|--help) sed -n '2,14p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
for tool in mmdebstrap umoci skopeo; do
  command -v "$tool" >/dev/null || { echo "build.sh: needs $tool (apt-get install mmdebstrap umoci skopeo)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "build.sh: needs root (mmdebstrap --mode=root, files owned by root in the image)" >&2; exit 2; }

JAR="$ROOT/csi/target/ballast.jar"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT" -path '*/src/main/*' -newer "$JAR" -print -quit)" ]; then
  echo "building $JAR" >&2
  ./mvnw -q -B package -DskipTests
fi
VERSION="$(unzip -p "$JAR" META-INF/MANIFEST.MF | awk -F': ' '/^Implementation-Version/{gsub("\r",""); print $2}')"
TAG="${VERSION%-SNAPSHOT}"
mkdir -p "$OUT"
WORK="$(mktemp -d "$OUT/build.XXXXXX")"
cleanup() { [ -n "$KEEP" ] || rm -rf "$WORK"; }
trap cleanup EXIT

echo "1/3 Java runtime (jlink)" >&2
modules="$(grep -v '^#' deploy/image/modules.txt | grep . | paste -sd, -)"
found="$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 21 "$JAR")"
# Modules the jar refers to but does not need, with why (see modules.txt): "# not needed: MODULE ..."
unneeded="$(sed -n 's/^# not needed: \([a-z.]*\).*/\1/p' deploy/image/modules.txt | paste -sd, -)"
for m in ${found//,/ }; do
  case ",$modules,$unneeded," in *",$m,"*) ;; *) echo "build.sh: the jar needs module $m: add it to deploy/image/modules.txt" >&2; exit 1;; esac
done
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=zip-6 \
  --output "$WORK/runtime"

echo "2/3 root filesystem (mmdebstrap bookworm)" >&2
mmdebstrap --quiet --variant=essential --mode=root --include=util-linux,mount,e2fsprogs,xfsprogs \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='chroot "$1" dpkg --purge --force-depends usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36' \
  --customize-hook='chroot "$1" dpkg --purge --force-depends python3' \
  --customize-hook='chroot "$1" dpkg --purge --force-depends python3.11 python3-minimal python3.11-minimal libpython3.11-stdlib libpython3.11-minimal' \
  bookworm "$WORK/rootfs.tar" "$MIRROR"

echo "3/3 OCI image (umoci) and archives (skopeo)" >&2
umoci init --layout "$WORK/oci"
umoci new --image "$WORK/oci:$TAG"
umoci unpack --image "$WORK/oci:$TAG" "$WORK/bundle"
tar -xf "$WORK/rootfs.tar" -C "$WORK/bundle/rootfs"
mkdir -p "$WORK/bundle/rootfs/opt/ballast"
cp -a "$WORK/runtime" "$WORK/bundle/rootfs/opt/ballast/runtime"
cp "$JAR" "$WORK/bundle/rootfs/opt/ballast/ballast.jar"
install -m 0755 deploy/image/ballast-launcher.sh "$WORK/bundle/rootfs/usr/local/bin/ballast"
install -m 0644 bin/jvm-opts "$WORK/bundle/rootfs/opt/ballast/jvm-opts"
umoci repack --image "$WORK/oci:$TAG" "$WORK/bundle"
umoci config --image "$WORK/oci:$TAG" --config.entrypoint /usr/local/bin/ballast --config.workingdir / \
  --author "Ballast" --config.label "org.opencontainers.image.version=$VERSION" \
  --config.label "org.opencontainers.image.title=ballast"
umoci gc --layout "$WORK/oci"
rm -f "$OUT/ballast-$TAG.oci.tar" "$OUT/ballast-$TAG.docker.tar"
skopeo copy --quiet "oci:$WORK/oci:$TAG" "oci-archive:$OUT/ballast-$TAG.oci.tar:docker.io/library/ballast:$TAG"
skopeo copy --quiet "oci:$WORK/oci:$TAG" "docker-archive:$OUT/ballast-$TAG.docker.tar:ballast:$TAG"
if [ -n "$KEEP" ]; then
  umoci unpack --image "$WORK/oci:$TAG" "$OUT/bundle-$TAG" >/dev/null 2>&1 || true
fi

unpacked=$(( $(du -sk "$WORK/bundle/rootfs" | cut -f1) / 1024 ))
echo "image ballast:$TAG: $unpacked MiB unpacked ($(( $(du -sk "$WORK/runtime" | cut -f1) / 1024 )) MiB Java runtime," \
  "$(( $(stat -c %s "$JAR") / 1048576 )) MiB jar), archives:"
ls -l "$OUT/ballast-$TAG.oci.tar" "$OUT/ballast-$TAG.docker.tar" | awk '{printf "  %s  %d MiB\n", $NF, $5/1048576}'
[ -n "$KEEP" ] && echo "unpacked bundle (runc run --bundle ...): $OUT/bundle-$TAG"
exit 0
