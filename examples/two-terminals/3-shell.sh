#!/usr/bin/env bash
# Terminal 3 of 3: a second container, eth0 10.0.0.1/24, on the same switch.
#
#   sudo examples/two-terminals/3-shell.sh
#   # ping -c 3 10.0.0.2     the container of terminal 2 answers
#   64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.1 ms
#
# In a fourth terminal `containet ports` shows both containers as ports with
# their frame counters, and `containet macs` the addresses the switch learned.
set -euo pipefail
source "$(dirname "$0")/../lib/env.sh"

exec containode -4 10.0.0.1/24 -s "$CONTAINET_SOCK" /bin/sh
