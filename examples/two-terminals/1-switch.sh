#!/usr/bin/env bash
# The original containet README's demo, terminal 1 of 3: the switch.
#
#   sudo examples/two-terminals/1-switch.sh
#
# It stays in the foreground and logs to stderr; Ctrl-C stops it and removes
# the socket. The old demo began with `rm /tmp/containet.sock`: no longer
# needed, a socket left by a crashed switch is detected and replaced (and a
# live one is refused). CONTAINET_SOCK=PATH picks another socket.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"

exec containet -s "$CONTAINET_SOCK"
