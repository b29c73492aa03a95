# Sourced by the example scripts. The suite's commands come from this
# checkout first (node_modules/.bin, linked by `pnpm install`), so an example
# runs what was just built; then from PATH (scripts/setup.sh links them into
# /usr/local/bin).
suite_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PATH="$suite_root/node_modules/.bin:$PATH"

# The switch's control socket: the programs' default unless the caller says.
: "${CONTAINET_SOCK:=/tmp/containet.sock}"

if [ "$(id -u)" != 0 ]; then
  echo "$(basename "$0"): run as root (containers need namespaces and taps)" >&2
  exit 1
fi
