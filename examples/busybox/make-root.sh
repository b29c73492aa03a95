#!/usr/bin/env bash
# Build a minimal root filesystem from Debian's busybox-static: one static
# binary, a symlink per applet, /etc/passwd and /etc/group, empty mount
# points. About 2 MB; nothing from the host is needed inside it.
#
#   examples/busybox/make-root.sh /srv/busybox
#
# The directory must not exist or be empty. containode never writes to it:
# with `containode -r` it is the read-only lower layer of an overlay.
set -euo pipefail

busybox=/bin/busybox   # busybox-static (scripts/setup.sh installs it); statically linked, so it runs alone in the root
if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
root=$1
if [ ! -x "$busybox" ]; then
  echo "$0: $busybox is missing: apt-get install busybox-static (or run scripts/setup.sh)" >&2
  exit 1
fi
if [ -e "$root" ] && [ -n "$(ls -A "$root")" ]; then
  echo "$0: $root is not empty: give a new directory" >&2
  exit 1
fi

mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp root var run www; do mkdir -p "$root/$d"; done
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# --list-full names each applet with the directory it belongs in (bin/sh, sbin/ip, usr/bin/wget).
"$busybox" --list-full | while read -r applet; do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo "$root: busybox root filesystem, $("$busybox" --list | wc -l) applets"
