#!/usr/bin/env bash
# Containers from a root filesystem: two busybox containers on a private
# containet switch. "web" writes a page and serves it with busybox httpd;
# "client" fetches it with wget. Both pivot into ROOT (an overlay: ROOT is
# the read-only lower layer, each container's changes go to its own TOP).
#
#   examples/busybox/make-root.sh /srv/busybox
#   sudo examples/busybox/web.sh /srv/busybox
#
# Prints the page the client got and where web's write landed; exits 0 when
# the client got the page. Everything it starts is stopped on exit and on
# Ctrl-C, and its working directory (switch socket, TOPs) is removed.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"

if [ $# -ne 1 ]; then
  echo "usage: $0 ROOT   (make one with examples/busybox/make-root.sh)" >&2
  exit 2
fi
root=$(realpath -e -- "$1" 2>/dev/null) || { echo "$0: $1: no such root filesystem (make one with examples/busybox/make-root.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/containet-busybox-XXXXXX)
sock=$work/switch.sock
pids=()
cleanup() {
  # TERM reaches each container's PID 1 through containode; web's shell
  # traps it (a PID 1 ignores signals it has no handler for, see pid_namespaces(7)).
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

containet -s "$sock" 2>"$work/switch.log" &
pids+=($!)
for _ in $(seq 100); do containet status -s "$sock" >/dev/null 2>&1 && break; sleep 0.1; done
containet status -s "$sock" >/dev/null || { echo "$0: the switch did not start: $(tail -n 3 "$work/switch.log")" >&2; exit 1; }

# web: the page is written inside the container, so it lands in web's TOP.
# The server runs in the background of a PID 1 shell that traps TERM.
containode -r "$root" -t "$work/top-web" -i "web-$$" -4 10.0.0.1/24 -s "$sock" -- \
  sh -c 'trap "exit 0" TERM
         echo "hello from $(hostname), served by busybox httpd" >/www/index.html
         httpd -f -p 80 -h /www & wait' &
pids+=($!)

# client: its own TOP, deleted at exit (--rm); retries while web starts.
containode -r "$root" -t "$work/top-client" --rm -i "client-$$" -4 10.0.0.2/24 -s "$sock" -- \
  sh -c 'for i in $(seq 30); do wget -q -O - http://10.0.0.1/ && exit 0; sleep 0.2; done
         echo "client: no answer from 10.0.0.1" >&2; exit 1'

echo "web's change, in its TOP (ROOT is untouched): $(cd "$work/top-web" && find . -name index.html)"
