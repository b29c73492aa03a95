#!/usr/bin/env bash
# A container from an image: mocker pulls it (verifying every byte into its
# store) and unpacks it once into a root filesystem kept in the store and
# shared by every container of that image (`mocker rootfs`); containode runs
# the image's files with that root as the read-only lower layer of an overlay.
#
#   sudo examples/image/serve-busybox-image.sh &          # or any registry
#   sudo examples/image/run-image.sh 127.0.0.1:5055/examples/busybox:latest
#
# Prints what the container sees (its hostname, its root, the busybox
# banner). The container's changes are removed at exit (--rm); the image and
# its root stay in mocker's store (`mocker images`, `mocker rm`).
# CONTAINET_IMAGES=DIR uses another store than /var/lib/containet/images.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"

if [ $# -ne 1 ]; then
  echo "usage: $0 IMAGE   (e.g. 127.0.0.1:5055/examples/busybox:latest)" >&2
  exit 2
fi
image=$1

work=$(mktemp -d /tmp/containet-image-XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mocker pull "$image"
root=$(mocker rootfs "$image")
containode -r "$root" -t "$work/top" --rm -i "image-$$" -- \
  /bin/sh -c 'echo "hostname: $(hostname)"; echo "root:" $(ls /); busybox | head -n 1'
