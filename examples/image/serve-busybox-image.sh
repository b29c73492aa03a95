#!/usr/bin/env bash
# An image registry on this machine with one image in it, for trying mocker
# without the internet: a busybox image (built from Debian's busybox-static
# with umoci) pushed with skopeo to Debian's docker-registry on 127.0.0.1.
#
#   sudo examples/image/serve-busybox-image.sh [PORT]     (default 5055)
#   ready: 127.0.0.1:5055/examples/busybox:latest
#
# It stays in the foreground until Ctrl-C, then stops the registry and
# removes its storage. mocker speaks plain HTTP to registries on loopback
# addresses, as Docker does, so no certificate is needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

port=${1:-5055}
case $port in
  ''|*[!0-9]*) echo "usage: $0 [PORT]" >&2; exit 2 ;;
esac
for cmd in docker-registry skopeo umoci; do
  command -v "$cmd" >/dev/null || { echo "$0: $cmd is missing: run scripts/setup.sh (it installs docker-registry, skopeo, umoci)" >&2; exit 1; }
done

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "$0: 127.0.0.1:$port is in use: give another port" >&2
  exit 1
fi

work=$(mktemp -d /tmp/containet-registry-XXXXXX)
registry_pid=
cleanup() {
  if [ -n "$registry_pid" ]; then kill -TERM "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The image: an empty OCI image, its root filled with busybox, repacked
#    as one layer; `sh` is its default command.
"$here/../busybox/make-root.sh" "$work/root" >/dev/null
umoci init --layout "$work/layout"
umoci new --image "$work/layout:latest"
umoci unpack --image "$work/layout:latest" "$work/bundle"
cp -a "$work/root/." "$work/bundle/rootfs/"
umoci repack --image "$work/layout:latest" "$work/bundle"
umoci config --image "$work/layout:latest" --config.cmd /bin/sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin
umoci gc --layout "$work/layout"

# 2. The registry, storage in the work directory, on loopback only.
cat >"$work/registry.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $work/storage }
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break   # bash opens a TCP connection: listening
  kill -0 "$registry_pid" 2>/dev/null || { echo "$0: the registry did not start: $(tail -n 3 "$work/registry.log")" >&2; exit 1; }
  sleep 0.1
done

# 3. Push.
ref=127.0.0.1:$port/examples/busybox:latest
skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:latest" "docker://$ref"
echo "ready: $ref"
wait "$registry_pid"
