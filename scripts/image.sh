#!/usr/bin/env bash
# Builds hdi's container image (make image): static binaries, a root file
# system staged in bin/image/rootfs, then the Containerfile, with docker
# build when a Docker engine answers, else with buildah. Tags IMAGE:VERSION
# and IMAGE:latest (IMAGE is hdi) and writes the image as an OCI archive,
# OUT/hdi-image.tar (OUT is bin), to copy to machines with no registry.
# BUILDAH may add global flags (--root, --storage-driver vfs).
#
# The image holds one static executable, hdi built with -tags bundle, and
# links hdi-provider-databento and hdi-provider-csv to it: hdi starts them
# as separate plugin processes as usual, but the libraries they share (gRPC,
# Arrow) are in the image once.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
# make image passes the version, commit and -X flags of every build.
: "${VERSION:?run it as make image}" "${LDFLAGS:?run it as make image}"
COMMIT=${COMMIT:-unknown}
SOURCE=${SOURCE:-https://github.com/hdi-dev/hdi}
# No license has been chosen for hdi yet: SPDX's "not asserted".
LICENSES=${LICENSES:-NOASSERTION}
CERTS=${CERTS:-/etc/ssl/certs/ca-certificates.crt}
ZONEINFO=${ZONEINFO:-/usr/share/zoneinfo}
IMAGE=${IMAGE:-hdi}
OUT=${OUT:-bin}
BUILDAH=${BUILDAH:-buildah}
PROVIDERS="databento csv"

for f in "$CERTS" "$ZONEINFO/UTC"; do
  [ -e "$f" ] || { echo "image: $f is missing: install Debian's ca-certificates and tzdata (or set CERTS, ZONEINFO)" >&2; exit 1; }
done

ctx=$OUT/image
archive=$OUT/hdi-image.tar
rm -rf "$ctx"
root=$ctx/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/usr/share" "$root/tmp" "$ctx/home/hdi/.cache"

echo "image: building static hdi $VERSION"
CGO_ENABLED=0 $GO build -trimpath -tags bundle \
  -ldflags "-s -w $LDFLAGS" \
  -o "$root/usr/local/bin/hdi" ./cmd/hdi
for p in $PROVIDERS; do ln -s hdi "$root/usr/local/bin/hdi-provider-$p"; done

cp "$CERTS" "$root/etc/ssl/certs/ca-certificates.crt"
# Go reads zoneinfo files; the leap-second variants (right/) it never uses.
cp -a "$ZONEINFO" "$root/usr/share/zoneinfo"
rm -rf "$root/usr/share/zoneinfo/right"
printf 'root:x:0:0:root:/root:/sbin/nologin\nhdi:x:65532:65532:hdi:/home/hdi:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nhdi:x:65532:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"

args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$COMMIT" --build-arg "SOURCE=$SOURCE" --build-arg "LICENSES=$LICENSES"
  -f Containerfile -t "$IMAGE:$VERSION" -t "$IMAGE:latest")
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "image: docker build"
  docker build "${args[@]}" "$ctx"
  # Docker 25 and later save in the OCI image layout.
  docker save -o "$archive" "$IMAGE:$VERSION"
elif command -v "${BUILDAH%% *}" >/dev/null; then
  echo "image: buildah bud"
  $BUILDAH bud --quiet --layers=false "${args[@]}" "$ctx" >/dev/null
  rm -f "$archive"
  $BUILDAH push --quiet "$IMAGE:$VERSION" "oci-archive:$archive:$IMAGE:$VERSION"
else
  echo "image: neither a Docker engine nor buildah here: install Docker, or buildah (apt-get install buildah)" >&2
  exit 1
fi
echo "image: $IMAGE:$VERSION, $IMAGE:latest, $archive ($(du -h "$archive" | cut -f1))"
