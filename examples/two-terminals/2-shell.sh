#!/usr/bin/env bash
# Terminal 2 of 3: a shell in a new container whose eth0 (10.0.0.2/24) is
# plugged into the switch of terminal 1.
#
#   sudo examples/two-terminals/2-shell.sh
#   # ip addr show eth0      eth0 with 10.0.0.2/24 (the old demo used ifconfig)
#   # hostname               the container's identity (random unless -i ID)
#   # ps                     only the container's processes; sh is PID 1
#
# Without -r the container sees the host's files, so host programs (ip,
# ping) work in it, in its own network, PID, mount, UTS and IPC namespaces.
# `exit` ends the container; its port leaves the switch.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"

exec containode -4 10.0.0.2/24 -s "$CONTAINET_SOCK" /bin/sh
