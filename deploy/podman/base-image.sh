#!/usr/bin/env bash
# The Debian base image every project image builds on, made from Debian's own packages with
# debootstrap (no image registry is reachable from these machines; the apt mirrors are).
#
#   deploy/podman/base-image.sh          # prints the image name; builds it only when missing
#
# The root file system is cached as a tarball under var/podman/ (VISITDESK_PODMAN_CACHE), named by a hash of everything
# that decides its content (suite, variant, mirror, REVISION below), so a rerun — or CI on a machine
# that kept var/ — imports the tarball in seconds instead of running debootstrap (about 1.5 min).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"

SUITE="${VISITDESK_DEBIAN_SUITE:-bookworm}"
MIRROR="${VISITDESK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
VARIANT=minbase
#: Raise when the way the root file system is made changes (it is part of the cache key).
REVISION=1
key="$(echo "$SUITE $VARIANT $MIRROR $REVISION" | sha256sum | cut -c1-12)"
IMAGE="localhost/visitdesk-debian:$SUITE-$key"
# CI points this at /var/cache/visitdesk-podman, which outlives its fresh clones of the repository.
cache_dir="${VISITDESK_PODMAN_CACHE:-$PWD/var/podman}"
tarball="$cache_dir/debian-$SUITE-$VARIANT-$key.tar"

# The Containerfiles build FROM the suite's plain name; it always names the current key's image.
tag_and_print() { podman tag "$IMAGE" "localhost/visitdesk-debian:$SUITE"; echo "$IMAGE"; }
if podman image exists "$IMAGE"; then
  tag_and_print; exit 0
fi
mkdir -p "$cache_dir"
if [ ! -s "$tarball" ]; then
  rootfs="$(mktemp -d "$cache_dir/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap $SUITE ($VARIANT) from $MIRROR …" >&2
  debootstrap --variant="$VARIANT" "$SUITE" "$rootfs" "$MIRROR" >"$cache_dir/debootstrap.log" 2>&1 \
    || { tail -30 "$cache_dir/debootstrap.log" >&2; exit 1; }
  # The security and updates suites too, so images built on this base get Debian's fixes.
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  # Older tarballs of this suite are superseded.
  find "$cache_dir" -maxdepth 1 -name "debian-$SUITE-$VARIANT-*.tar" ! -name "$(basename "$tarball")" -delete
fi
podman import --change 'CMD ["/bin/bash"]' "$tarball" "$IMAGE" >/dev/null
tag_and_print
